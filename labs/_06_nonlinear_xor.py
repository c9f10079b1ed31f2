"""Linear network with non-linear inputs: XOR solved by curves.

You will learn:
- that a linear network can draw curved boundaries if it is given non-linear
  inputs: besides x0 = 1, x1 and x2 it gets x1^2, x1*x2 and x2^2 (six inputs)
- how to draw such a boundary: w0 + w1 x1 + w2 x2 + w3 x1^2 + w4 x1 x2 + w5 x2^2 = 0
  is a quadratic equation in x2 for each x1, and its two roots give two curves
- why this is not the answer in general: someone has to choose the extra
  inputs by hand, which is what the hidden layers of lab _07 learn to do

Delta rule as in labs _04 and _05, learning rate 0.1, 1000 epochs.

Run:      python labs/_06_nonlinear_xor.py
Expected: the four predictions, close to -1, 1, 1, -1 (about +-0.99), and
          nonlinear_xor.png with the points between the two boundary curves.
Try:      --epochs 100: the predictions are still far from +-1.
"""
from common import cli, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

LEARNING_RATE = 0.1   # eta, the step of each update
NUM_EPOCHS = 1000
FIGURES = ("nonlinear_xor.png",)

POINTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]   # x1, x2
TARGETS = [[-1.0], [1.0], [1.0], [-1.0]]                     # XOR as -1 / +1


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "lr in the delta rule")
    cli.add_epochs(parser, NUM_EPOCHS)


def with_nonlinear_inputs(points):
    """(N, 2) points -> (N, 6) inputs: 1, x1, x2, x1^2, x1*x2, x2^2."""
    x1, x2 = points[:, 0], points[:, 1]
    return tf.stack([tf.ones_like(x1), x1, x2, x1 * x1, x1 * x2, x2 * x2], axis=1)


@graph.xla_function
def train_epochs(X, T, W, learning_rate, num_epochs):
    """Run ``num_epochs`` delta-rule updates of W; return the mean squared error after them."""
    N = tf.cast(tf.shape(X)[0], X.dtype)
    for _ in tf.range(num_epochs):
        Y = X @ W                                             # (N, 1), purelin output
        W.assign_add(learning_rate * tf.transpose(X) @ (T - Y) / N)  # (6, 1), the delta rule
    return tf.reduce_mean(tf.square(T - X @ W))


def boundary_curves(weights, x1):
    """Both roots x2 of the boundary's quadratic for each x1 (NaN where there is none)."""
    w0, w1, w2, w3, w4, w5 = weights
    a = w5                                  # x2^2
    b = w2 + w4 * x1                        # x2
    c = w0 + w1 * x1 + w3 * x1 ** 2         # the rest
    if abs(a) < 1e-12:
        # No x2^2 term: a single curve, from b*x2 + c = 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            single = np.where(np.abs(b) > 1e-12, -c / b, np.nan)
        return single, np.full_like(x1, np.nan)
    discriminant = b ** 2 - 4 * a * c
    root = np.sqrt(np.where(discriminant >= 0, discriminant, np.nan))
    return (-b + root) / (2 * a), (-b - root) / (2 * a)


def draw(out_dir, weights):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    x1 = np.linspace(-1.0, 2.0, 400)
    upper, lower = boundary_curves(weights, x1)
    ax.plot(x1, upper, color="black", linewidth=2, label="boundary (both roots)")
    ax.plot(x1, lower, color="black", linewidth=2)
    plotting.plot_two_classes(ax, POINTS, TARGETS)
    ax.set_xlim(-1.0, 2.0)
    ax.set_ylim(-1.0, 2.0)
    ax.set_title("XOR with non-linear inputs: the -1 points lie between the curves")
    ax.legend(loc="lower left")
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    X = with_nonlinear_inputs(tf.constant(POINTS))    # (4, 6)
    T = tf.constant(TARGETS)                            # (4, 1)
    W = tf.Variable(tf.random.uniform((6, 1), minval=0.0, maxval=1.0))
    epochs = min(args.epochs, 20) if args.smoke else args.epochs
    loss = float(train_epochs(X, T, W, tf.constant(args.learning_rate), tf.constant(epochs)))
    weights = W.numpy().reshape(-1)
    predictions = (X @ W).numpy().reshape(-1)
    print(f"after {epochs} epochs: mean squared error {loss:.6f}")
    print("weights:", np.round(weights, 4))
    print("predictions:", np.round(predictions, 4))
    draw(args.out, weights)
    return {"weights": weights, "predictions": predictions, "loss": loss}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
