"""A small deterministic training run under whatever strategy the flags choose; used by test_common_distribute.py.

Trains a two-layer network for two epochs of 8 steps on fixed data (no
shuffling, no dropout, fixed initial weights) and saves the final weights as
weights.npy under --out (a worker other than the chief saves under
--out/worker-N). Whatever the strategy, the numbers must come out the same as
on one device with the same global batch.
"""
from common import cli, data, training  # Before TensorFlow: it starts TensorFlow quietly.
import keras
import numpy as np

PER_REPLICA_BATCH = 32
GLOBAL_BATCH = 64


def add_arguments(parser):
    training.Run.add_arguments(parser)


def main(args, run):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (np.tanh(x @ rng.normal(size=(8, 1))) + 0.1 * rng.normal(size=(512, 1))).astype("float32")
    # With --strategy none the same global batch is taken on one device.
    per_replica = GLOBAL_BATCH // run.replicas
    batches = data.pipeline(x, y, run.global_batch_size(per_replica))
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(1)),
        keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(2)),
    ])
    model.compile(keras.optimizers.SGD(0.05), "mse", metrics=["mae"])
    history = model.fit(batches, epochs=2, shuffle=False, verbose=0)
    print("losses:", " ".join(f"{value:.6f}" for value in history.history["loss"]))
    weights = np.concatenate([w.ravel() for w in model.get_weights()])
    np.save(run.out / "weights.npy", weights)


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments, run=training.Run)
