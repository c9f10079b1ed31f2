"""Linear neural network: the perceptron's four points, with a linear activation.

You will learn:
- the linear neuron: the same weighted sum as the perceptron, but the output
  is the sum itself (the purelin activation, f(s) = s, so Y = X W) instead of
  its sign
- the delta rule, dW = lr * X^T (T - Y) / N, a step downhill on half the mean
  squared error (gradient descent, chapter 3), which keeps moving the outputs towards the targets even after every
  point is on the right side
- why this lab trains for a fixed budget of 100 epochs: the outputs only ever
  approach the targets +1 and -1 and never reach them exactly, so "stop when
  all are right" (lab _03's rule) would stop too early and "stop when the
  error is zero" would never stop
- where it is heading: the least-squares weights, those with the smallest
  squared error, which the lab computes directly to compare; for these four
  points (a half turn about (2.5, 2) swaps the two classes) that line lies
  midway between the classes, so the line it ends on sits more evenly than the
  perceptron's; least squares in general does not look for the widest gap

Run:      python labs/_04_linear_nn.py
Expected: the mean squared error and weights every 10 epochs, the distances
          from the final line to the nearest point of each class (nearly
          equal), the least-squares weights with their line's distances (equal),
          and linear_nn.png with the points and the line.
Try:      --learning-rate 0.01 (ten times smaller steps: after the same epochs
          the line is far behind);
          --learning-rate 0.3 (the weights blow up: the step is too large).
"""
from common import cli, geometry, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

LEARNING_RATE = 0.1   # eta, the step of each update
NUM_EPOCHS = 100      # stopping condition 3, a fixed budget (see above)
PRINT_EVERY = 10
FIGURES = ("linear_nn.png",)

# Lab _03's points: x0 = 1 (the bias input), x1, x2; targets +1 and -1.
INPUTS = [[1.0, 3.0, 3.0],
          [1.0, 4.0, 3.0],
          [1.0, 1.0, 1.0],
          [1.0, 2.0, 1.0]]
TARGETS = [[1.0], [1.0], [-1.0], [-1.0]]


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "lr in the delta rule")
    cli.add_epochs(parser, NUM_EPOCHS)


@graph.xla_function
def train_epochs(X, T, W, learning_rate, num_epochs):
    """Run ``num_epochs`` delta-rule updates of W; return the mean squared error after them."""
    N = tf.cast(tf.shape(X)[0], X.dtype)
    for _ in tf.range(num_epochs):
        Y = X @ W                                             # (N, 1), purelin: f(s) = s, formula (2.1)
        W.assign_add(learning_rate * tf.transpose(X) @ (T - Y) / N)  # (3, 1), the delta rule
    return tf.reduce_mean(tf.square(T - X @ W))


def draw(out_dir, weights, title):
    inputs, targets = np.array(INPUTS), np.array(TARGETS)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    limits = (0.0, 5.0)
    plotting.plot_decision_line(ax, weights, limits, color="black", linewidth=2, label="linear network")
    plotting.plot_two_classes(ax, inputs[:, 1:], targets)
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ax.set_title(title)
    ax.legend(loc="upper left")
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    X = tf.constant(INPUTS)      # (4, 3)
    T = tf.constant(TARGETS)     # (4, 1)
    # Random starting weights in [0, 1), as in lab _03 (same seed, same start).
    W = tf.Variable(tf.random.uniform((3, 1), minval=0.0, maxval=1.0))
    learning_rate = tf.constant(args.learning_rate)
    epochs = min(args.epochs, 20) if args.smoke else args.epochs
    done = 0
    while done < epochs:
        chunk = min(PRINT_EVERY, epochs - done)
        loss = float(train_epochs(X, T, W, learning_rate, tf.constant(chunk)))
        done += chunk
        if not np.isfinite(loss):
            print(f"epoch: {done:3d}  the weights blew up: the learning rate is too large for this data; "
                  "try a smaller --learning-rate")
            break
        print(f"epoch: {done:3d}  mean squared error: {loss:.6g}  weights: {np.round(W.numpy().reshape(-1), 6)}")
    weights = W.numpy().reshape(-1)
    if not np.isfinite(loss):
        draw(args.out, [0.0, 0.0, 0.0], f"Linear network: diverged by epoch {done}")
        return {"epochs": done, "weights": weights, "loss": loss, "outputs": None, "margins": None}
    outputs = (X @ W).numpy().reshape(-1)
    print("outputs:", np.round(outputs, 4))
    margins = geometry.class_margins(weights, np.array(INPUTS)[:, 1:], TARGETS)
    print(geometry.describe_margins(margins))
    # Where the delta rule is heading: the weights with the least squared error, solved for directly.
    best = np.linalg.lstsq(np.array(INPUTS), np.array(TARGETS), rcond=None)[0].reshape(-1)
    best_margins = geometry.class_margins(best, np.array(INPUTS)[:, 1:], TARGETS)
    print(f"heading for the least-squares weights: {np.round(best, 4) + 0.0}")
    print(geometry.describe_margins(best_margins).replace("from the line", "from their line"))
    draw(args.out, weights, f"Linear network after {done} epochs")
    return {"epochs": done, "weights": weights, "loss": loss, "outputs": outputs, "margins": margins,
            "least_squares_weights": best}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
