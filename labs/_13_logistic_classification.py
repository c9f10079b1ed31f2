"""Logistic classification from first principles, and the perceptron that cannot use gradients.

You will learn:
- logistic regression: the prediction y = sigmoid(x W + b) is the
  probability of class 1, trained on the cross-entropy cost J (chapter 3's
  formula (3.12)); the targets t are 0 and 1
- its gradient, dJ/dW = X^T (Y - T) / N and dJ/db = mean(Y - T)
  (formula (3.13)), written out and checked against tf.GradientTape
- the decision line, where y = 0.5, that is x W + b = 0
- a perceptron with a threshold (step) activation: the step has no useful
  gradient, so it learns by chapter 1's perceptron rule,
  W <- W + lr * X^T (T - Y), here on an eight-row truth table, until it
  makes no errors

Run:      python labs/_13_logistic_classification.py
Expected: the hand and tape gradients agreeing, the loss every 200 steps,
          about 98% training accuracy, the perceptron reaching zero errors
          within a few epochs, logistic_classification.png and
          threshold_perceptron.png.
Try:      --learning-rate 0.01 (slow) or --learning-rate 10 (fast here: the
          classes are well apart).
"""
from common import cli, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

POINTS_PER_CLASS = 100
CLASS_CENTRES = ((-1.0, -1.0), (1.5, 1.0))
CLASS_SPREAD = 1.0
LEARNING_RATE = 1.0
NUM_STEPS = 2_000
PRINT_EVERY = 200
# The threshold perceptron's truth table: three inputs and a constant 1 for the bias.
TRUTH_TABLE = np.array([[1, 1, 1, 1], [1, 1, 0, 1], [1, 0, 1, 1], [1, 0, 0, 1],
                        [0, 1, 1, 1], [0, 1, 0, 1], [0, 0, 1, 1], [0, 0, 0, 1]], dtype=np.float32)
TRUTH_TARGETS = np.array([[1], [1], [0], [0], [1], [0], [0], [0]], dtype=np.float32)
PERCEPTRON_RATE = 0.4        # Learning rate 0.4,
PERCEPTRON_INIT_STDDEV = 2.0  # weights drawn with mean 0 and standard deviation 2,
PERCEPTRON_MAX_EPOCHS = 1_000  # at most 1,000 epochs.
FIGURES = ("logistic_classification.png", "threshold_perceptron.png")


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "the gradient descent step size")
    cli.add_epochs(parser, NUM_STEPS, "how many gradient descent steps", flag="--steps")


def make_data(seed: int):
    """Two Gaussian clouds of points, class 0 and class 1: the inputs X and the targets T."""
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal(centre, CLASS_SPREAD, (POINTS_PER_CLASS, 2)) for centre in CLASS_CENTRES])
    targets = np.repeat([0.0, 1.0], POINTS_PER_CLASS).reshape(-1, 1)
    return tf.constant(points), tf.constant(targets)


# --- Logistic regression -------------------------------------------------------------------

def forward(X, W, b):
    """Y = sigmoid(Z), Z = X W + b: the probability of class 1, (N, 1)."""
    return tf.sigmoid(X @ W + b)


def cross_entropy(X, T, W, b):
    """Formula (3.12): J = -mean(T ln Y + (1 - T) ln(1 - Y)), computed from Z (the logits) for stability."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=T, logits=X @ W + b))


def gradients(X, T, W, b):
    """Formula (3.13): dJ/dW = X^T (Y - T) / N, dJ/db = mean(Y - T)."""
    N = tf.cast(tf.shape(X)[0], X.dtype)
    error = forward(X, W, b) - T                      # (N, 1)
    return tf.transpose(X) @ error / N, tf.reduce_mean(error, axis=0)


@graph.xla_function
def train_steps(X, T, W, b, learning_rate, num_steps):
    for _ in tf.range(num_steps):
        grad_W, grad_b = gradients(X, T, W, b)
        W.assign_sub(learning_rate * grad_W)
        b.assign_sub(learning_rate * grad_b)
    return cross_entropy(X, T, W, b)


def accuracy(X, T, W, b) -> float:
    predicted = tf.cast(forward(X, W, b) > 0.5, T.dtype)
    return float(tf.reduce_mean(tf.cast(predicted == T, tf.float32)))


# --- The threshold perceptron ------------------------------------------------------------------

def step(z):
    """The threshold activation: 1 where z > 0, else 0."""
    return tf.cast(z > 0, z.dtype)


def train_perceptron(seed: int):
    """The perceptron rule on the truth table until no row is wrong; returns the errors per epoch."""
    X, T = tf.constant(TRUTH_TABLE), tf.constant(TRUTH_TARGETS)
    W = tf.Variable(tf.random.stateless_normal((4, 1), seed=(seed, 13), stddev=PERCEPTRON_INIT_STDDEV))
    errors = [int(tf.reduce_sum(tf.abs(T - step(X @ W))))]
    while errors[-1] > 0 and len(errors) <= PERCEPTRON_MAX_EPOCHS:
        # No gradient here: the step function is flat. The rule moves W
        # towards the rows it gets wrong and leaves the others alone.
        W.assign_add(PERCEPTRON_RATE * tf.transpose(X) @ (T - step(X @ W)))
        errors.append(int(tf.reduce_sum(tf.abs(T - step(X @ W)))))
    return W.numpy(), errors


# --- Figures ------------------------------------------------------------------------------------

def draw_classification(out_dir, points, targets, W, b, losses):
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    targets = targets.ravel()
    left.scatter(*points[targets == 0].T, marker="s", color="tab:blue", s=15, label="class 0")
    left.scatter(*points[targets == 1].T, marker="o", color="tab:orange", s=15, label="class 1")
    grid_x, grid_y = np.meshgrid(np.linspace(-4.5, 4.5, 200), np.linspace(-4.5, 4.5, 200))
    probability = 1 / (1 + np.exp(-(W[0, 0] * grid_x + W[1, 0] * grid_y + b[0])))
    shading = left.contourf(grid_x, grid_y, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.3)
    left.contour(grid_x, grid_y, probability, levels=[0.5], colors="black")
    fig.colorbar(shading, ax=left, label="probability of class 1")
    left.set(xlabel="$x_1$", ylabel="$x_2$", title="Decision line: probability 0.5")
    left.legend(loc="upper left")
    right.plot(np.arange(len(losses)) * PRINT_EVERY, losses, "o-")
    right.set(xlabel="step", ylabel="cross-entropy J", title="Training loss (ln 2 at the start)")
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def draw_perceptron(out_dir, errors):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(range(len(errors)), errors, "o-")
    ax.set(xlabel="epoch", ylabel="rows wrong (of 8)", title="Threshold perceptron on the truth table")
    ax.set_xticks(range(len(errors)))
    return plotting.save_figure(fig, out_dir, FIGURES[1])


def main(args) -> dict:
    X, T = make_data(args.seed)
    W = tf.Variable(tf.zeros((2, 1), tf.float64))
    b = tf.Variable(tf.zeros((1,), tf.float64))

    with tf.GradientTape() as tape:
        start_loss = cross_entropy(X, T, W, b)
    tape_W, tape_b = tape.gradient(start_loss, [W, b])
    hand_W, hand_b = gradients(X, T, W, b)
    print(f"At W = 0, b = 0: J = {float(start_loss):.6f} (ln 2 = {np.log(2):.6f})")
    print(f"dJ/dW by hand [{hand_W[0, 0]:.6f}, {hand_W[1, 0]:.6f}], by tf.GradientTape "
          f"[{tape_W[0, 0]:.6f}, {tape_W[1, 0]:.6f}]; dJ/db {float(hand_b[0]):.6f} and {float(tape_b[0]):.6f}")

    steps = min(args.steps, 400) if args.smoke else args.steps
    learning_rate = tf.constant(args.learning_rate, tf.float64)
    losses, done = [], 0
    while done < steps:
        chunk = min(PRINT_EVERY, steps - done)
        losses.append(float(train_steps(X, T, W, b, learning_rate, tf.constant(chunk))))
        done += chunk
        print(f"step {done:5d} loss {losses[-1]:.6f}")
    train_accuracy = accuracy(X, T, W, b)
    print(f"W = [{W[0, 0].numpy():.4f}, {W[1, 0].numpy():.4f}], b = {b[0].numpy():.4f}; "
          f"training accuracy {train_accuracy:.1%}")
    draw_classification(args.out, X.numpy(), T.numpy(), W.numpy(), b.numpy(), [float(start_loss), *losses])

    print("\nThreshold perceptron on an eight-row truth table (learning rate 0.4, "
          "weights normal with mean 0 and standard deviation 2):")
    perceptron_weights, errors = train_perceptron(args.seed)
    print("rows wrong per epoch: " + " ".join(map(str, errors)))
    outputs = step(tf.constant(TRUTH_TABLE) @ perceptron_weights).numpy().ravel().astype(int)
    print(f"outputs {' '.join(map(str, outputs))} for targets {' '.join(map(str, TRUTH_TARGETS.ravel().astype(int)))}"
          f"; weights {np.round(perceptron_weights.ravel(), 3)}")
    draw_perceptron(args.out, errors)
    return {"accuracy": train_accuracy, "losses": losses, "tape_gradients": (tape_W.numpy(), tape_b.numpy()),
            "hand_gradients": (hand_W.numpy(), hand_b.numpy()), "perceptron_errors": errors,
            "perceptron_outputs": outputs}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
