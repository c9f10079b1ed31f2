"""How the MNIST CNN's training cost grows with the number of examples and the batch size.

Each cell of the table is a separate process (so its peak memory is its
own) that trains the model of labs/mnist/_02_cnn.py for five epochs on the
first N training images with a given batch size. The first epoch includes
building the graph; the fastest of the other four is the steady state (the
least disturbed by whatever else the machine is doing), and gives the time
per example. Memory is the process's peak resident size (TensorFlow, the data
set and the training together) and, on a GPU, TensorFlow's peak GPU
allocation. With a GPU present every cell is also run with mixed precision.

Run:      python benchmarks/scaling.py                     (about 5 minutes on 2 CPU cores)
          python benchmarks/scaling.py --examples 7500 60000 --batch-sizes 128
          python benchmarks/scaling.py --quick             (a seconds-long check that it works)
"""
import argparse
import json
import subprocess
import sys
import time

from common import data, paths  # Before TensorFlow: it starts TensorFlow quietly.
import keras
import numpy as np
import tensorflow as tf

EXAMPLES = (7_500, 15_000, 30_000, 60_000)
BATCH_SIZES = (64, 128, 256)
QUICK_EXAMPLES, QUICK_BATCH_SIZES = (512, 1_024), (64,)
EPOCHS = 5
CELL_TIME_LIMIT = 1_800


def _peak_memory_mb():
    """This process's peak resident memory in MB, or None where the system does not say."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KB elsewhere


class _EpochClock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.began = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.began)


def run_cell(examples: int, batch_size: int, mixed_precision: bool) -> dict:
    """Train for ``EPOCHS`` epochs in this process and return the measurements."""
    keras.utils.set_random_seed(1)
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    lab = paths.load_lab("labs/mnist/_02_cnn.py")
    (x_train, y_train), _ = data.load_mnist()
    images = data.scaled(x_train[:examples])[..., np.newaxis]
    one_hot = keras.utils.to_categorical(y_train[:examples], 10)     # The lab's loss takes rows of ten.
    batches = data.pipeline(images, one_hot, batch_size, shuffle_seed=1)
    # The lab's one-cycle schedule, spread over these epochs.
    model = lab.compile_model(lab.build_model(lab.AUGMENT_SHIFT), int(np.ceil(examples / batch_size)) * EPOCHS,
                              jit_compile="auto" if gpus else False)  # What training.Run chooses.
    before = _peak_memory_mb()
    clock = _EpochClock()
    model.fit(batches, epochs=EPOCHS, callbacks=[clock], shuffle=False, verbose=0)
    result = {"examples": examples, "batch_size": batch_size, "mixed_precision": mixed_precision,
              "first_epoch_s": clock.seconds[0], "epoch_s": min(clock.seconds[1:]),
              "memory_before_mb": before, "peak_memory_mb": _peak_memory_mb(), "gpu_peak_mb": None}
    if gpus:
        result["gpu_peak_mb"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return result


def _measure(examples: int, batch_size: int, mixed_precision: bool) -> dict:
    command = [sys.executable, __file__, "--cell", str(examples), str(batch_size)]
    if mixed_precision:
        command.append("--mixed-precision")
    result = subprocess.run(command, capture_output=True, text=True, timeout=CELL_TIME_LIMIT)
    if result.returncode != 0:
        raise SystemExit(f"the cell {examples} x {batch_size} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _seconds(value: float) -> str:
    """Seconds to three significant digits, so that a short epoch is not printed as 0.0s."""
    decimals = 0 if value >= 100 else 1 if value >= 10 else 2 if value >= 1 else 3
    return f"{value:.{decimals}f}s" if value >= 0.001 else f"{value:.1e}s"


def _number(value, form: str) -> str:
    return "n/a" if value is None else format(value, form)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, nargs="+", default=EXAMPLES, help="training set sizes")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=BATCH_SIZES, help="batch sizes")
    parser.add_argument("--quick", action="store_true", help="two tiny cells, to check that the script works")
    parser.add_argument("--cell", type=int, nargs=2, metavar=("EXAMPLES", "BATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--mixed-precision", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        print(json.dumps(run_cell(*args.cell, args.mixed_precision)))
        return
    examples, batch_sizes = (QUICK_EXAMPLES, QUICK_BATCH_SIZES) if args.quick else (args.examples, args.batch_sizes)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    precisions = (False, True) if gpu else (False,)
    print(f"MNIST CNN (labs/mnist/_02_cnn.py), {EPOCHS} epochs per cell, on {'the GPU' if gpu else 'the CPU'}; "
          f"epoch: the fastest after the first")
    header = (f"{'precision':>9s} {'examples':>8s} {'batch':>5s} {'1st epoch':>9s} {'epoch':>7s} "
              f"{'per example':>11s} {'memory before':>13s} {'peak memory':>11s}")
    print(header + (f" {'GPU peak':>8s}" if gpu else ""))
    rows = []
    for mixed in precisions:
        for batch_size in batch_sizes:
            for count in examples:
                row = _measure(count, batch_size, mixed)
                rows.append(row)
                line = (f"{'mixed16' if mixed else 'float32':>9s} {count:8,d} {batch_size:5d} "
                        f"{_seconds(row['first_epoch_s']):>9s} {_seconds(row['epoch_s']):>7s} "
                        f"{row['epoch_s'] / count * 1e6:9.0f}µs "
                        f"{_number(row['memory_before_mb'], '10.0f')} MB {_number(row['peak_memory_mb'], '8.0f')} MB")
                print(line + (f" {_number(row['gpu_peak_mb'], '5.0f')} MB" if gpu else ""), flush=True)
    # How time grows with the data: the slope of log(time) against log(examples), per batch size.
    for mixed in precisions:
        for batch_size in batch_sizes:
            cells = [row for row in rows if row["batch_size"] == batch_size and row["mixed_precision"] == mixed]
            if len(cells) >= 2:
                slope = np.polyfit(np.log([row["examples"] for row in cells]),
                                   np.log([row["epoch_s"] for row in cells]), 1)[0]
                print(f"batch {batch_size}{' (mixed precision)' if mixed else ''}: epoch time grows as "
                      f"examples^{slope:.2f} (1.00 is proportional)")


if __name__ == "__main__":
    main()
