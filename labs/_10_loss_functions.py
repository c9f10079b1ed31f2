"""Loss functions: how far a prediction is from the label, six ways, and why it matters which.

You will learn:
- the 0-1, absolute, hinge, log (cross-entropy), squared and exponential
  losses, each drawn against the prediction
- why the squared error punishes a few large errors more than the absolute
  error does (a worked example: labels [1, 1, 1])
- why a sigmoid output is trained with cross-entropy, not squared error: at
  a confidently wrong prediction, squared error's gradient almost vanishes

Run:      python labs/_10_loss_functions.py
Expected: the table (predictions [1, 2, 3]: absolute 3, squared 5; [1, 3, 3]:
          4 and 8), the two gradients at a confidently wrong sigmoid output,
          and loss_functions.png.
Try:      --logit -10 makes the prediction even more confidently wrong: what
          happens to each gradient?
"""
from common import cli, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import numpy as np
import tensorflow as tf

TABLE_LABELS = [1.0, 1.0, 1.0]
TABLE_PREDICTIONS = ([1.0, 2.0, 3.0], [1.0, 3.0, 3.0])
WRONG_LOGIT = -5.0           # sigmoid(-5) = 0.0067: the network is sure of the wrong answer.
FIGURES = ("loss_functions.png",)


def add_arguments(parser):
    parser.add_argument("--logit", type=float, default=WRONG_LOGIT,
                        help=f"the output's logit z for a label of 1 (default: {WRONG_LOGIT:g})")


# --- The losses, for one label y and one prediction a ---------------------------------

def zero_one(y, a):
    """0 when the predicted class is right, 1 when it is wrong (labels and signs of a are +-1)."""
    return tf.cast(tf.sign(a) != y, a.dtype)


def absolute(y, a):
    return tf.abs(y - a)


def hinge(y, a):
    """max(0, 1 - y*a) for labels +-1: zero only once the prediction is right by a margin of 1."""
    return tf.maximum(0.0, 1.0 - y * a)


def log_loss(y, a):
    """Cross-entropy for labels 0/1 and a probability a in (0, 1)."""
    return -(y * tf.math.log(a) + (1.0 - y) * tf.math.log(1.0 - a))


def squared(y, a):
    return tf.square(a - y)


def exponential(y, a):
    """exp(-y*a) for labels +-1."""
    return tf.exp(-y * a)


# --- A worked example: absolute against squared loss ---------------------------------------

def table_rows():
    labels = tf.constant(TABLE_LABELS)
    rows = []
    for predictions in TABLE_PREDICTIONS:
        predictions = tf.constant(predictions)
        rows.append((predictions.numpy(), float(tf.reduce_sum(absolute(labels, predictions))),
                     float(tf.reduce_sum(squared(labels, predictions)))))
    return rows


# --- Sigmoid output: squared error against cross-entropy -----------------------------------

def gradients_at(logit: float, label: float = 1.0):
    """dLoss/dz of both losses for a = sigmoid(z), from tf.GradientTape, and the formulas' values.

    Squared error:  d/dz (a - y)^2 / 2 = (a - y) * a * (1 - a), which vanishes as a -> 0 or 1.
    Cross-entropy:  d/dz -[y ln a + (1 - y) ln(1 - a)] = a - y, which does not.
    """
    z = tf.Variable(logit, dtype=tf.float64)
    y = tf.constant(label, dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        a = tf.sigmoid(z)
        squared_error = 0.5 * tf.square(a - y)
        cross_entropy = -(y * tf.math.log(a) + (1 - y) * tf.math.log(1 - a))
    a = float(a)
    return {
        "prediction": a,
        "squared_error": float(tape.gradient(squared_error, z)),
        "cross_entropy": float(tape.gradient(cross_entropy, z)),
        "squared_error_formula": (a - label) * a * (1 - a),
        "cross_entropy_formula": a - label,
    }


def draw(out_dir):
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    # Losses for labels +-1, against the score a (the margin y*a on the x axis for y = 1).
    a = tf.constant(np.linspace(-2.0, 2.5, 451), dtype=tf.float32)
    one = tf.constant(1.0)
    for name, loss, style in (("0-1", zero_one, "-"), ("absolute", absolute, "--"), ("hinge", hinge, "-"),
                              ("squared", squared, "-"), ("exponential", exponential, "-")):
        # Left of a = 1 the absolute and hinge losses coincide; dashes keep both visible.
        left.plot(a, loss(one, a), style, label=name, zorder=3 if style == "--" else 2)
    left.set(xlabel="prediction a (label y = +1)", ylabel="loss", ylim=(-0.1, 4),
             title="Losses for a label of +1")
    left.legend()
    # Log loss is for probabilities: against a in (0, 1), for both labels.
    p = tf.constant(np.linspace(0.005, 0.995, 400), dtype=tf.float32)
    right.plot(p, log_loss(1.0, p), label="log loss, y = 1")
    right.plot(p, log_loss(0.0, p), label="log loss, y = 0")
    right.plot(p, squared(1.0, p), "--", label="squared, y = 1")
    right.set(xlabel="predicted probability a", ylabel="loss", ylim=(0, 5),
              title="Cross-entropy grows without bound when sure and wrong")
    right.legend()
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    print("A worked example: labels [1, 1, 1]")
    print(f"{'predictions':>14s} {'absolute':>9s} {'squared':>8s}")
    rows = table_rows()
    for predictions, absolute_sum, squared_sum in rows:
        shown = "[" + ", ".join(f"{value:g}" for value in predictions) + "]"
        print(f"{shown:>14s} {absolute_sum:9g} {squared_sum:8g}")
    (_, absolute_1, squared_1), (_, absolute_2, squared_2) = rows
    print(f"From the first row to the second the absolute loss grows {absolute_2 / absolute_1:.2f} times "
          f"and the squared loss {squared_2 / squared_1:.2f} times:\n"
          f"squaring weighs the larger errors more.")

    result = gradients_at(args.logit)
    print(f"\nA sigmoid output sure of the wrong answer: z = {args.logit:g}, a = sigmoid(z) = "
          f"{result['prediction']:.6f}, label 1")
    print(f"dLoss/dz, squared error: {result['squared_error']: .6f}   (formula (a - y) a (1 - a): "
          f"{result['squared_error_formula']: .6f})")
    print(f"dLoss/dz, cross-entropy: {result['cross_entropy']: .6f}   (formula a - y: "
          f"{result['cross_entropy_formula']: .6f})")
    ratio = result["cross_entropy"] / result["squared_error"]
    print(f"Cross-entropy's gradient is {ratio:.0f} times larger: it corrects the mistake at once,\n"
          f"while squared error, damped by the sigmoid's flat tail, barely moves.")
    draw(args.out)
    return {"table": rows, "gradients": result}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
