"""Linear regression three ways: least-squares formulas, gradient descent by hand, and Keras.

You will learn:
- the cost of linear regression, half the mean squared error,
  J = 1/(2N) * sum (w*x + b - t)^2 (chapter 3's formula (3.8)), and its
  closed-form minimum (formulas (3.9), (3.10))
- gradient descent with the derivatives worked out by hand,
  dJ/dw = mean((y - t) * x) and dJ/db = mean(y - t), with the prediction
  y = w x + b (formula (3.11)), checked against tf.GradientTape
- that a Keras Dense(1) layer trained on the same cost is the same model,
  and lands on the same line

The data: N = 200 points, x uniform in [0, 1] and the target t = 2x + 3 plus
Gaussian noise with standard deviation 0.2.

Run:      python labs/_12_linear_regression.py
Expected: three (w, b) pairs that agree to 1e-3, close to the true (2, 3),
          and linear_regression.png.
Try:      --learning-rate 0.1 --steps 200, where gradient descent has not
          arrived yet; --learning-rate 2.5, where it no longer converges.
"""
from common import cli, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import keras
import numpy as np
import tensorflow as tf

NUM_POINTS = 200
TRUE_W, TRUE_B = 2.0, 3.0
NOISE_STDDEV = 0.2
LEARNING_RATE = 0.5
NUM_STEPS = 2_000
KERAS_STEPS = 1_000          # Full-batch steps of plain SGD.
FIGURES = ("linear_regression.png",)


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "the gradient descent step size")
    cli.add_epochs(parser, NUM_STEPS, "how many gradient descent steps", flag="--steps")


def make_data(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, NUM_POINTS)
    t = TRUE_W * x + TRUE_B + rng.normal(0.0, NOISE_STDDEV, NUM_POINTS)
    return tf.constant(x), tf.constant(t)                  # float64: the three methods agree closely


# --- 1. Least squares: set dJ/dw = dJ/db = 0 and solve ------------------------------------

def least_squares(x, t):
    """Formulas (3.9) and (3.10): w = (N sum xt - sum x sum t) / (N sum x^2 - (sum x)^2), b = mean(t - w x)."""
    N = tf.cast(tf.size(x), x.dtype)
    w = ((N * tf.reduce_sum(x * t) - tf.reduce_sum(x) * tf.reduce_sum(t))
         / (N * tf.reduce_sum(x * x) - tf.reduce_sum(x) ** 2))
    b = tf.reduce_mean(t - w * x)
    return float(w), float(b)


# --- 2. Gradient descent with the derivatives written out -------------------------------------

def loss(x, t, w, b):
    """Formula (3.8): J = 1/(2N) * sum (w x + b - t)^2, half the mean squared error."""
    return tf.reduce_mean(tf.square(w * x + b - t)) / 2


def gradients(x, t, w, b):
    """Formula (3.11): dJ/dw = mean((y - t) x), dJ/db = mean(y - t), with the prediction y = w x + b."""
    error = w * x + b - t
    return tf.reduce_mean(error * x), tf.reduce_mean(error)


@graph.xla_function
def descend(x, t, w, b, learning_rate, num_steps):
    """``num_steps`` steps of w <- w - lr dJ/dw, b <- b - lr dJ/db, as one compiled loop."""
    for _ in tf.range(num_steps):
        grad_w, grad_b = gradients(x, t, w, b)
        w.assign_sub(learning_rate * grad_w)
        b.assign_sub(learning_rate * grad_b)
    return loss(x, t, w, b)


# --- 3. Keras: a Dense(1) layer is w x + b ------------------------------------------------------

def keras_fit(x, t, learning_rate: float, steps: int):
    # Starting at w = b = 0 like gradient descent above, it takes the same steps.
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    # Keras' "mse" is the mean squared error itself, 2J (no 1/2), so half the
    # learning rate takes exactly the steps of gradient descent above.
    model.compile(optimizer=keras.optimizers.SGD(learning_rate / 2), loss="mse")
    # The whole data set as one batch, repeated: every step is a full-batch step.
    batches = tf.data.Dataset.from_tensors((tf.reshape(tf.cast(x, tf.float32), (-1, 1)),
                                            tf.cast(t, tf.float32))).repeat()
    model.fit(batches, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    kernel, bias = model.layers[0].get_weights()
    return float(kernel[0, 0]), float(bias[0])


def rounded_up(difference: float) -> str:
    """'below 1e-09' and the like: the last digits of a difference this small depend on the machine."""
    for bound in (1e-9, 1e-6, 1e-5, 1e-4, 1e-3):
        if difference < bound:
            return f"below {bound:.0e}"
    return f"{difference:.2e}"


def draw(out_dir, x, t, fits):
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter(x, t, s=12, alpha=0.6, label="data")
    grid = np.array([0.0, 1.0])
    for (name, (w, b)), style in zip(fits.items(), ("-", "--", ":")):
        ax.plot(grid, w * grid + b, style, linewidth=2, label=f"{name}: y = {w:.4f} x + {b:.4f}")
    ax.plot(grid, TRUE_W * grid + TRUE_B, color="0.5", linewidth=1,
            label=f"true line: y = {TRUE_W:g} x + {TRUE_B:g}")
    ax.set(xlabel="x", ylabel="target t (points), prediction y (lines)",
           title="Linear regression, three ways to the same line")
    ax.legend(fontsize=8)
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    x, t = make_data(args.seed)
    steps = min(args.steps, 200) if args.smoke else args.steps

    fits = {"least squares": least_squares(x, t)}

    w = tf.Variable(tf.constant(0.0, tf.float64))
    b = tf.Variable(tf.constant(0.0, tf.float64))
    # The hand-derived gradients against the tape's, at the starting point.
    with tf.GradientTape() as tape:
        start_loss = loss(x, t, w, b)
    tape_w, tape_b = tape.gradient(start_loss, [w, b])
    hand_w, hand_b = gradients(x, t, w, b)
    print(f"At w = b = 0: dJ/dw = {float(hand_w):.6f} by hand, {float(tape_w):.6f} by tf.GradientTape; "
          f"dJ/db = {float(hand_b):.6f}, {float(tape_b):.6f}")
    final_loss = descend(x, t, w, b, tf.constant(args.learning_rate, tf.float64), tf.constant(steps))
    if not np.isfinite(float(final_loss)):
        print(f"Gradient descent diverged with learning rate {args.learning_rate:g}: the weights grew "
              f"without bound. Try a smaller --learning-rate.")
    fits["gradient descent"] = (float(w), float(b))

    fits["Keras Dense(1)"] = keras_fit(x, t, args.learning_rate, min(steps, KERAS_STEPS))

    print(f"\n{'method':18s} {'w':>9s} {'b':>9s}")
    for name, (fit_w, fit_b) in fits.items():
        print(f"{name:18s} {fit_w:9.4f} {fit_b:9.4f}")
    print(f"{'true':18s} {TRUE_W:9.4f} {TRUE_B:9.4f}")
    reference_w, reference_b = fits["least squares"]
    differences = {name: max(abs(fit_w - reference_w), abs(fit_b - reference_b))
                   for name, (fit_w, fit_b) in fits.items() if name != "least squares"}
    for name, difference in differences.items():
        print(f"largest difference from least squares, {name}: {rounded_up(difference)}")
    print(f"loss J at the least-squares line: {float(loss(x, t, reference_w, reference_b)):.6f}")
    draw(args.out, x.numpy(), t.numpy(), fits)
    return {"fits": fits, "differences": differences,
            "tape_gradients": (float(tape_w), float(tape_b)), "hand_gradients": (float(hand_w), float(hand_b))}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
