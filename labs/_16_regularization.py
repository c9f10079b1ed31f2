"""Regularization: dropout worked in numbers, then four ways to train a network that overfits.

You will learn:
- dropout: during training each hidden unit is dropped (set to zero) with
  probability p, the drop rate, and the kept ones are scaled by 1/(1 - p), so
  the next layer sees the same total on average; at test time everything is kept
- overfitting: a large network trained on few examples learns them by heart,
  and the gap between training and validation error shows it
- three cures and what they do to the gap: an L2 penalty in the loss (on
  large weights), dropout, and early stopping (keep the weights from the
  step where the validation loss was lowest)

Part 1 is a small dropout example worked in numbers: three samples of four
features, hidden weights 4x3 and output weights 3x2, ReLU hidden layer, zero
biases; the logits it prints are the output layer's weighted sums, before
any softmax. Part 2 trains a 784-256-256-10 network on 1,000 MNIST training
images, with 2,000 others held out for validation (never trained on, only
used to measure the error on images the network has not learned), in
float64 so that the table is the same on any processor (in float32 its last
digits depend on the processor's instructions, as in lab _14).

Run:      python labs/_16_regularization.py
Expected: the logits with every unit kept and with a fixed dropout
          mask; a table of training and validation error for the four runs
          (the gap narrows with each cure) and the step whose weights early
          stopping kept; regularization.png.
Try:      --l2 0.01 (a stronger penalty) and --dropout 0.2 (weaker dropout).
"""
from common import cli, data, graph, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import keras
import numpy as np
import tensorflow as tf

# Part 1's worked example: three samples of four features, a 4-3-2 network.
FEATURES = [[0.0, 2.0, 3.0, 4.0], [0.1, 0.2, 0.3, 0.4], [11.0, 12.0, 13.0, 14.0]]
HIDDEN_WEIGHTS = [[0.1, 0.2, 0.4], [0.4, 0.6, 0.6], [0.5, 0.9, 0.1], [0.8, 0.2, 0.8]]
OUTPUT_WEIGHTS = [[0.1, 0.6], [0.2, 0.1], [0.7, 0.9]]
EXAMPLE_DROP_RATE = 0.5       # p, the share of units dropped; the keep probability is 1 - p.
# One fixed mask (1 = kept), so the numbers can be checked by hand.
FIXED_MASK = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]]

TRAIN_SIZE, VALIDATION_SIZE = 1_000, 2_000
HIDDEN_UNITS = 256
LEARNING_RATE = 1e-3
NUM_STEPS = 400              # Full-batch Adam steps.
EVALUATE_EVERY = 10
L2_FACTOR = 1e-3
DROPOUT_RATE = 0.5
DTYPE = "float64"
PATIENCE = 5                 # Evaluations without a better validation loss before early stopping.
FIGURES = ("regularization.png",)


def add_arguments(parser):
    parser.add_argument("--l2", type=cli.positive_float, default=L2_FACTOR,
                        help=f"the L2 penalty factor lambda in the loss (default: {L2_FACTOR:g})")
    parser.add_argument("--dropout", type=cli.fraction, default=DROPOUT_RATE,
                        help=f"the drop rate p, the share of hidden units dropped (default: {DROPOUT_RATE:g})")
    cli.add_epochs(parser, NUM_STEPS, "full-batch training steps per run", flag="--steps")


# --- Part 1: dropout in numbers --------------------------------------------------------

def logits_with_dropout(mask=None, rate: float = 0.0):
    """Part 1's two-layer network; ``mask`` (1 = kept) applied to the hidden layer, kept units / (1 - rate)."""
    hidden = tf.nn.relu(tf.constant(FEATURES) @ tf.constant(HIDDEN_WEIGHTS))     # (3, 3)
    if mask is not None:
        hidden = hidden * tf.constant(mask) / (1.0 - rate)
    return hidden.numpy(), (hidden @ tf.constant(OUTPUT_WEIGHTS)).numpy()      # (3, 2)


# --- Part 2: overfitting and its cures ------------------------------------------------------

def build(seed: int, l2: float = 0.0, dropout: float = 0.0):
    glorot = keras.initializers.GlorotUniform(seed=seed)

    def initializer(shape, dtype=None):  # Glorot's float32 draws, so the start does not depend on DTYPE
        return tf.cast(glorot(shape, "float32"), DTYPE)

    regularizer = keras.regularizers.L2(l2) if l2 else None
    layers = [keras.Input(shape=(784,), dtype=DTYPE)]
    for index in range(2):
        layers.append(keras.layers.Dense(HIDDEN_UNITS, activation="relu", kernel_initializer=initializer,
                                         kernel_regularizer=regularizer, dtype=DTYPE))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, seed=seed + index, dtype=DTYPE))
    layers.append(keras.layers.Dense(10, kernel_initializer=initializer, kernel_regularizer=regularizer,
                                     dtype=DTYPE))
    return keras.Sequential(layers)


def error_and_loss(model, x, y):
    logits = model(x, training=False)
    loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    error = 1.0 - float(np.mean(np.argmax(logits.numpy(), axis=1) == y.numpy()))
    return error, float(tf.reduce_mean(loss))


def train_run(model, train, validation, steps: int, early_stopping: bool = False):
    """Full-batch Adam, evaluated every EVALUATE_EVERY steps; returns the history and the step whose weights
    the model ends with (with early stopping, the step of the lowest validation loss)."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=DTYPE)
    run = graph.step_runner(model, loss, keras.optimizers.Adam(LEARNING_RATE))
    history = {"step": [], "train_error": [], "validation_error": [], "validation_loss": []}
    best_loss, best_weights, best_step, waited = np.inf, None, None, 0
    for step in range(EVALUATE_EVERY, steps + 1, EVALUATE_EVERY):
        run(*train, tf.constant(EVALUATE_EVERY))
        train_error, _ = error_and_loss(model, *train)
        validation_error, validation_loss = error_and_loss(model, *validation)
        for key, value in zip(history, (step, train_error, validation_error, validation_loss)):
            history[key].append(value)
        if early_stopping:
            if validation_loss < best_loss:
                best_loss, best_weights, best_step, waited = validation_loss, model.get_weights(), step, 0
            else:
                waited += 1
                if waited >= PATIENCE:
                    model.set_weights(best_weights)      # Back to the best step.
                    return history, best_step
    return history, history["step"][-1]


def draw(out_dir, histories: dict, final: dict):
    fig, axes = plt.subplots(1, len(histories), figsize=(4 * len(histories), 3.8), sharey=True)
    for ax, (name, history) in zip(axes, histories.items()):
        ax.plot(history["step"], history["train_error"], label="training")
        ax.plot(history["step"], history["validation_error"], label="validation")
        gap = final[name]["validation_error"] - final[name]["train_error"]
        ax.set(title=f"{name}\ngap {gap:.1%}", xlabel="step")
    axes[0].set_ylabel("error rate")
    axes[0].set_ylim(0, 0.3)
    axes[0].legend()
    fig.suptitle(f"{TRAIN_SIZE:,} MNIST images: overfitting and three cures")
    fig.tight_layout()
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def main(args) -> dict:
    print("Part 1: a dropout example in numbers (ReLU hidden layer, zero biases)")
    hidden, logits = logits_with_dropout()
    print("hidden layer, every unit kept:\n" + np.array2string(hidden, precision=4, suppress_small=True))
    print("logits, every unit kept:\n" + np.array2string(logits, precision=4, suppress_small=True))
    dropped_hidden, dropped_logits = logits_with_dropout(FIXED_MASK, EXAMPLE_DROP_RATE)
    print(f"with drop rate p = {EXAMPLE_DROP_RATE} and the mask {FIXED_MASK} (1 = kept): "
          f"kept units times 1/(1 - p) = {1 / (1 - EXAMPLE_DROP_RATE):g}, dropped ones 0")
    print("hidden layer:\n" + np.array2string(dropped_hidden, precision=4, suppress_small=True))
    print("logits:\n" + np.array2string(dropped_logits, precision=4, suppress_small=True))
    sample = tf.nn.dropout(tf.constant(hidden), rate=EXAMPLE_DROP_RATE, seed=args.seed).numpy()
    kept = sample != 0
    print(f"tf.nn.dropout kept {int(kept.sum())} of {kept.size} units this time, each multiplied by "
          f"{float(np.mean(sample[kept] / hidden[kept])):g}")

    (x_all, y_all), _ = data.load_mnist()
    images = data.scaled(x_all).reshape(-1, 784).astype(DTYPE)
    train = (tf.constant(images[:TRAIN_SIZE]), tf.constant(y_all[:TRAIN_SIZE].astype(np.int64)))
    validation = (tf.constant(images[-VALIDATION_SIZE:]), tf.constant(y_all[-VALIDATION_SIZE:].astype(np.int64)))
    steps = min(args.steps, 40) if args.smoke else args.steps
    runs = {
        "plain": (build(args.seed), False),
        f"L2 {args.l2:g}": (build(args.seed, l2=args.l2), False),
        f"dropout {args.dropout:g}": (build(args.seed, dropout=args.dropout), False),
        "early stopping": (build(args.seed), True),
    }
    print(f"\nPart 2: a 784-{HIDDEN_UNITS}-{HIDDEN_UNITS}-10 network on {TRAIN_SIZE:,} MNIST images, "
          f"{steps} full-batch Adam steps, validated on {VALIDATION_SIZE:,} others")
    print(f"{'':22s} {'error rate':^23s} {'cross-entropy loss':^25s}")
    print(f"{'run':16s} {'steps':>5s} {'train':>7s} {'valid.':>7s} {'gap':>7s} "
          f"{'train':>8s} {'valid.':>8s} {'gap':>7s}")
    histories, final = {}, {}
    for name, (model, early_stopping) in runs.items():
        history, weights_step = train_run(model, train, validation, steps, early_stopping)
        train_error, train_loss = error_and_loss(model, *train)
        validation_error, validation_loss = error_and_loss(model, *validation)
        histories[name] = history
        final[name] = {"train_error": train_error, "validation_error": validation_error,
                       "gap": validation_error - train_error, "steps": history["step"][-1],
                       "weights_step": weights_step,
                       "train_loss": train_loss, "validation_loss": validation_loss,
                       "loss_gap": validation_loss - train_loss}
        print(f"{name:16s} {history['step'][-1]:5d} {train_error:7.1%} {validation_error:7.1%} "
              f"{validation_error - train_error:7.1%} {train_loss:8.3f} {validation_loss:8.3f} "
              f"{validation_loss - train_loss:7.3f}")
    stopped = final["early stopping"]
    if stopped["weights_step"] < stopped["steps"]:
        print(f"early stopping ran {stopped['steps']} steps and went back to the weights of step "
              f"{stopped['weights_step']}, where the validation loss was lowest")
    else:
        print(f"early stopping never stopped: it saw no {PATIENCE} evaluations in a row without a lower "
              f"validation loss in {stopped['steps']} steps")
    draw(args.out, histories, final)
    return {"hidden": hidden, "logits": logits, "dropped_hidden": dropped_hidden, "dropped_logits": dropped_logits,
            "dropout_sample": sample, "runs": final}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
