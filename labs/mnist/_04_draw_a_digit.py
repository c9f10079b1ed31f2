"""Draw a digit with the mouse, or give image files, and see what the MNIST network reads.

You will learn:
- why a network that scores 99% on MNIST misreads digits people draw, and
  the recipe that fixes it: MNIST's own (crop, fit into 20x20, centre the
  centre of mass in 28x28), applied by common/digits.py
- how to load a saved Keras model and predict with it
- softmax probabilities: how sure the network is, and what its next guesses are

The network is the one labs/mnist/_02_cnn.py trains and saves; with none
there, this lab says so and can train it for you (--train-if-missing).

Run:      python labs/mnist/_04_draw_a_digit.py
          (a window: drag to draw, Enter recognizes, Backspace clears, Escape quits)
          python labs/mnist/_04_draw_a_digit.py --image my_digit.png other.jpg some_folder
Expected: the window shows the 28x28 image the network saw and its three best
          guesses with their probabilities. With --image: one line per file
          (file: digit (probability)) and recognized.png; a file that cannot
          be read gets one line on stderr, the others go on, and the exit
          status is 2.
Try:      --examples DIR writes ten digits drawn the way people draw them;
          recognize them with --image DIR, then again with --naive, the short
          recipe of many tutorials (grey, resize, invert), and compare.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import cli, digits, paths, plotting, training  # Before TensorFlow: it starts TensorFlow quietly.
import keras
import numpy as np
from PIL import Image, ImageDraw

from common.errors import LabError

CNN_LAB = paths.LABS_DIR / "mnist" / "_02_cnn.py"
MODEL_FILE = "mnist_cnn.keras"          # The name the CNN lab saves under.
DEFAULT_MODEL = paths.OUTPUTS_DIR / "mnist" / "_02_cnn" / MODEL_FILE
CANVAS_PIXELS = 280                     # The drawing is read at this size.
PEN_WIDTH = 0.06                        # Of the canvas side: a felt pen, about 17 of 280 pixels.
TOP_GUESSES = 3
MAX_SHOWN = 30                          # Files drawn in recognized.png.
FIGURES = ("recognized.png", "drawing_window.png")


def add_arguments(parser):
    parser.add_argument("--image", nargs="+", type=Path, metavar="PATH",
                        help="recognize these image files (PNG, JPEG, BMP, ...) or every image in a folder")
    parser.add_argument("--model", type=Path, default=None, metavar="PATH",
                        help=f"the saved Keras model to use (default: the MNIST CNN lab's, "
                             f"{DEFAULT_MODEL.relative_to(paths.REPO_ROOT).as_posix()})")
    parser.add_argument("--train-if-missing", action="store_true",
                        help="train the MNIST CNN first if there is no saved model (about 3 minutes on a CPU)")
    parser.add_argument("--naive", action="store_true",
                        help="use the short recipe (grey, resize, invert, stretch) instead of MNIST's")
    parser.add_argument("--examples", type=Path, metavar="DIR",
                        help="write ten MNIST test digits, drawn the way people draw, into DIR as PNG files")


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
    answer = input(f"No trained model at {model_path}. Train the MNIST CNN now (about 3 minutes)? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def load_model(args):
    model_path = args.model or DEFAULT_MODEL
    if not model_path.is_file():
        if args.train_if_missing or ask_to_train(model_path):
            train_cnn(model_path, args)
        else:
            raise LabError(f"no trained model at {model_path}; train it with python "
                           f"{CNN_LAB.relative_to(paths.REPO_ROOT).as_posix()} (about 3 minutes), "
                           f"or add --train-if-missing, or give --model PATH")
    try:
        model = keras.models.load_model(model_path)
    except Exception as error:  # Keras reports a bad file with many exception types.
        raise LabError(f"cannot load the model {model_path} ({type(error).__name__}: {error}); "
                       f"train it again or give another with --model") from None
    inputs = model.input_shape[1:]
    if int(np.prod(inputs)) != digits.IMAGE_SIZE ** 2 or model.output_shape[-1] != 10:
        raise LabError(f"the model {model_path} takes {inputs} and gives {model.output_shape[1:]}; "
                       f"this lab needs a 28x28 image in and 10 digit scores out")
    print(f"Model: {model_path}")
    return model


def best_guess(probability_row: np.ndarray) -> str:
    """'7 (98.1%)'."""
    digit = int(np.argmax(probability_row))
    return f"{digit} ({probability_row[digit]:.1%})"


def describe(probability_row: np.ndarray) -> str:
    """'7 (98.1%); next 1 (1.2%), 9 (0.3%)'."""
    order = np.argsort(probability_row)[::-1][:TOP_GUESSES]
    others = ", ".join(f"{digit} ({probability_row[digit]:.1%})" for digit in order[1:])
    return f"{best_guess(probability_row)}; next {others}"


# --- Image files ---------------------------------------------------------------

def recognize_files(model, paths_given, prepare, out: Path) -> dict:
    """One line per file on stdout, one per problem on stderr; returns what was read."""
    names, prepared, failed = [], [], []
    for path in digits.image_files(paths_given):
        try:
            prepared.append(prepare(digits.read_grey(path)))
            names.append(path)
        except digits.BlankImage as problem:
            failed.append(path)
            print(f"{path}: {problem}", file=sys.stderr)
        except digits.ImageError as problem:
            failed.append(path)
            print(problem, file=sys.stderr)
    results = []
    if prepared:
        probability_rows = training.probabilities(model, np.stack(prepared))
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
    fig, axes = plotting.plt.subplots(rows, columns, figsize=(2 * columns, 2.4 * rows), squeeze=False,
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
        written = digits.save_digits(folder, test_images[chosen], test_labels[chosen], rng=rng)
    except OSError as error:
        raise LabError(f"cannot write to the folder {folder} ({error.strerror}); choose another") from None
    print(f"Wrote {len(written)} example drawings to {folder}; try: --image {folder}")
    return written


# --- The drawing window --------------------------------------------------------

class DrawingPad:
    """The drawing window. Its event handlers are plain methods, so a test can drive them.

    ``recognize`` takes the drawing (grey, dark on white, CANVAS_PIXELS square)
    and returns the 28x28 image the network saw and its ten probabilities.
    """

    def __init__(self, recognize, figure=None):
        self.recognize = recognize
        self.figure = figure if figure is not None else plotting.plt.figure(figsize=(9, 5))
        grid = self.figure.add_gridspec(2, 2, width_ratios=(1.7, 1))
        self.pad = self.figure.add_subplot(grid[:, 0])
        self.seen = self.figure.add_subplot(grid[0, 1])
        self.chart = self.figure.add_subplot(grid[1, 1])
        self.figure.suptitle("Drag to draw; Enter reads the digit, Backspace clears, Escape quits")
        self.strokes = []            # Each stroke a list of (x, y) points, both in 0..1.
        self.drawing = False
        self.answer = None           # The last digit recognized, or None.
        canvas = self.figure.canvas
        canvas.mpl_connect("button_press_event", self.on_press)
        canvas.mpl_connect("motion_notify_event", self.on_move)
        canvas.mpl_connect("button_release_event", self.on_release)
        canvas.mpl_connect("key_press_event", self.on_key)
        self.clear()

    # Events.
    def on_press(self, event):
        if event.inaxes is not self.pad or event.button != 1:
            return
        self.drawing = True
        self.strokes.append([(event.xdata, event.ydata)])
        self.pad.plot([event.xdata], [event.ydata], color="black", linewidth=self._pen_points(),
                      solid_capstyle="round", solid_joinstyle="round")
        self.figure.canvas.draw_idle()

    def on_move(self, event):
        if not self.drawing or event.inaxes is not self.pad:
            return
        stroke = self.strokes[-1]
        stroke.append((event.xdata, event.ydata))
        self.pad.lines[-1].set_data(*zip(*stroke))
        self.figure.canvas.draw_idle()

    def on_release(self, event):
        self.drawing = False

    def on_key(self, event):
        if event.key == "enter":
            self.recognize_drawing()
        elif event.key == "backspace":
            self.clear()
        elif event.key == "escape":
            plotting.plt.close(self.figure)

    # Actions.
    def clear(self):
        self.strokes, self.drawing, self.answer = [], False, None
        self.pad.clear()
        self.pad.set(xlim=(0, 1), ylim=(0, 1), xticks=[], yticks=[], aspect="equal", title="Draw a digit here")
        self._show_answer(None, None, "Nothing read yet")
        self.figure.canvas.draw_idle()

    def recognize_drawing(self):
        """Read the drawing; returns the digit, or None for an empty canvas."""
        try:
            seen, probability_row = self.recognize(self.canvas_image())
        except digits.BlankImage:
            self.answer = None
            self._show_answer(None, None, "The canvas is empty:\ndrag with the mouse to draw")
            print("The canvas is empty: draw a digit first.")
        else:
            self.answer = int(np.argmax(probability_row))
            self._show_answer(seen, probability_row, f"It reads {best_guess(probability_row)}")
            print(f"Recognized: {describe(probability_row)}")
        self.figure.canvas.draw_idle()
        return self.answer

    def canvas_image(self) -> np.ndarray:
        """The strokes drawn so far as a grey image, dark on white, (CANVAS_PIXELS, CANVAS_PIXELS)."""
        image = Image.new("L", (CANVAS_PIXELS, CANVAS_PIXELS), 255)
        pen = ImageDraw.Draw(image)
        width = round(PEN_WIDTH * CANVAS_PIXELS)
        for stroke in self.strokes:
            # Data y grows upwards, image rows downwards.
            points = [(x * CANVAS_PIXELS, (1 - y) * CANVAS_PIXELS) for x, y in stroke]
            if len(points) > 1:
                pen.line(points, fill=0, width=width, joint="curve")
            for x, y in (points[0], points[-1]):  # Round ends, as the pen on screen.
                pen.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=0)
        return np.asarray(image)

    def _pen_points(self) -> float:
        """The on-screen pen width, in points, that matches PEN_WIDTH of the drawing area."""
        return PEN_WIDTH * self.pad.bbox.height * 72 / self.figure.dpi

    def _show_answer(self, seen, probability_row, headline):
        self.seen.clear()
        self.seen.set(xticks=[], yticks=[], title="What the network sees (28x28)")
        self.seen.imshow(seen if seen is not None else np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1)
        self.chart.clear()
        self.chart.set(xticks=range(10), ylim=(0, 1), ylabel="probability", title=headline)
        if probability_row is not None:
            bars = self.chart.bar(range(10), probability_row, color="lightgray")
            for rank, digit in enumerate(np.argsort(probability_row)[::-1][:TOP_GUESSES]):
                bars[digit].set_color(("tab:green", "tab:orange", "tab:red")[rank])
                self.chart.annotate(f"{probability_row[digit]:.0%}", (digit, probability_row[digit]),
                                    ha="center", va="bottom", fontsize=8)


def draw_sample_strokes(pad: DrawingPad) -> None:
    """Draw a '7' through the same event handlers a mouse would call (for runs without a display)."""
    from matplotlib.backend_bases import KeyEvent, MouseEvent

    pad.figure.canvas.draw()
    to_pixels = pad.pad.transData.transform
    for stroke in [[(0.3, 0.8), (0.5, 0.8), (0.7, 0.8)], [(0.7, 0.8), (0.6, 0.5), (0.45, 0.2)]]:
        x, y = to_pixels(stroke[0])
        pad.on_press(MouseEvent("button_press_event", pad.figure.canvas, x, y, button=1))
        for point in stroke[1:]:
            x, y = to_pixels(point)
            pad.on_move(MouseEvent("motion_notify_event", pad.figure.canvas, x, y, button=1))
        pad.on_release(MouseEvent("button_release_event", pad.figure.canvas, x, y, button=1))
    pad.on_key(KeyEvent("key_press_event", pad.figure.canvas, "enter"))


# --- The lab -------------------------------------------------------------------

def main(args) -> dict:
    if args.examples is not None:
        written = write_examples(args.examples, args.seed)
        if args.image is None:
            return {"examples": written}
    windows = args.image is None and not args.smoke and plotting.use_windows()
    if args.image is None and not args.smoke and not windows:
        raise LabError("no display to draw on; recognize image files instead with --image PATH "
                       "(files or a folder; --examples DIR writes some to try)")

    smoke_folder = tempfile.mkdtemp() if args.smoke else None
    try:
        if args.smoke and args.model is None and not DEFAULT_MODEL.is_file():
            # A seconds-long model in a scratch folder, so a smoke run needs nothing prepared.
            args.model, args.train_if_missing = Path(smoke_folder) / "model" / MODEL_FILE, True
        model = load_model(args)
        prepare = digits.naive_to_mnist if args.naive else digits.to_mnist
        print(f"Preparing images with {'the short recipe' if args.naive else 'the MNIST recipe'}.")

        def recognize(image):
            seen = prepare(image)
            return seen, training.probabilities(model, seen[np.newaxis])[0]

        if windows:
            pad = DrawingPad(recognize)
            print("Draw a digit in the window: Enter reads it, Backspace clears, Escape or closing quits.")
            plotting.interact()
            return {"answer": pad.answer}
        image_paths = args.image
        if args.smoke and image_paths is None:
            image_paths = [Path(smoke_folder) / "examples"]
            write_examples(image_paths[0], args.seed)
        outcome = recognize_files(model, image_paths, prepare, args.out)
        if args.smoke:
            pad = DrawingPad(recognize)
            draw_sample_strokes(pad)
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
