"""The draw-a-digit recognizer's window: a pad to draw on with the mouse, what the network saw, its guesses.

Plumbing, not the lesson (that is ``recipe.py`` and the lab itself). The
event handlers are plain methods, so tests and a run without a display can
drive them as a mouse would (``draw_sample_strokes``).
"""
import numpy as np
from PIL import Image, ImageDraw

from common import plotting  # noqa: F401  (it picks Matplotlib's backend before pyplot loads)
import matplotlib.pyplot as plt
from draw_a_digit import recipe

CANVAS_PIXELS = 280                     # The drawing is read at this size.
PEN_WIDTH = 0.06                        # Of the canvas side: a felt pen, about 17 of 280 pixels.
TOP_GUESSES = 3


def best_guess(probability_row: np.ndarray) -> str:
    """'7 (98.1%)'."""
    digit = int(np.argmax(probability_row))
    return f"{digit} ({probability_row[digit]:.1%})"


def describe(probability_row: np.ndarray) -> str:
    """'7 (98.1%); next 1 (1.2%), 9 (0.3%)'."""
    order = np.argsort(probability_row)[::-1][:TOP_GUESSES]
    others = ", ".join(f"{digit} ({probability_row[digit]:.1%})" for digit in order[1:])
    return f"{best_guess(probability_row)}; next {others}"


class DrawingPad:
    """The drawing window. Its event handlers are plain methods, so a test can drive them.

    ``recognize`` takes the drawing (grey, dark on white, CANVAS_PIXELS square)
    and returns the 28x28 image the network saw and its ten probabilities.
    """

    def __init__(self, recognize, figure=None):
        self.recognize = recognize
        self.figure = figure if figure is not None else plt.figure(figsize=(9, 5))
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
            plt.close(self.figure)

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
        except recipe.BlankImage:
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
