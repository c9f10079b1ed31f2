"""Perceptron learning rule in matrix form: the same example as lab _01.

You will learn:
- to write the perceptron's output for a row of inputs X and a column of
  weights W as one matrix product, Y = sign(X W)
- the learning rule in matrix form, dW = lr * X^T (T - Y) (X^T is X
  transposed: its rows turned into columns), which updates
  every weight at once and is what lab _03 uses for many samples

Same numbers as lab _01: X = [1, 0, -1], W = [-5, 0, 0]^T, lr = 1, T = 1.

Run:      python labs/_02_perceptron_learn_rule_matrix.py
Expected: W as a 3x1 column before each check, then "done":
          [[-5]
           [ 0]
           [ 0]]
          [[-3]
           [ 0]
           [-2]]
          [[-1]
           [ 0]
           [-4]]
          done
"""
from common import cli  # Imported before TensorFlow: it starts TensorFlow quietly.
import tensorflow as tf

INPUTS = [[1.0, 0.0, -1.0]]                 # X, one sample as a row: x0 (bias input), x1, x2
INITIAL_WEIGHTS = [[-5.0], [0.0], [0.0]]    # W, a column: w0, w1, w2
TARGETS = [[1.0]]                           # T, one target per row of X
LEARNING_RATE = 1.0                         # eta, as in lab _01
MAX_STEPS = 100                             # a safety net in case the numbers never converge
FIGURES = ()                                # this lab prints; it draws nothing


def add_arguments(parser):
    cli.add_learning_rate(parser, LEARNING_RATE, "lr in the learning rule")


def format_column(weights) -> str:
    """A column the way NumPy prints an integer one: "[[-5]", " [ 0]", " [ 0]]"."""
    # Adding 0.0 turns a negative zero into 0.0, so it never prints as "-0".
    values = [f"{value + 0.0:g}" for value in weights.numpy().reshape(-1)]
    width = max(len(value) for value in values)
    return "[" + "\n ".join(f"[{value:>{width}}]" for value in values) + "]"


def main(args) -> dict:
    X = tf.constant(INPUTS)            # (1, 3)
    T = tf.constant(TARGETS)           # (1, 1)
    W = tf.Variable(INITIAL_WEIGHTS)   # (3, 1)
    history = []
    converged = False
    for _ in range(MAX_STEPS):
        print(format_column(W))
        history.append(W.numpy().tolist())
        Y = tf.sign(X @ W)             # (1, 1), formula (1.1) for every row of X
        if bool(tf.reduce_all(Y == T)):
            converged = True
            print("done")
            break
        # Formula (1.2) in matrix form: dW = lr * X^T (T - Y), shape (3, 1).
        W.assign_add(args.learning_rate * tf.transpose(X) @ (T - Y))
    else:
        print(f"not done after {MAX_STEPS} updates")
    return {"converged": converged, "weights": history}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
