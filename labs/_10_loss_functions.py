"""Loss functions: how far a prediction is from the target, six ways, and why it matters which.

You will learn:
- the 0-1, absolute, hinge, log (cross-entropy), squared and exponential
  losses, each drawn against the prediction
- why the squared error punishes a few large errors more than the absolute
  error does (a worked example: targets [1, 1, 1])
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

TABLE_TARGETS = [1.0, 1.0, 1.0]
TABLE_PREDICTIONS = ([1.0, 2.0, 3.0], [1.0, 3.0, 3.0])
WRONG_LOGIT = -5.0           # z = -5, y = sigmoid(-5) = 0.0067 for a target of 1: sure of the wrong answer.
FIGURES = ("loss_functions.png",)


def add_arguments(parser):
    parser.add_argument("--logit", type=float, default=WRONG_LOGIT,
                        help=f"the logit z, the sigmoid's input, for a target of 1 (default: {WRONG_LOGIT:g})")


# --- The losses, for one target t and one prediction y ---------------------------------

def zero_one(t, y):
    """0 when the predicted class is right, 1 when it is wrong (targets and signs of y are +-1)."""
    return tf.cast(tf.sign(y) != t, y.dtype)


def absolute(t, y):
    return tf.abs(t - y)


def hinge(t, y):
    """max(0, 1 - t*y) for targets +-1: zero only once the prediction is right by a margin of 1."""
    return tf.maximum(0.0, 1.0 - t * y)


def log_loss(t, y):
    """Cross-entropy for targets 0/1 and a probability y in (0, 1)."""
    return -(t * tf.math.log(y) + (1.0 - t) * tf.math.log(1.0 - y))


def squared(t, y):
    return tf.square(y - t)


def exponential(t, y):
    """exp(-t*y) for targets +-1."""
    return tf.exp(-t * y)


# --- A worked example: absolute against squared loss ---------------------------------------

def table_rows():
    targets = tf.constant(TABLE_TARGETS)
    rows = []
    for predictions in TABLE_PREDICTIONS:
        predictions = tf.constant(predictions)
        rows.append((predictions.numpy(), float(tf.reduce_sum(absolute(targets, predictions))),
                     float(tf.reduce_sum(squared(targets, predictions)))))
    return rows


# --- Sigmoid output: squared error against cross-entropy -----------------------------------

def gradients_at(logit: float, target: float = 1.0):
    """dLoss/dz of both losses for y = sigmoid(z), from tf.GradientTape, and the formulas' values.

    Half the squared error:  d/dz (y - t)^2 / 2 = (y - t) * y * (1 - y), which vanishes as y -> 0 or 1.
    Cross-entropy:           d/dz -[t ln y + (1 - t) ln(1 - y)] = y - t, which does not.
    """
    z = tf.Variable(logit, dtype=tf.float64)
    t = tf.constant(target, dtype=tf.float64)
    with tf.GradientTape(persistent=True) as tape:
        y = tf.sigmoid(z)
        squared_error = 0.5 * tf.square(y - t)
        cross_entropy = -(t * tf.math.log(y) + (1 - t) * tf.math.log(1 - y))
    y = float(y)
    return {
        "prediction": y,
        "squared_error": float(tape.gradient(squared_error, z)),
        "cross_entropy": float(tape.gradient(cross_entropy, z)),
        "squared_error_formula": (y - target) * y * (1 - y),
        "cross_entropy_formula": y - target,
    }


def draw(out_dir):
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    # Losses for targets +-1, against the prediction y (the margin t*y on the x axis for t = 1).
    y = tf.constant(np.linspace(-2.0, 2.5, 451), dtype=tf.float32)
    one = tf.constant(1.0)
    for name, loss, style in (("0-1", zero_one, "-"), ("absolute", absolute, "--"), ("hinge", hinge, "-"),
                              ("squared", squared, "-"), ("exponential", exponential, "-")):
        # Left of y = 1 the absolute and hinge losses coincide; dashes keep both visible.
        left.plot(y, loss(one, y), style, label=name, zorder=3 if style == "--" else 2)
    left.set(xlabel="prediction y (target t = +1)", ylabel="loss", ylim=(-0.1, 4),
             title="Losses for a target of +1")
    left.legend()
    # Log loss is for probabilities: against y in (0, 1), for both targets.
    p = tf.constant(np.linspace(0.005, 0.995, 400), dtype=tf.float32)
    right.plot(p, log_loss(1.0, p), label="log loss, t = 1")
    right.plot(p, log_loss(0.0, p), label="log loss, t = 0")
    right.plot(p, squared(1.0, p), "--", label="squared, t = 1")
    right.set(xlabel="predicted probability y", ylabel="loss", ylim=(0, 5),
              title="Cross-entropy grows without bound when sure and wrong")
    right.legend()
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    print("A worked example: targets [1, 1, 1]")
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
    print(f"\nA sigmoid output sure of the wrong answer: z = {args.logit:g}, y = sigmoid(z) = "
          f"{result['prediction']:.6f}, target 1")
    print(f"dLoss/dz, half squared error: {result['squared_error']: .6f}   (formula (y - t) y (1 - y): "
          f"{result['squared_error_formula']: .6f})")
    print(f"dLoss/dz, cross-entropy:      {result['cross_entropy']: .6f}   (formula y - t: "
          f"{result['cross_entropy_formula']: .6f})")
    ratio = result["cross_entropy"] / result["squared_error"]
    print(f"Cross-entropy's gradient is {ratio:.0f} times larger: it pushes hard against the mistake,\n"
          f"while squared error, damped by the sigmoid's flat tail, barely moves.")
    draw(args.out)
    return {"table": rows, "gradients": result}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
