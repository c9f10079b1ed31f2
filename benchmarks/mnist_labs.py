"""The MNIST and Fashion-MNIST labs, measured: test accuracy and wall time.

Runs every lab under labs/mnist/ and labs/fashion_mnist/ from scratch (into
an empty folder) as a user would, and reads the test accuracy it prints.
The CNNs' goals (over several seeds, with the Keras reference and an earlier
commit's labs measured in the same run) are benchmarks/cnn_goals.py's.

Run:      python benchmarks/mnist_labs.py            (about 15 minutes on 2 cores)
          python benchmarks/mnist_labs.py --keep outputs/benchmark   (keeps each lab's figures and models)
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import paths

LABS = ["mnist/_01_mlp.py", "mnist/_02_cnn.py", "mnist/_03_handwriting_network.py",
        "fashion_mnist/_01_mlp.py", "fashion_mnist/_02_cnn.py", "fashion_mnist/_03_backprop_by_hand.py"]
ACCURACY_LINE = re.compile(r"test accuracy[^0-9]*([0-9.]+)(%?)", re.IGNORECASE)


def run_labs(keep_dir=None):
    print("Each lab from scratch, as a user runs it")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", metavar="DIR", help="keep each lab's outputs (figures, models) under DIR")
    options = parser.parse_args()
    run_labs(options.keep)


if __name__ == "__main__":
    main()
