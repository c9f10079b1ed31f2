"""Draw a digit with the mouse, or give image files, and see what the MNIST network reads.

You will learn:
- why a network that scores 99% on MNIST misreads digits people draw: every
  MNIST digit was made by one recipe (the strokes' bounding box scaled to fit
  20x20 pixels, then placed in 28x28 with its centre of mass at the centre),
  and a thin stroke in the corner of a large white canvas looks nothing like
  that until it goes through the same recipe
- the recipe itself, step by step, in draw_a_digit/recipe.py beside this lab:
  MNIST's own steps (cropped, scaled into 20x20, centred by its centre of
  mass) and the ones this project adds so that any picture fits them (grey
  levels, ink found against the paper, strokes as wide as MNIST's, values in
  [0, 1]), against the short recipe of many tutorials (grey, resize, invert)
- how to load a saved Keras model and predict with it
- softmax probabilities: how sure the network is, and what its next guesses are
- with --web, how a model is served: a local web page to draw on, and a small
  JSON API that answers with the digit, the probabilities and the 28x28 image

The network is the one labs/mnist/_02_cnn.py trains and saves; with none
there, this lab says so and can train it for you (--train-if-missing). The
drawing window is in draw_a_digit/pad.py, the web page and its server in
draw_a_digit/page/ and draw_a_digit/web.py.

Run:      python labs/mnist/_04_draw_a_digit.py
          (a window: drag to draw, Enter recognizes, Backspace clears, Escape quits)
          python labs/mnist/_04_draw_a_digit.py --image my_digit.png other.jpg some_folder
          python labs/mnist/_04_draw_a_digit.py --web
          (a page at http://127.0.0.1:8000/ to draw on with a mouse, a finger or
          a pen; works over SSH and without a desktop too)
Expected: the window shows the 28x28 image the network saw and its three best
          guesses with their probabilities. With --image: one line per file
          (file: digit (probability)) and recognized.png; a file that cannot
          be read gets one line on stderr, the others go on, and the exit
          status is 2. With --web: "Serving on http://..." and a browser tab,
          where there is a display; Ctrl-C stops the server.
Try:      --examples my_digits --image my_digits writes ten digits drawn the
          way people draw them and reads them; then --image my_digits --naive
          reads them with the short recipe of many tutorials (grey, resize,
          invert): compare (chapter 5, exercise 5.7).
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import cli, evaluation, paths, plotting  # Before TensorFlow: it starts TensorFlow quietly.
import matplotlib.pyplot as plt  # After common.plotting, which picks the backend.
import keras
import numpy as np

from common.errors import LabError
from draw_a_digit import pad as drawing, recipe, web  # This lab's own parts, in labs/mnist/draw_a_digit/

CNN_LAB = paths.LABS_DIR / "mnist" / "_02_cnn.py"
MODEL_FILE = paths.MNIST_CNN_FILE        # What the CNN lab saves.
DEFAULT_MODEL = paths.OUTPUTS_DIR / "mnist" / "_02_cnn" / MODEL_FILE
MAX_SHOWN = 30                          # Files drawn in recognized.png.
WEB_HOST = "127.0.0.1"                  # --web listens here: this computer only.
WEB_PORT = 8000
FIGURES = ("recognized.png", "drawing_window.png")


def add_arguments(parser):
    parser.add_argument("--image", nargs="+", type=Path, metavar="PATH",
                        help="recognize these image files (PNG, JPEG, BMP, ...) or every image in a folder")
    parser.add_argument("--model", type=Path, default=None, metavar="PATH",
                        help=f"the saved Keras model to use (default: the MNIST CNN lab's, "
                             f"{DEFAULT_MODEL.relative_to(paths.REPO_ROOT).as_posix()})")
    parser.add_argument("--train-if-missing", action="store_true",
                        help="train the MNIST CNN first if there is no saved model (about a minute on a CPU)")
    parser.add_argument("--naive", action="store_true",
                        help="use the short recipe (grey, resize, invert, stretch) instead of MNIST's")
    parser.add_argument("--examples", type=Path, metavar="DIR",
                        help="write ten MNIST test digits, drawn the way people draw, into DIR as PNG files")
    parser.add_argument("--web", action="store_true",
                        help="serve a page to draw on in a web browser, instead of the window")
    parser.add_argument("--port", type=port_number, default=WEB_PORT,
                        help=f"with --web: the port to serve on; 0 picks a free one (default: {WEB_PORT})")
    parser.add_argument("--host", default=WEB_HOST,
                        help=f"with --web: the address to listen on; only this computer can reach the default, "
                             f"0.0.0.0 opens it to the network (default: {WEB_HOST})")
    parser.add_argument("--no-browser", action="store_true", help="with --web: do not open a browser")


def port_number(text: str) -> int:
    """A TCP port for argparse: 0 (a free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number; give 0 to 65535") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number; give 0 to 65535")
    return value


# --- The model ---------------------------------------------------------------

def train_cnn(model_path: Path, args) -> None:
    """Run the MNIST CNN lab, which saves its model as mnist_cnn.keras in its --out folder."""
    out = model_path.parent
    command = [sys.executable, str(CNN_LAB), "--out", str(out), "--device", args.device, "--seed", str(args.seed)]
    if args.smoke:
        command.append("--smoke")
    print(f"Training the MNIST CNN: {' '.join(command[1:])}", flush=True)
    # Its output (a progress bar on a terminal) goes straight to the user.
    finished = subprocess.run(command)
    if finished.returncode != 0:
        raise LabError(f"training the MNIST CNN failed (exit {finished.returncode}); "
                       f"run python {CNN_LAB.relative_to(paths.REPO_ROOT).as_posix()} to see why")
    if model_path.name != MODEL_FILE:
        (out / MODEL_FILE).replace(model_path)


def ask_to_train(model_path: Path) -> bool:
    """On a terminal, offer to train the missing model; elsewhere never wait for an answer."""
    if not sys.stdin.isatty():
        return False
    answer = input(f"No trained model at {model_path}. Train the MNIST CNN now (about a minute)? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def load_model(args):
    model_path = args.model or DEFAULT_MODEL
    if not model_path.is_file():
        if args.train_if_missing or ask_to_train(model_path):
            train_cnn(model_path, args)
        else:
            raise LabError(f"no trained model at {model_path}; train it with python "
                           f"{CNN_LAB.relative_to(paths.REPO_ROOT).as_posix()} (about a minute), "
                           f"or add --train-if-missing, or give --model PATH")
    try:
        model = keras.models.load_model(model_path)
    except Exception as error:  # Keras reports a bad file with many exception types.
        raise LabError(f"cannot load the model {model_path} ({type(error).__name__}: {error}); "
                       f"train it again or give another with --model") from None
    inputs = model.input_shape[1:]
    if int(np.prod(inputs)) != recipe.IMAGE_SIZE ** 2 or model.output_shape[-1] != 10:
        raise LabError(f"the model {model_path} takes {inputs} and gives {model.output_shape[1:]}; "
                       f"this lab needs a 28x28 image in and 10 digit scores out")
    print(f"Model: {model_path}")
    return model


def recognizer(model, prepare=recipe.to_mnist):
    """What the window, --image and the web page all call: a picture in, (the 28x28 image, 10 probabilities) out."""

    def recognize(image):
        seen = prepare(image)
        return seen, evaluation.probabilities(model, seen[np.newaxis])[0]

    return recognize


# --- Image files ---------------------------------------------------------------

def recognize_files(model, paths_given, prepare, out: Path) -> dict:
    """One line per file on stdout, one per problem on stderr; returns what was read."""
    names, prepared, failed = [], [], []
    for path in recipe.image_files(paths_given):
        try:
            prepared.append(prepare(recipe.read_grey(path)))
            names.append(path)
        except recipe.BlankImage as problem:
            failed.append(path)
            print(f"{path}: {problem}", file=sys.stderr)
        except recipe.ImageError as problem:
            failed.append(path)
            print(problem, file=sys.stderr)
    results = []
    if prepared:
        probability_rows = evaluation.probabilities(model, np.stack(prepared))
        for path, row in zip(names, probability_rows):
            digit = int(np.argmax(row))
            results.append((path, digit, float(row[digit])))
            print(f"{path}: {digit} ({row[digit]:.1%})")
        plotting.save_figure(recognized_figure(names, prepared, probability_rows), out, FIGURES[0])
    return {"results": results, "failed": failed}


def recognized_figure(names, prepared, probability_rows):
    """What the network saw for each file, with its answer."""
    count = min(len(prepared), MAX_SHOWN)
    columns = min(count, 6)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2.4 * rows), squeeze=False,
                                      layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, name, image, row in zip(axes.flat, names, prepared, probability_rows):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        digit = int(np.argmax(row))
        ax.set_title(f"{Path(name).name[:18]}\n{digit} ({row[digit]:.0%})", fontsize=9)
    shown = f" (the first {count} of {len(prepared)})" if count < len(prepared) else ""
    fig.suptitle(f"What the network saw, and its answer{shown}")
    return fig


def write_examples(folder: Path, seed: int) -> list:
    """Ten MNIST test digits, one of each, drawn the way people draw: dark on white, anywhere, any size."""
    from common import data

    _, (test_images, test_labels) = data.load_mnist()
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(test_labels == digit)) for digit in range(10)]
    try:
        written = recipe.save_digits(folder, test_images[chosen], test_labels[chosen], rng=rng)
    except OSError as error:
        raise LabError(f"cannot write to the folder {folder} ({error.strerror}); choose another") from None
    print(f"Wrote {len(written)} example drawings to {folder}; try: --image {folder}")
    return written


# --- The lab -------------------------------------------------------------------

def main(args) -> dict:
    if args.examples is not None:
        written = write_examples(args.examples, args.seed)
        if args.image is None:
            return {"examples": written}
    if args.web and args.image is not None:
        raise LabError("--web serves a page to draw on and --image reads files; use one of them")
    windows = args.image is None and not args.web and not args.smoke and plotting.use_windows()
    if args.image is None and not args.web and not args.smoke and not windows:
        raise LabError("no display to draw on; recognize image files instead with --image PATH "
                       "(files or a folder; --examples DIR writes some to try)")

    smoke_folder = tempfile.mkdtemp() if args.smoke else None
    try:
        if args.smoke and args.model is None and not DEFAULT_MODEL.is_file():
            # A seconds-long model in a scratch folder, so a smoke run needs nothing prepared.
            args.model, args.train_if_missing = Path(smoke_folder) / "model" / MODEL_FILE, True
        model = load_model(args)
        prepare = recipe.naive_to_mnist if args.naive else recipe.to_mnist
        print(f"Preparing images with {'the short recipe' if args.naive else 'the MNIST recipe'}.")
        recognize = recognizer(model, prepare)

        if args.web:
            open_browser = not args.no_browser and not args.smoke and plotting.display_available()
            if args.smoke:   # Serve, answer one drawing of its own, stop: seconds, like every smoke run.
                return {"web": web.check(recognize, args.host, args.port)}
            return {"web": web.serve(recognize, args.host, args.port, open_browser)}
        if windows:
            pad = drawing.DrawingPad(recognize)
            print("Draw a digit in the window: Enter reads it, Backspace clears, Escape or closing quits.")
            plotting.interact()
            return {"answer": pad.answer}
        image_paths = args.image
        if args.smoke and image_paths is None:
            image_paths = [Path(smoke_folder) / "examples"]
            write_examples(image_paths[0], args.seed)
        outcome = recognize_files(model, image_paths, prepare, args.out)
        if args.smoke:
            pad = drawing.DrawingPad(recognize)
            drawing.draw_sample_strokes(pad)
            plotting.save_figure(pad.figure, args.out, FIGURES[1])
            outcome["drawn_answer"] = pad.answer
    finally:
        if smoke_folder is not None:
            shutil.rmtree(smoke_folder, ignore_errors=True)
    if outcome["failed"]:
        read = len(outcome["results"])
        raise LabError(f"{len(outcome['failed'])} of {read + len(outcome['failed'])} files could not be "
                       f"recognized (see the lines above)")
    if not outcome["results"]:
        raise LabError("no image files found; give files, or a folder with .png, .jpg or .bmp files in it")
    return outcome


if __name__ == "__main__":
    cli.run_lab(main, __doc__, add_arguments)
