"""Single perceptron: separate two classes of points with a straight line.

You will learn:
- the perceptron learning rule for a whole batch in matrix form,
  dW = lr * X^T (T - Y) / N, with the bias as the weight of an input x0 = 1
- the simplest stopping condition: stop as soon as every point is right
- why the line it finds is *a* separating line, not the widest one

The data: (3,3) and (4,3) are labelled 1, (1,1) and (2,1) are
labelled -1. The starting weights are random in [0, 1), from --seed.

Run:      python labs/_03_single_perceptron.py
Expected: the random starting weights, "weights: [[w0] [w1] [w2]]", then
          "epoch: N" and the weights after each epoch, then
          "Finished" once all four points are on the right side (a handful of
          epochs), and how far the line is from each class (unevenly);
          saves single_perceptron.png with the points and the line.
Try:      --seed 7 starts elsewhere and stops on another line;
          --learning-rate 1 takes bigger steps.
"""
from common import cli, geometry, plotting  # Imported before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

LEARNING_RATE = 0.1   # eta, the step of each update
MAX_EPOCHS = 100      # stopping condition 3: a fixed budget, in case it never separates
FIGURES = ("single_perceptron.png",)

# Each row is one sample: x0 = 1 (the bias input), x1, x2.
INPUTS = [[1.0, 3.0, 3.0],
          [1.0, 4.0, 3.0],
          [1.0, 1.0, 1.0],
          [1.0, 2.0, 1.0]]
TARGETS = [[1.0], [1.0], [-1.0], [-1.0]]


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "lr in the learning rule")
    cli.add_epochs(parser, MAX_EPOCHS, "the most epochs to train before giving up")


@tf.function
def train_epoch(X, T, W, learning_rate):
    """One update of W from all samples at once; returns the outputs it was computed from."""
    N = tf.cast(tf.shape(X)[0], X.dtype)
    Y = tf.sign(X @ W)                                   # (N, 1), formula (1.1)
    delta_W = learning_rate * tf.transpose(X) @ (T - Y) / N  # (3, 1), formula (1.2) averaged over N
    W.assign_add(delta_W)
    return Y


def all_correct(X, T, W) -> bool:
    """Stopping condition: every output equals its target (a point on the line counts as wrong)."""
    return bool(tf.reduce_all(tf.sign(X @ W) == T))


def draw(out_dir, history, converged):
    inputs, targets = np.array(INPUTS), np.array(TARGETS)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    limits = (0.0, 5.0)
    for epoch_weights in history[:-1]:
        plotting.plot_decision_line(ax, epoch_weights, limits, color="0.8", linewidth=1)
    plotting.plot_decision_line(ax, history[-1], limits, color="black", linewidth=2,
                                label=f"after epoch {len(history)}")
    plotting.plot_two_classes(ax, inputs[:, 1:], targets)
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    state = "separates the classes" if converged else "has not separated them yet"
    ax.set_title(f"Perceptron: the line {state}\n(grey: the lines of earlier epochs)")
    ax.legend(loc="upper left")
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    X = tf.constant(INPUTS)      # (4, 3)
    T = tf.constant(TARGETS)     # (4, 1)
    # Random starting weights in [0, 1); cli.run_lab has seeded TensorFlow from --seed.
    W = tf.Variable(tf.random.uniform((3, 1), minval=0.0, maxval=1.0))
    learning_rate = tf.constant(args.learning_rate)
    print("random start")
    print("weights:", W.numpy())
    history = []
    converged = False
    for epoch in range(1, args.epochs + 1):
        train_epoch(X, T, W, learning_rate)
        history.append(W.numpy().reshape(-1))
        print("epoch:", epoch)
        print("weights:", W.numpy())
        if all_correct(X, T, W):
            converged = True
            print("Finished")
            break
    if not converged:
        print(f"Not finished: some points are still on the wrong side after {args.epochs} epochs")
    weights = W.numpy().reshape(-1)
    margins = geometry.class_margins(weights, np.array(INPUTS)[:, 1:], TARGETS)
    if converged:
        print(geometry.describe_margins(margins))
    draw(args.out, history, converged)
    return {"epochs": len(history), "converged": converged, "weights": weights, "margins": margins}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
