"""Regenerate every figure the book shows (resources/*.png) by running the labs that draw them.

Each figure in resources/ is a lab's own output, renamed: the table FIGURES
below says which lab, with which flags, draws it under which name. Labs run
as a user runs them, with the default seed, each into a scratch folder. The
one picture that is not a figure, the recognizer's web page, is a screenshot
that tools/web_page_screenshot.py takes in headless Chromium with the same
trained network (SCREENSHOTS).

Run:      python tools/make_figures.py            (about 15 minutes on 2 CPU cores)
          python tools/make_figures.py --quick    (about 2 minutes: skips the three labs that train
                                                   for minutes: the two CNNs and the recognizer)
          python tools/make_figures.py --list     (the table, nothing run)
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = REPO_ROOT / "resources"
CNN_MODEL = "{scratch}/mnist/_02_cnn/mnist_cnn.keras"

# (lab, extra flags, the figure the lab writes, the name in resources/, trains for minutes?)
FIGURES = [
    ("_03_single_perceptron", [], "single_perceptron.png", "single_perceptron.png", False),
    ("_04_linear_nn", [], "linear_nn.png", "linear_nn.png", False),
    ("_05_linear_xor", [], "linear_xor.png", "linear_xor.png", False),
    ("_06_nonlinear_xor", [], "nonlinear_xor.png", "nonlinear_xor.png", False),
    ("_07_bp_xor", [], "bp_xor.png", "bp_xor.png", False),
    ("_08_quadratic_regression", [], "quadratic_regression.png", "quadratic_regression.png", False),
    ("_09_gradient_descent", [], "gradient_descent_2d.png", "gradient_descent_2d.png", False),
    ("_09_gradient_descent", [], "learning_rates.png", "learning_rates.png", False),
    ("_09_gradient_descent", [], "local_minimum.png", "local_minimum.png", False),
    ("_10_loss_functions", [], "loss_functions.png", "loss_functions.png", False),
    ("_11_activation_functions", [], "activation_functions.png", "activation_functions.png", False),
    ("_11_activation_functions", [], "gradient_flow.png", "gradient_flow.png", False),
    ("_12_linear_regression", [], "linear_regression.png", "linear_regression.png", False),
    ("_13_logistic_classification", [], "logistic_classification.png", "logistic_classification.png", False),
    ("_14_decision_boundaries", [], "decision_boundaries.png", "decision_boundaries.png", False),
    ("_14_decision_boundaries", [], "regression_curves.png", "regression_curves.png", False),
    ("_15_optimizers", [], "optimizer_losses.png", "optimizer_losses.png", False),
    ("_15_optimizers", [], "ravine_paths.png", "ravine_paths.png", False),
    ("_16_regularization", [], "regularization.png", "regularization.png", False),
    ("mnist/_01_mlp", [], "training_images.png", "mnist_training_images.png", False),
    ("mnist/_03_handwriting_network", [], "training_curves.png", "handwriting_network_training_curves.png", False),
    ("fashion_mnist/_01_mlp", [], "training_images.png", "fashion_mnist_training_images.png", False),
    ("fashion_mnist/_03_backprop_by_hand", [], "accuracy.png", "fashion_mnist_backprop_accuracy.png", False),
    ("mnist/_02_cnn", [], "test_predictions.png", "mnist_cnn_test_predictions.png", True),
    ("fashion_mnist/_02_cnn", [], "confusion_matrix.png", "fashion_mnist_cnn_confusion_matrix.png", True),
    # The recognizer's smoke run draws a "7" through its window's event handlers
    # and reads ten example drawings, here with the CNN trained just above.
    ("mnist/_04_draw_a_digit", ["--smoke", "--model", CNN_MODEL], "drawing_window.png",
     "draw_a_digit_window.png", True),
    ("mnist/_04_draw_a_digit", ["--smoke", "--model", CNN_MODEL], "recognized.png",
     "draw_a_digit_recognized.png", True),
]
# (the tool, the name in resources/): pictures of a page rather than a lab's figure; they need the
# CNN trained above and Chromium with its driver.
SCREENSHOTS = [("tools/web_page_screenshot.py", "draw_a_digit_web_page.png")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the labs that train for minutes")
    parser.add_argument("--list", action="store_true", help="print the table and stop")
    args = parser.parse_args()
    if args.list:
        for lab, flags, figure, name, long in FIGURES:
            print(f"resources/{name:40s} <- labs/{lab}.py {' '.join(flags)} ({figure}){' [long]' if long else ''}")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        done = {}
        for lab, flags, figure, name, long in FIGURES:
            if long and args.quick:
                print(f"skipped   resources/{name} (--quick)")
                continue
            flags = [flag.format(scratch=scratch) for flag in flags]
            out = Path(scratch) / lab
            if (lab, tuple(flags)) not in done:
                print(f"running   labs/{lab}.py {' '.join(flags)}", flush=True)
                result = subprocess.run([sys.executable, str(REPO_ROOT / "labs" / f"{lab}.py"), *flags,
                                         "--out", str(out)], capture_output=True, text=True)
                if result.returncode != 0:
                    print(f"labs/{lab}.py failed (exit {result.returncode}):\n{result.stderr}", file=sys.stderr)
                    return 1
                done[(lab, tuple(flags))] = out
            shutil.copyfile(done[(lab, tuple(flags))] / figure, RESOURCES / name)
            print(f"wrote     resources/{name}")
        if args.quick:
            return 0
        model = CNN_MODEL.format(scratch=scratch)
        for tool, name in SCREENSHOTS:
            print(f"running   {tool}", flush=True)
            result = subprocess.run([sys.executable, str(REPO_ROOT / tool), "--model", model,
                                     "--out", str(RESOURCES / name)], capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{tool} failed (exit {result.returncode}):\n{result.stderr}", file=sys.stderr)
                return 1
            print(f"wrote     resources/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
