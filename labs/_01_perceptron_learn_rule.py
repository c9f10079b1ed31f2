"""Perceptron learning rule: one input, one weight update at a time.

You will learn:
- how a perceptron computes its output, y = sign(w0*x0 + w1*x1 + w2*x2), with
  the bias written as the weight w0 of an input x0 that is always 1
- how the learning rule dw_i = lr * (t - y) * x_i (lr: the learning rate,
  eta in the book) moves the weights until the output equals the target

A worked example: inputs x0 = 1, x1 = 0, x2 = -1,
starting weights w0 = -5, w1 = 0, w2 = 0, learning rate 1, target t = 1
(--learning-rate and --target change them).

Run:      python labs/_01_perceptron_learn_rule.py
Expected: the weights before each check, then "done" once y equals t:
          -5 0 0
          -3 0 -2
          -1 0 -4
          done
Try:      --learning-rate 0.5: steps half as long; count the updates it needs
          now (exercise 1.1).
          --target -1: the output is already the target; what do the weights
          do (exercise 1.2)?
"""
from common import cli  # Imported before TensorFlow: it starts TensorFlow quietly.
import tensorflow as tf

INPUTS = [1.0, 0.0, -1.0]           # x0 (the constant bias input), x1, x2
INITIAL_WEIGHTS = [-5.0, 0.0, 0.0]  # w0, w1, w2
TARGET = 1.0                        # t, the output we want: 1 or -1 (--target)
LEARNING_RATE = 1.0                 # eta in the learning rule (1.2)
MAX_STEPS = 100                     # a safety net in case the numbers above never converge
FIGURES = ()                        # this lab prints; it draws nothing


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "lr in the learning rule")
    parser.add_argument("--target", type=float, choices=(1.0, -1.0), default=TARGET, metavar="{1,-1}",
                        help=f"t, the output the perceptron should learn to give (default: {TARGET:g})")


def format_weights(weights) -> str:
    """Weights on one line, as one writes them by hand: "-3 0 -2"."""
    # Adding 0.0 turns a negative zero into 0.0, so it never prints as "-0".
    return " ".join(f"{value + 0.0:g}" for value in weights.numpy())


def perceptron_output(x, w):
    """Formula (1.1): y = sign(sum_i w_i * x_i)."""
    return tf.sign(tf.reduce_sum(w * x))


def main(args) -> dict:
    x = tf.constant(INPUTS)
    w = tf.Variable(INITIAL_WEIGHTS)
    history = []
    converged = False
    for _ in range(MAX_STEPS):
        print(format_weights(w))
        history.append(w.numpy().tolist())
        y = perceptron_output(x, w)
        if y == args.target:
            converged = True
            print("done")
            break
        # Formula (1.2): dw_i = lr * (t - y) * x_i, for every weight at once.
        w.assign_add(args.learning_rate * (args.target - y) * x)
    else:
        print(f"not done after {MAX_STEPS} updates")
    return {"converged": converged, "weights": history}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
