"""Linear network on XOR: a problem no straight line can solve.

You will learn:
- what XOR is as a classification problem: (0,0) and (1,1) in one class,
  (0,1) and (1,0) in the other
- that a linear network, whatever its weights, draws a straight line, and no
  straight line puts the four XOR points on their correct sides
- what the delta rule does when it cannot succeed: it still heads for the
  weights with the least squared error, which for XOR are all 0, so it comes
  to predict 0 for every point

The network and rule are lab _04's (purelin activation, dW = lr * X^T (T - Y) / N,
learning rate 0.1, 100 epochs); only the data change.

Run:      python labs/_05_linear_xor.py
Expected: the four predictions, all close to 0, with their signs; fewer than
          four signs are right (no line can do better than three); linear_xor.png
          shows the points and the best line found.
Try:      --epochs 1000: the weights settle, the signs still cannot all be right.
"""
from common import cli, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

LEARNING_RATE = 0.1   # eta, the step of each update
NUM_EPOCHS = 100
FIGURES = ("linear_xor.png",)

# XOR: x0 = 1 (the bias input), x1, x2; the label is -1 when x1 == x2, else +1.
INPUTS = [[1.0, 0.0, 0.0],
          [1.0, 0.0, 1.0],
          [1.0, 1.0, 0.0],
          [1.0, 1.0, 1.0]]
TARGETS = [[-1.0], [1.0], [1.0], [-1.0]]


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "lr in the delta rule")
    cli.add_epochs(parser, NUM_EPOCHS)


@graph.xla_function
def train_epochs(X, T, W, learning_rate, num_epochs):
    """Run ``num_epochs`` delta-rule updates of W; return the mean squared error after them."""
    N = tf.cast(tf.shape(X)[0], X.dtype)
    for _ in tf.range(num_epochs):
        Y = X @ W                                             # (N, 1), purelin output
        W.assign_add(learning_rate * tf.transpose(X) @ (T - Y) / N)  # (3, 1), the delta rule
    return tf.reduce_mean(tf.square(T - X @ W))


def draw(out_dir, weights, correct):
    inputs, targets = np.array(INPUTS), np.array(TARGETS)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    limits = (-0.5, 1.5)
    plotting.plot_decision_line(ax, weights, limits, color="black", linewidth=2, label="best line found")
    plotting.plot_two_classes(ax, inputs[:, 1:], targets)
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ax.set_title(f"Linear network on XOR: {correct} of 4 signs right")
    ax.legend(loc="upper right")
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    X = tf.constant(INPUTS)      # (4, 3)
    T = tf.constant(TARGETS)     # (4, 1)
    W = tf.Variable(tf.random.uniform((3, 1), minval=0.0, maxval=1.0))
    epochs = min(args.epochs, 20) if args.smoke else args.epochs
    loss = float(train_epochs(X, T, W, tf.constant(args.learning_rate), tf.constant(epochs)))
    weights = W.numpy().reshape(-1)
    predictions = (X @ W).numpy().reshape(-1)
    targets = np.array(TARGETS).reshape(-1)
    correct = int(np.sum(np.sign(predictions) == targets))
    print(f"after {epochs} epochs: mean squared error {loss:.4f}, weights {np.round(weights, 4)}")
    for point, prediction, target in zip(np.array(INPUTS)[:, 1:], predictions, targets):
        verdict = "right" if np.sign(prediction) == target else "wrong"
        print(f"x = ({point[0]:.0f}, {point[1]:.0f})  target {target:+.0f}  prediction {prediction:+.4f}  "
              f"sign {verdict}")
    print(f"{correct} of 4 signs right: a straight line cannot separate XOR")
    draw(args.out, weights, correct)
    return {"weights": weights, "predictions": predictions, "correct": correct, "loss": loss}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
