"""The MNIST and Fashion-MNIST labs, measured: test accuracy, wall time, and the CNN's time to 99%.

Part 1 runs every lab under labs/mnist/ and labs/fashion_mnist/ from scratch
(into an empty folder) as a user would, and reads the test
accuracy it prints.

Part 2 trains the MNIST CNN lab's model and a reference model side by side
and measures the training time each needs to reach 99.0% test accuracy.
The reference is the Keras "simple MNIST convnet" example's configuration
(Conv 32 -> pool -> Conv 64 -> pool -> Dropout 0.5 -> Dense 10, Adam, batch 128).
Test accuracy is checked every tenth of an epoch with the clock stopped, so
only training counts. Both run without XLA, which is the faster setting for
convolutions on a CPU (with XLA the reference takes about three times as long
per step here). Target: our CNN needs at most a third of the reference's time.

Run:      python benchmarks/mnist_labs.py            (both parts, about 20 minutes on 2 cores)
          python benchmarks/mnist_labs.py --part speed
          python benchmarks/mnist_labs.py --part labs
"""
import argparse
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import data, paths  # Before TensorFlow: it starts TensorFlow quietly.
import keras
import numpy as np
from keras import layers

LABS = ["mnist/_01_mlp.py", "mnist/_02_cnn.py", "mnist/_03_handwriting_network.py",
        "fashion_mnist/_01_mlp.py", "fashion_mnist/_02_cnn.py", "fashion_mnist/_03_backprop_by_hand.py"]
TARGET_ACCURACY = 0.99
TARGET_RATIO = 1 / 3
ACCURACY_LINE = re.compile(r"test accuracy[^0-9]*([0-9.]+)(%?)", re.IGNORECASE)


def run_labs(keep_dir=None):
    print("Part 1: each lab from scratch, as a user runs it")
    print(f"{'lab':42s} {'test accuracy':>14s} {'wall time':>10s}")
    for lab in LABS:
        with tempfile.TemporaryDirectory() as scratch:
            out_dir = Path(keep_dir) / lab.removesuffix(".py") if keep_dir else Path(scratch)
            shutil.rmtree(out_dir, ignore_errors=True)  # From scratch: no saved state to resume.
            began = time.perf_counter()
            result = subprocess.run([sys.executable, str(paths.LABS_DIR / lab), "--out", str(out_dir)],
                                    capture_output=True, text=True)
            seconds = time.perf_counter() - began
        if result.returncode != 0:
            print(f"{lab:42s} failed with exit status {result.returncode}:\n{result.stderr[-2000:]}")
            continue
        # The last test accuracy printed (after training), single-pass: the Fashion-MNIST CNN's
        # extra line with test-time augmentation (each image and its mirror image) is not counted.
        found = [match for line in result.stdout.splitlines() if "mirror" not in line
                 for match in ACCURACY_LINE.findall(line)]
        value, percent = found[-1]
        accuracy = float(value) / 100 if percent else float(value)
        print(f"{lab:42s} {accuracy:14.2%} {seconds:9.0f}s", flush=True)


class TimeToAccuracy(keras.callbacks.Callback):
    """Stops training once test accuracy reaches the target; counts training time only."""

    def __init__(self, x_test, y_test, every_steps):
        super().__init__()
        self.x_test, self.y_test, self.every = x_test, y_test, every_steps
        self.steps, self.training_seconds, self.started, self.reached = 0, 0.0, None, None

    def on_train_batch_begin(self, batch, logs=None):
        if self.started is None:
            self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps % self.every:
            return
        self.training_seconds += time.perf_counter() - self.started
        predicted = np.argmax(self.model.predict(self.x_test, batch_size=2000, verbose=0), axis=1)
        accuracy = float(np.mean(predicted == self.y_test))
        if accuracy >= TARGET_ACCURACY:
            self.reached = (self.training_seconds, self.steps, accuracy)
            self.model.stop_training = True
        self.started = time.perf_counter()


def reference_model():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="keras_reference")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    return model


def time_to_accuracy(model, x_train, y_train, x_test, y_test, batch_size, max_epochs, dataset=None):
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    clock = TimeToAccuracy(x_test, y_test, max(1, steps_per_epoch // 10))
    if dataset is None:
        model.fit(x_train, y_train, batch_size=batch_size, epochs=max_epochs, verbose=0, callbacks=[clock])
    else:
        model.fit(dataset, epochs=max_epochs, verbose=0, callbacks=[clock], shuffle=False)  # It shuffles itself.
    return clock.reached, clock.training_seconds


def compare_speed(seed: int):
    print(f"Part 2: training time to {TARGET_ACCURACY:.1%} MNIST test accuracy (seed {seed})")
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    x_train = data.scaled(x_train)[..., np.newaxis]
    x_test = data.scaled(x_test)[..., np.newaxis]
    lab = paths.load_lab("labs/mnist/_02_cnn.py")

    keras.utils.set_random_seed(seed)
    steps_per_epoch = math.ceil(len(x_train) / lab.BATCH_SIZE)
    ours = lab.compile_model(lab.build_model(lab.AUGMENT_SHIFT), steps_per_epoch, jit_compile=False)  # On the CPU.
    train = data.pipeline(x_train, y_train, lab.BATCH_SIZE, shuffle_seed=seed)
    ours_reached, ours_total = time_to_accuracy(ours, x_train, y_train, x_test, y_test, lab.BATCH_SIZE,
                                                lab.NUM_EPOCHS, dataset=train)
    keras.utils.set_random_seed(seed)
    reference_reached, reference_total = time_to_accuracy(reference_model(), x_train, y_train, x_test, y_test,
                                                          128, 30)
    for name, reached, total in (("our CNN (labs/mnist/_02_cnn.py)", ours_reached, ours_total),
                                 ("Keras simple MNIST convnet", reference_reached, reference_total)):
        if reached:
            seconds, steps, accuracy = reached
            print(f"  {name:34s} {seconds:6.1f} s  ({steps} steps, {steps / steps_per_epoch:.1f} epochs, "
                  f"{accuracy:.2%})")
        else:
            print(f"  {name:34s} did not reach {TARGET_ACCURACY:.1%} ({total:.0f} s of training)")
    if ours_reached and reference_reached:
        ratio = ours_reached[0] / reference_reached[0]
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(f"  ratio: {ratio:.2f} ({verdict} the target of at most {TARGET_RATIO:.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("all", "labs", "speed"), default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="keep each lab's outputs (figures, models) under DIR")
    options = parser.parse_args()
    if options.part in ("all", "labs"):
        run_labs(options.keep)
    if options.part in ("all", "speed"):
        compare_speed(options.seed)


if __name__ == "__main__":
    main()
