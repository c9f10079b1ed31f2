"""Lab _07's full training against a plain NumPy implementation of the same network.

Both train the 2-10-1 sigmoid network on XOR for 100,001 full-batch epochs
from the same starting weights, in float32, with the same formulas. The lab's
time includes building and compiling its graph, as a learner experiences it.
Target: the TensorFlow lab takes at most half the NumPy reference's time.

Run:      python benchmarks/bp_xor_speed.py [--repeats 3] [--epochs 100001]
Expected: both times, both final losses (nearly equal) and the ratio.
"""
import argparse
import statistics
import time

from common import paths  # Before TensorFlow: it starts TensorFlow quietly.
import numpy as np
import tensorflow as tf

LAB_PATH = paths.LABS_DIR / "_07_bp_xor.py"
TARGET_RATIO = 0.5


def numpy_reference(X, T, W1, b1, W2, b2, learning_rate, num_epochs):
    """The same network and updates as lab _07, written with NumPy; returns the final loss."""
    W1, b1, W2, b2 = (array.copy() for array in (W1, b1, W2, b2))
    N = X.shape[0]
    lr = X.dtype.type(learning_rate)
    for _ in range(num_epochs):
        L1 = 1 / (1 + np.exp(-(X @ W1 + b1)))
        Y = 1 / (1 + np.exp(-(L1 @ W2 + b2)))
        delta_L2 = (T - Y) * Y * (1 - Y)
        delta_L1 = (delta_L2 @ W2.T) * L1 * (1 - L1)
        W2 += lr * L1.T @ delta_L2 / N
        W1 += lr * X.T @ delta_L1 / N
        b2 += lr * delta_L2.mean(axis=0)
        b1 += lr * delta_L1.mean(axis=0)
    Y = 1 / (1 + np.exp(-((1 / (1 + np.exp(-(X @ W1 + b1)))) @ W2 + b2)))
    return float(np.mean(np.square(T - Y)) / 2)


def time_lab(lab, start, num_epochs):
    """Train with a freshly loaded lab (so graph building and compiling are counted)."""
    X = tf.constant(lab.INPUTS)
    T = tf.constant(lab.TARGETS)
    params = {name: tf.Variable(value) for name, value in start.items()}
    began = time.perf_counter()
    curve = lab.train(X, T, params, lab.LEARNING_RATE, num_epochs, report=lambda line: None)
    return time.perf_counter() - began, curve[-1][1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100_001)
    options = parser.parse_args()

    tf.random.set_seed(1)
    template = paths.load_lab(LAB_PATH)
    start = {name: variable.numpy() for name, variable in template.init_params(2, template.HIDDEN_UNITS, 1).items()}
    X = np.array(template.INPUTS, dtype=np.float32)
    T = np.array(template.TARGETS, dtype=np.float32)

    lab_times, numpy_times = [], []
    for _ in range(options.repeats):
        seconds, lab_loss = time_lab(paths.load_lab(LAB_PATH), start, options.epochs)
        lab_times.append(seconds)
        began = time.perf_counter()
        numpy_loss = numpy_reference(X, T, start["W1"], start["b1"], start["W2"], start["b2"],
                                     template.LEARNING_RATE, options.epochs)
        numpy_times.append(time.perf_counter() - began)

    lab_time, numpy_time = statistics.median(lab_times), statistics.median(numpy_times)
    ratio = lab_time / numpy_time
    print(f"{options.epochs:,} epochs of the 2-10-1 XOR network, median of {options.repeats} runs")
    print(f"TensorFlow lab _07 (compiled graph): {lab_time:7.3f} s   final loss {lab_loss:.6g}")
    print(f"NumPy reference:                     {numpy_time:7.3f} s   final loss {numpy_loss:.6g}")
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"ratio TensorFlow / NumPy: {ratio:.3f} ({verdict} the target of at most {TARGET_RATIO})")


if __name__ == "__main__":
    main()
