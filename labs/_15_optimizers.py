"""Optimizers side by side: batch, stochastic and mini-batch descent, momentum, decay, Adagrad, Adam.

You will learn:
- batch gradient descent takes one careful step per pass over the data;
  stochastic gradient descent (one example per step) takes many noisy ones;
  mini-batches sit in between, and are what everyone uses
- momentum keeps a running velocity, so steps that agree add up and steps
  that zig-zag cancel
- a decaying learning rate: large steps first, small ones to settle
- Adagrad and Adam scale each weight's step by the size of its past gradients
- on a long narrow valley (a ravine), plain descent zig-zags across it and
  crawls along it; momentum and Adam do not

Part 1 trains the same 1-16-1 tanh network on the same data (targets
t = sin(2x) plus noise) from the same initial weights with each optimizer,
for the same number of passes over the data (epochs). Part 2 runs the update
rules on the ravine J(w1, w2) = 0.05 w1^2 + 2 w2^2 from (-8, 1.5). Each
optimizer has its own learning rate, picked by hand for the problem and
printed in the tables: they compare each optimizer with its rate, and
another rate could change the order.

Run:      python labs/_15_optimizers.py
Expected: a table of final loss and epochs to reach the target loss for the
          seven optimizers; a table of steps to reach J < 0.01 on the ravine;
          optimizer_losses.png and ravine_paths.png.
Try:      --epochs 100, and see which of the slow ones catch up.
"""
from common import cli, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import keras
import numpy as np
import tensorflow as tf

NUM_POINTS = 256
NOISE_STDDEV = 0.1
HIDDEN_UNITS = 16
NUM_EPOCHS = 50
TARGET_LOSS = 0.05           # The network has learned the curve's shape by then.
RAVINE_START = (-8.0, 1.5)
RAVINE_TARGET = 0.01
RAVINE_MAX_STEPS = 300
FIGURES = ("optimizer_losses.png", "ravine_paths.png")


# Each optimizer gets its own learning rate, picked by hand so that it does well on this problem, and the
# tables print it: they compare an optimizer together with its rate, not the optimizers alone.

def optimizers(steps_per_epoch: int) -> dict:
    """Name -> (batch size, the learning rate as printed, a fresh Keras optimizer)."""
    # 0.4 / (1 + 0.1 * step / steps_per_epoch): the rate after a number of epochs, fractions included.
    decay = keras.optimizers.schedules.InverseTimeDecay(0.4, decay_steps=steps_per_epoch, decay_rate=0.1)
    return {
        "batch GD": (NUM_POINTS, "0.5", keras.optimizers.SGD(0.5)),
        "SGD (1 example)": (1, "0.02", keras.optimizers.SGD(0.02)),
        "mini-batch SGD (32)": (32, "0.2", keras.optimizers.SGD(0.2)),
        "SGD + momentum 0.9": (32, "0.05", keras.optimizers.SGD(0.05, momentum=0.9)),
        "SGD + decaying rate": (32, "0.4/(1+0.1*epoch)", keras.optimizers.SGD(decay)),
        "Adagrad": (32, "0.3", keras.optimizers.Adagrad(0.3)),
        "Adam": (32, "0.05", keras.optimizers.Adam(0.05)),
    }


def ravine_optimizers() -> dict:
    """Name -> (the learning rate as printed, a fresh Keras optimizer)."""
    # 0.4 / (1 + 0.5 * step / 50) = 0.4 / (1 + 0.01 * step).
    decay = keras.optimizers.schedules.InverseTimeDecay(0.4, decay_steps=50, decay_rate=0.5)
    return {
        "gradient descent": ("0.4", keras.optimizers.SGD(0.4)),
        "momentum 0.9": ("0.08", keras.optimizers.SGD(0.08, momentum=0.9)),
        "decaying rate": ("0.4/(1+0.01*step)", keras.optimizers.SGD(decay)),
        "Adagrad": ("1.0", keras.optimizers.Adagrad(1.0)),
        "Adam": ("0.3", keras.optimizers.Adam(0.3)),
    }


def add_arguments(parser):
    cli.add_epochs(parser, NUM_EPOCHS, "passes over the data for each optimizer")


def make_data(seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (NUM_POINTS, 1)).astype(np.float32)
    y = (np.sin(2 * x) + rng.normal(0, NOISE_STDDEV, x.shape)).astype(np.float32)
    return tf.constant(x), tf.constant(y)


def build(seed: int):
    initializer = keras.initializers.GlorotUniform(seed=seed)
    return keras.Sequential([keras.Input(shape=(1,)),
                             keras.layers.Dense(HIDDEN_UNITS, activation="tanh", kernel_initializer=initializer),
                             keras.layers.Dense(1, kernel_initializer=initializer)])


def epoch_runner(model, optimizer):
    """A compiled function: one pass over (x, y) in shuffled batches of ``batch_size``; returns the full loss."""
    optimizer.build(model.trainable_variables)

    def loss_on(x, y):
        return tf.reduce_mean(tf.square(model(x, training=True) - y))

    @tf.function
    def run_epoch(x, y, batch_size, shuffle_seed):
        count = tf.shape(x)[0]
        order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=shuffle_seed)
        for start in tf.range(0, count, batch_size):
            batch = order[start:start + batch_size]
            with tf.GradientTape() as tape:
                loss = loss_on(tf.gather(x, batch), tf.gather(y, batch))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss_on(x, y)

    return run_epoch


def first_below(values, target):
    below = np.flatnonzero(np.asarray(values) < target)
    return int(below[0]) + 1 if len(below) else None


# --- Part 2: the ravine --------------------------------------------------------------

def ravine(w):
    return 0.05 * w[0] ** 2 + 2.0 * w[1] ** 2


def ravine_path(optimizer, max_steps: int):
    """Apply ``optimizer`` to a point on the ravine; returns the points and J at each."""
    w = tf.Variable(RAVINE_START, dtype=tf.float32)
    points, costs = [w.numpy().copy()], [float(ravine(w))]
    for _ in range(max_steps):
        with tf.GradientTape() as tape:
            cost = ravine(w)
        optimizer.apply_gradients([(tape.gradient(cost, w), w)])
        points.append(w.numpy().copy())
        costs.append(float(ravine(w)))
    return np.array(points), np.array(costs)


def draw_losses(out_dir, curves, target):
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, losses in curves.items():
        ax.semilogy(range(1, len(losses) + 1), losses, label=name)
    ax.axhline(target, color="0.5", linestyle=":", label=f"target {target}")
    ax.set(xlabel="epoch (one pass over the data)", ylabel="mean squared error (log scale)",
           title="The same network, the same data, seven optimizers")
    ax.legend(fontsize=8)
    return plotting.save_figure(fig, out_dir, FIGURES[0])


def draw_ravine(out_dir, paths):
    fig, ax = plt.subplots(figsize=(9, 4.5))
    w1, w2 = np.meshgrid(np.linspace(-9, 3, 300), np.linspace(-2, 2, 200))
    ax.contour(w1, w2, 0.05 * w1 ** 2 + 2 * w2 ** 2, levels=np.geomspace(0.01, 10, 12), colors="0.75")
    for name, (points, _) in paths.items():
        shown = points[:60]
        ax.plot(shown[:, 0], shown[:, 1], ".-", markersize=3, linewidth=1, label=name)
    ax.plot(*RAVINE_START, "ko")
    ax.set(xlabel="$w_1$", ylabel="$w_2$", title="A ravine, $J = 0.05 w_1^2 + 2 w_2^2$: the first 60 steps")
    ax.legend(fontsize=8, loc="lower right")
    return plotting.save_figure(fig, out_dir, FIGURES[1])


def main(args) -> dict:
    x, y = make_data(args.seed)
    epochs = min(args.epochs, 3) if args.smoke else args.epochs
    reference = build(args.seed)
    start_weights = reference.get_weights()
    print(f"Part 1: a 1-{HIDDEN_UNITS}-1 tanh network on {NUM_POINTS} points, {epochs} epochs each, "
          f"the same initial weights")
    print(f"{'optimizer':22s} {'learning rate':>17s} {'steps/epoch':>11s} {'final loss':>11s} "
          f"{'epochs to ' + str(TARGET_LOSS):>15s}")
    curves, table = {}, {}
    for name, (batch_size, rate, optimizer) in optimizers(NUM_POINTS // 32).items():
        model = build(args.seed)
        model.set_weights(start_weights)
        run_epoch = epoch_runner(model, optimizer)
        losses = [float(run_epoch(x, y, tf.constant(batch_size), tf.constant([args.seed, epoch])))
                  for epoch in range(epochs)]
        curves[name] = losses
        reached = first_below(losses, TARGET_LOSS)
        table[name] = {"final_loss": losses[-1], "epochs_to_target": reached, "losses": losses}
        steps_per_epoch = -(-NUM_POINTS // batch_size)
        print(f"{name:22s} {rate:>17s} {steps_per_epoch:11d} {losses[-1]:11.4f} "
              f"{reached if reached is not None else 'not reached':>15}")
    draw_losses(args.out, curves, TARGET_LOSS)

    print(f"\nPart 2: the ravine J = 0.05 w1^2 + 2 w2^2 from {RAVINE_START}, steps to J < {RAVINE_TARGET}:")
    print(f"{'optimizer':18s} {'learning rate':>17s} {'steps':>9s}")
    max_steps = 40 if args.smoke else RAVINE_MAX_STEPS
    paths, ravine_steps = {}, {}
    for name, (rate, optimizer) in ravine_optimizers().items():
        points, costs = ravine_path(optimizer, max_steps)
        paths[name] = (points, costs)
        ravine_steps[name] = first_below(costs[1:], RAVINE_TARGET)
        shown = ravine_steps[name] if ravine_steps[name] is not None else f"not in {max_steps}"
        print(f"{name:18s} {rate:>17s} {shown!s:>9}   J after {max_steps} steps: {costs[-1]:.2e}")
    draw_ravine(args.out, paths)
    return {"optimizers": table, "ravine_steps": ravine_steps, "initial_loss_model": reference}


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
