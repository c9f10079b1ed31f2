"""Figures: always saved as PNG under ``--out``; shown only with ``--show`` on a display.

Nothing here blocks or needs a screen: without a display Matplotlib draws
with its file-only ``Agg`` backend, and windows open (once, at the end of a
run) only when the user asked for them with ``--show``.

Text a user gave (a file name in Chinese, say) is drawn with an installed
font that has its characters when Matplotlib's own font lacks them; where no
such font is installed the characters come out as boxes, without a warning
per character on the terminal.
"""
import contextlib
import functools
import os
import re
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np


def display_available() -> bool:
    """Whether windows can open: always on Windows and macOS, else when X11 or Wayland is there."""
    if sys.platform.startswith("win") or sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


if not display_available():
    # Chosen before pyplot loads, so no interactive backend is ever tried.
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib import font_manager  # noqa: E402
from matplotlib.text import Text  # noqa: E402

_showing = False


def configure(show: bool) -> bool:
    """Set up for one run; returns whether figures will be shown in windows."""
    global _showing
    if show and not display_available():
        print("--show ignored: no display found; the figures are saved as PNG files.", file=sys.stderr)
        show = False
    if not show:
        matplotlib.use("Agg", force=True)
    _showing = show
    return show


# Backends that only write files; any other one opens windows.
_FILE_ONLY_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def use_windows() -> bool:
    """Switch to the window toolkit Matplotlib would pick here (Tk, Qt, macOS, ...).

    For labs that are interactive by nature (drawing with the mouse), not
    for figures, which ``--show`` covers. Returns False, and keeps saving to
    files, when there is no display or no toolkit.
    """
    if not display_available():
        return False
    # The user's choice (MPLBACKEND or matplotlibrc), else Matplotlib's own pick.
    wanted = os.environ.get("MPLBACKEND") or matplotlib.rcParamsOrig["backend"]
    try:
        plt.switch_backend(wanted)
    except (ImportError, RuntimeError, ValueError):
        return False
    return matplotlib.get_backend().lower() not in _FILE_ONLY_BACKENDS


def interact() -> None:
    """Hand the open windows to the user and wait until they close them.

    For interactive labs, after ``use_windows()`` returned True; the only
    place a lab waits for a window. Without a window toolkit it returns at once.
    """
    if matplotlib.get_backend().lower() not in _FILE_ONLY_BACKENDS and plt.get_fignums():
        _show_all()


def _relative_to_cwd(path: Path) -> str:
    """The shortest way to name ``path`` from where the user stands."""
    cwd = Path.cwd().resolve()
    if cwd == Path(cwd.anchor):
        return str(path)  # From the root of the file system, a full path reads better.
    try:
        return path.resolve().relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def save_figure(fig, out_dir, filename: str) -> Path:
    """Save ``fig`` as ``out_dir/filename`` (PNG), say where, and return the path."""
    path = Path(out_dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    legible(fig)
    with _no_glyph_warnings():
        fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"Figure saved: {_relative_to_cwd(path)}")
    from common import notebook

    if notebook.lab_file() is not None:
        notebook.show_image(path)
    if not _showing:
        plt.close(fig)
    return path


def show() -> None:
    """Open the run's figures in windows if ``--show`` was given; otherwise do nothing."""
    if _showing and plt.get_fignums():
        _show_all()


def _show_all() -> None:
    for number in plt.get_fignums():
        legible(plt.figure(number))
    with _no_glyph_warnings():
        plt.show()


# Families that draw Chinese (most of them Japanese and Korean too) on common
# systems, best first: Linux, Windows, macOS, then any system.
FALLBACK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "Droid Sans Fallback", "Microsoft YaHei", "SimHei", "DengXian", "PingFang SC", "Hiragino Sans GB",
    "Heiti SC", "STHeiti", "Noto Sans CJK JP", "Noto Sans CJK KR", "Arial Unicode MS",
)
# File names of those fonts, for fonts installed after Matplotlib made its list.
_FALLBACK_FILES = re.compile(r"notosanscjk|notosanssc|sourcehansans|wqy|droidsansfallback|msyh|simhei|deng|"
                             r"pingfang|hiragino|stheiti|arialuni", re.IGNORECASE)


@contextlib.contextmanager
def _no_glyph_warnings():
    """Silence Matplotlib's warning for each character its fonts lack (they are drawn as boxes)."""
    with warnings.catch_warnings():
        # Matplotlib 3.8 says "missing from current font", later ones "missing from font(s) ...".
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        yield


@functools.lru_cache(maxsize=None)
def _charmap(path: str) -> frozenset:
    """The characters (as code points) the font file at ``path`` can draw."""
    try:
        return frozenset(font_manager.get_font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


def _installed_fallbacks():
    """(family, file) of each installed font from FALLBACK_FAMILIES, in that order."""
    found = {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}
    return [(family, found[family]) for family in FALLBACK_FAMILIES if family in found]


@functools.lru_cache(maxsize=None)
def fallback_family(characters: frozenset):
    """An installed font family that draws every one of ``characters`` (code points), or None."""
    for scan in (False, True):
        if scan:
            # Fonts installed after Matplotlib listed the system's fonts: add those that may help.
            known = {entry.fname for entry in font_manager.fontManager.ttflist}
            for path in font_manager.findSystemFonts():
                if path not in known and _FALLBACK_FILES.search(Path(path).name):
                    with contextlib.suppress(Exception):
                        font_manager.fontManager.addfont(path)
        for family, path in _installed_fallbacks():
            if characters <= _charmap(path):
                return family
    return None


def _missing_characters(text: Text) -> frozenset:
    """The code points in ``text`` that the first font of its family cannot draw."""
    codes = {ord(char) for char in text.get_text() if not char.isspace()}
    if not codes or max(codes) < 0x250:  # Latin, which every font Matplotlib ships draws
        return frozenset()
    path = font_manager.findfont(text.get_fontproperties())
    return frozenset(codes - _charmap(path))


def legible(fig):
    """Let ``fig``'s texts draw characters their font lacks with an installed font that has them.

    Returns the family added (None when nothing was missing or no installed
    font has the characters; they are then drawn as boxes).
    """
    needy = [(text, _missing_characters(text)) for text in fig.findobj(Text)]
    needy = [(text, missing) for text, missing in needy if missing]
    if not needy:
        return None
    family = fallback_family(frozenset().union(*(missing for _, missing in needy)))
    if family is None:
        return None
    for text, _ in needy:
        families = list(text.get_fontfamily())
        if family not in families:
            # Matplotlib 3.6 and later take each character from the first family that has it.
            text.set_fontfamily(families + [family])
    return family


def plot_two_classes(ax, points, targets, names=("target +1", "target -1")) -> None:
    """Scatter 2-D ``points`` (N, 2) coloured by their ``targets`` (+1 or -1)."""
    points = np.asarray(points, dtype=float)
    targets = np.asarray(targets).reshape(-1)
    positive, negative = points[targets > 0], points[targets <= 0]
    style = {"s": 70, "edgecolors": "black", "linewidths": 0.8, "zorder": 3}
    ax.scatter(positive[:, 0], positive[:, 1], c="tab:orange", marker="o", label=names[0], **style)
    ax.scatter(negative[:, 0], negative[:, 1], c="tab:blue", marker="s", label=names[1], **style)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def plot_decision_line(ax, weights, x1_limits, **style) -> None:
    """Draw the line ``w0 + w1*x1 + w2*x2 = 0`` across ``x1_limits``.

    ``weights`` holds (w0, w1, w2), the bias weight first. A line with w2 = 0
    is vertical; with w1 = w2 = 0 there is no line to draw.
    """
    w0, w1, w2 = np.asarray(weights, dtype=float).reshape(-1)[:3]
    if abs(w2) > 1e-12:
        x1 = np.linspace(*x1_limits, 200)
        ax.plot(x1, -(w0 + w1 * x1) / w2, **style)
    elif abs(w1) > 1e-12:
        ax.axvline(-w0 / w1, **style)


def first_image(image, title: str):
    """One image with a colour bar showing its pixel values; returns the figure."""
    fig, ax = plt.subplots(figsize=(4.5, 4))
    shown = ax.imshow(image, cmap="gray_r")
    fig.colorbar(shown, ax=ax)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def image_grid(images, labels, class_names, predicted=None, rows: int = 5, cols: int = 5, title=None):
    """A rows x cols grid of images captioned with their class names; returns the figure.

    With ``predicted``, each caption reads "predicted (true)" and is red where
    the two differ.
    """
    fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 2.0 * rows))
    for index, ax in enumerate(np.ravel(axes)):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= len(images):
            ax.axis("off")
            continue
        ax.imshow(images[index], cmap="gray_r")
        true_name = class_names[int(labels[index])]
        if predicted is None:
            ax.set_xlabel(true_name, fontsize=9)
        else:
            guess = int(predicted[index])
            wrong = guess != int(labels[index])
            ax.set_xlabel(f"{class_names[guess]} ({true_name})", fontsize=9,
                          color="red" if wrong else "black")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def training_curves(history: dict, title: str):
    """Loss and accuracy per epoch, training and validation side by side; returns the figure."""
    fig, (ax_loss, ax_accuracy) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in ((ax_loss, "loss"), (ax_accuracy, "accuracy")):
        for prefix, label, style in (("", "training", "o-"), ("val_", "validation", "s--")):
            values = history.get(prefix + metric)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(true_labels, predicted_labels, class_names, title: str):
    """Counts of each (true, predicted) pair, the diagonal being the right answers; returns the figure."""
    count = len(class_names)
    matrix = np.zeros((count, count), dtype=int)
    np.add.at(matrix, (np.asarray(true_labels, dtype=int), np.asarray(predicted_labels, dtype=int)), 1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    shown = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(shown, ax=ax)
    for row in range(count):
        for col in range(count):
            ax.text(col, row, matrix[row, col], ha="center", va="center", fontsize=8,
                    color="white" if matrix[row, col] > matrix.max() / 2 else "black")
    ax.set_xticks(range(count), class_names, rotation=45, ha="right")
    ax.set_yticks(range(count), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig
