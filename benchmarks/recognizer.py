"""The draw-a-digit recognizer, measured on digits that are not MNIST-ready.

Writes MNIST test digits as PNG files two ways: drawn the way people draw
(dark on white, a 280x280 canvas, anywhere on it, half to double size,
thinner or thicker strokes; ``as_drawing`` in labs/mnist/draw_a_digit/recipe.py) and exactly as they
are (28x28, light on dark). Then runs the recognizer lab on each folder with
``--image``, once with the MNIST recipe and once with the short recipe of
many tutorials (``--naive``), and prints the share read right.

Targets: at least 97% of the drawn digits and 99% of the plain ones.

Run:      python benchmarks/recognizer.py            (about 2 minutes with a trained model)
          python benchmarks/recognizer.py --model PATH --drawings 1000
The model is the MNIST CNN lab's; if it has not been trained yet, the lab
trains it first (about a minute).
"""
import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import data, paths  # Before TensorFlow: it starts TensorFlow quietly.
import numpy as np

LAB = paths.LABS_DIR / "mnist" / "_04_draw_a_digit.py"
DEFAULT_MODEL = paths.OUTPUTS_DIR / "mnist" / "_02_cnn" / paths.MNIST_CNN_FILE
recipe = paths.load_lab(LAB).recipe  # labs/mnist/draw_a_digit/recipe.py
ANSWER_LINE = re.compile(r"^(?P<path>.+): (?P<digit>\d) \([\d.]+%\)$")


def read_right(folder: Path, model: Path, naive: bool, out: Path):
    """Run the lab on every file in ``folder``; the share whose answer matches the label in the name."""
    command = [sys.executable, str(LAB), "--image", str(folder), "--model", str(model), "--out", str(out)]
    if naive:
        command.append("--naive")
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    answers = {}
    for line in result.stdout.splitlines():
        match = ANSWER_LINE.match(line)
        if match:
            answers[Path(match["path"]).name] = int(match["digit"])
    files = sorted(folder.iterdir())
    right = sum(answers.get(path.name) == int(path.stem[-1]) for path in files)
    return right / len(files), len(files) - len(answers), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the saved model to use")
    parser.add_argument("--drawings", type=int, default=1000, help="how many drawn digits (default: 1000)")
    parser.add_argument("--seed", type=int, default=2024, help="picks and draws the digits (default: 2024)")
    args = parser.parse_args()
    if not args.model.is_file():
        subprocess.run([sys.executable, str(LAB), "--model", str(args.model), "--train-if-missing",
                        "--examples", tempfile.mkdtemp()], check=True)

    _, (images, labels) = data.load_mnist()
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(images), args.drawings, replace=False)
    print(f"Model: {args.model}")
    print(f"{'digits':34s} {'recipe':>8s} {'accuracy':>9s} {'unread':>7s} {'time':>6s}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        sets = {
            f"{args.drawings:,} drawn like people draw": recipe.save_digits(
                scratch / "drawn", images[chosen], labels[chosen], rng=rng),
            f"{len(images):,} plain MNIST test digits": recipe.save_digits(scratch / "plain", images, labels),
        }
        for name, files in sets.items():
            for naive in (False, True):
                accuracy, unread, seconds = read_right(files[0].parent, args.model, naive, scratch / "out")
                print(f"{name:34s} {'naive' if naive else 'MNIST':>8s} {accuracy:9.2%} {unread:7d} {seconds:5.0f}s",
                      flush=True)


if __name__ == "__main__":
    main()
