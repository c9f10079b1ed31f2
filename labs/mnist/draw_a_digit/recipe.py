"""Turn a picture of a handwritten digit into the 28x28 input an MNIST model expects.

MNIST's digits were made by a recipe: the digit's bounding box was scaled to
fit 20x20 pixels keeping its aspect ratio (with anti-aliasing, hence the grey
edges), then placed in a 28x28 frame so that its centre of mass sits at the
centre. A digit drawn any other way (a thin stroke in the corner of a large
white canvas, say) looks nothing like the training data until it goes
through the same recipe. ``to_mnist`` prepares a picture in seven steps;
3, 5 and 6 are MNIST's published recipe, and 1, 2, 4 and 7 are this
project's, to turn any picture into what that recipe starts from (ink as
high values on a background of 0) and what the models were trained on:

1. grey levels, with transparency flattened onto a contrasting background
2. the background found from the border and turned black, the ink white
3. cropped to the strokes' bounding box
4. strokes much thinner or bolder than MNIST's widened or narrowed
5. the longer side scaled to 20 pixels, the other in proportion
6. pasted into 28x28 with the centre of mass at the centre
7. values in [0, 1], as the models were trained (``data.scaled``)

``naive_to_mnist`` is the short recipe many tutorials use (grey, resize to
28x28, invert, stretch to [0, 1]); it is here so the two can be compared.
"""
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

from common.errors import LabError

IMAGE_SIZE = 28
DIGIT_BOX = 20
# Where MNIST puts the centre of mass, in pixel indices (row, column): the
# mean over the training set is (14.0, 14.0), with a spread of 0.3 pixels.
CENTRE_OF_MASS = (14.0, 14.0)
# Larger images are refused before they are decoded: 64 megapixels (8000 x
# 8000) already takes a quarter of a gigabyte as grey values, and no drawing
# of a digit needs it.
MAX_PIXELS = 64_000_000
# Ink fainter than this (a fraction of the strongest stroke) is treated as
# paper: grain, JPEG ringing, shadows.
INK_THRESHOLD = 0.2
# A picture whose darkest and lightest parts differ by less than this
# (on a 0-1 scale) has nothing drawn on it.
MIN_CONTRAST = 0.12
# The size (longer side, in pixels) at which stroke widths are measured.
WORKING_SIZE = 100
# Stroke width as a fraction of the digit's longer side, measured by
# ``stroke_width`` at the working size. Over 10,000 MNIST training digits
# the median is 0.12, 15% are below 0.09 and 1% above 0.24. Strokes
# outside that range (a fine pen on a big canvas, a marker on a small one)
# are widened or narrowed to 0.13; the others are left as drawn. Digits a
# little bolder than the median were read best, on drawings and on MNIST
# itself (benchmarks/recognizer.py measures both).
STROKE_RANGE = (0.09, 0.24)
STROKE_TARGET = 0.13
# Grey from red, green and blue, as ITU-R BT.601 (and Pillow's "L" mode) weighs them.
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class ImageError(LabError):
    """A file that cannot be read as an image; the message names it and says why."""


class BlankImage(ImageError):
    """An image with nothing drawn on it: reported, not guessed at."""


def read_grey(path) -> np.ndarray:
    """Read an image file as grey levels in [0, 1], shape (height, width).

    Any size, colour or grey, 8 or 16 bits; transparent parts are flattened
    onto a background that contrasts with the opaque strokes. Raises
    ``ImageError`` with one line that says what is wrong with the file.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes); save the image again")
    try:
        return _decoded(path, f"{path}: ")
    except PermissionError:
        raise ImageError(f"{path}: permission denied; check the file's permissions") from None


def decode_grey(data: bytes) -> np.ndarray:
    """``read_grey`` for an image's bytes (a PNG or JPEG sent to the web page's server, say)."""
    if not data:
        raise ImageError("the image is empty (0 bytes)")
    return _decoded(io.BytesIO(data), "")


def _decoded(source, prefix: str) -> np.ndarray:
    """Decode a file or a file-like object; problems become one-line ``ImageError``s starting ``prefix``."""
    limit = f"the limit is {MAX_PIXELS // 1_000_000} megapixels; scale it down, for example to 1000x1000"
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{prefix}{width}x{height} pixels is too large ({limit})")
            image.load()
            return _grey_levels(image)
    except Image.DecompressionBombError:
        raise ImageError(f"{prefix}the image is too large ({limit})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{prefix}not an image that Pillow can read (use PNG, JPEG or BMP)") from None
    except PermissionError:
        raise
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"{prefix}the image data is damaged or cut short ({error}); "
                         f"save or download it again") from None


def _grey_levels(image: Image.Image) -> np.ndarray:
    """An open Pillow image as float grey levels in [0, 1]."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    if image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return (values - low) / (high - low) if high > low else np.zeros_like(values)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    grey = rgba[..., :3] @ LUMINANCE
    alpha = rgba[..., 3]
    opaque = alpha > 0.5
    if opaque.all() or not opaque.any():
        return grey
    # Strokes on a transparent sheet: put them on paper they stand out from
    # (dark strokes on white, light strokes on black).
    paper = 1.0 if grey[opaque].mean() < 0.5 else 0.0
    return grey * alpha + paper * (1.0 - alpha)


def ink_of(grey) -> np.ndarray:
    """Ink as bright values on a black background, whichever way round the picture is.

    The background is the median brightness of the border (a drawing rarely
    touches all four edges); ink is how far a pixel is from it, in the
    direction away from the background. Raises ``BlankImage`` when there is
    no ink.
    """
    grey = _as_grey_array(grey)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    # Dark on light (pen on paper) or light on dark (chalk on a board, MNIST).
    ink = background - grey if background >= 0.5 else grey - background
    ink = np.clip(ink, 0.0, None)
    strongest = float(ink.max())
    if strongest < MIN_CONTRAST:
        raise BlankImage("the image is blank: no strokes stand out from the background")
    ink = ink / strongest
    ink[ink < INK_THRESHOLD] = 0.0
    return ink


def _as_grey_array(image) -> np.ndarray:
    """Accept grey (H, W) or colour (H, W, 3 or 4) arrays with values in [0, 1] or 0-255."""
    values = np.asarray(image, dtype=np.float32)
    if values.ndim == 3 and values.shape[-1] in (3, 4):
        values = values[..., :3] @ LUMINANCE
    if values.ndim != 2 or min(values.shape) < 1:
        raise ImageError(f"expected a grey or colour image, got an array of shape {values.shape}")
    if values.max() > 1.0:
        values = values / 255.0
    return values


def to_mnist(image) -> np.ndarray:
    """The MNIST recipe applied to a picture of one digit: a (28, 28) float32 array in [0, 1].

    ``image`` is a grey (H, W) or colour (H, W, 3|4) array, in [0, 1] or
    0-255, dark on light or light on dark. Raises ``BlankImage`` if nothing
    is drawn.
    """
    ink = _cropped(ink_of(image))
    # Strokes are measured, and adjusted if need be, at one working size:
    # large enough for fine steps (a pixel is 1% of the digit), small
    # enough to stay fast on a photo. Digits whose strokes need no change
    # are scaled once, from the crop, to keep them as sharp as drawn.
    working = _resized(ink, WORKING_SIZE / max(ink.shape))
    # A fine line shrunk from a large canvas is faint: back to full strength.
    adjusted = normalise_strokes(working / max(float(working.max()), 1e-6))
    if adjusted is not None:
        ink = _cropped(adjusted)
    # The longer side to 20 pixels, the other in proportion (a "1" stays thin).
    box = _resized(ink, DIGIT_BOX / max(ink.shape))
    new_height, new_width = box.shape
    if box.max() <= 0:
        raise BlankImage("the image is blank: the strokes vanish at 28x28 pixels")
    # MNIST strokes reach full brightness; thin strokes shrunk from a large
    # canvas come out faint, so stretch the brightest back to 1.
    box = np.clip(box / box.max(), 0.0, 1.0)
    # Paste so the centre of mass lands on MNIST's, staying inside the frame.
    mass = box.sum()
    centre_row = (box.sum(axis=1) @ np.arange(new_height)) / mass
    centre_column = (box.sum(axis=0) @ np.arange(new_width)) / mass
    top = int(np.clip(round(CENTRE_OF_MASS[0] - centre_row), 0, IMAGE_SIZE - new_height))
    left = int(np.clip(round(CENTRE_OF_MASS[1] - centre_column), 0, IMAGE_SIZE - new_width))
    frame = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    frame[top:top + new_height, left:left + new_width] = box
    return frame


def _cropped(ink: np.ndarray) -> np.ndarray:
    """``ink`` cut down to the bounding box of its strokes."""
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    columns = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    return ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]


def _resized(ink: np.ndarray, scale: float) -> np.ndarray:
    """``ink`` scaled by ``scale``, at least one pixel each way.

    Lanczos filtering averages over the pixels that shrink into one, so edges
    come out grey like MNIST's anti-aliased ones.
    """
    height, width = ink.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, None)


def stroke_width(ink: np.ndarray) -> float:
    """The average width of the strokes in pixels: twice the inked area over its outline.

    A stroke of length L and width w covers about L * w pixels, and about
    2 * L of them lie on its edge; so 2 * area / edge is w.
    """
    inked = ink > 0.5
    padded = np.pad(inked, 1)
    inside = (padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
              & padded[1:-1, :-2] & padded[1:-1, 2:])
    edge = int(np.sum(inked & ~inside))
    return 2.0 * float(inked.sum()) / edge if edge else 0.0


def normalise_strokes(ink: np.ndarray) -> np.ndarray:
    """Widen strokes that are much thinner than MNIST's, narrow those much thicker.

    Thickness is measured relative to the digit's size (``STROKE_RANGE``).
    Returns the adjusted ink, or None when the strokes are within MNIST's
    usual range and need no change.
    """
    longer_side = max(ink.shape)
    width = stroke_width(ink)
    if width <= 0 or STROKE_RANGE[0] <= width / longer_side <= STROKE_RANGE[1]:
        return None
    # A 3x3 maximum filter adds a pixel on each side of a stroke (2 in all),
    # a minimum filter takes one away.
    change = STROKE_TARGET * longer_side - width
    size = 2 * round(abs(change) / 2) + 1
    if size < 3:
        return None
    rank_filter = ImageFilter.MaxFilter(size) if change > 0 else ImageFilter.MinFilter(size)
    if change > 0:
        # Room for the strokes to grow at the edges of the crop.
        margin = size // 2
        ink = np.pad(ink, margin)
    filtered = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").filter(rank_filter))
    if filtered.max() <= INK_THRESHOLD:
        return None  # Narrowing would erase the digit: keep it as drawn.
    return filtered


def naive_to_mnist(image) -> np.ndarray:
    """The short recipe, for comparison: grey, resize to 28x28, invert, stretch to [0, 1].

    It assumes dark strokes on light paper filling the picture, and keeps the
    digit wherever and however large it was drawn. Raises ``BlankImage`` for
    a uniform picture (the stretch would divide by zero).
    """
    grey = _as_grey_array(image)
    small = Image.fromarray((grey * 255).astype(np.uint8)).resize((IMAGE_SIZE, IMAGE_SIZE))
    inverted = 255.0 - np.asarray(small, dtype=np.float32)
    low, high = inverted.min(), inverted.max()
    if high == low:
        raise BlankImage("the image is blank: no strokes stand out from the background")
    return ((inverted - low) / (high - low)).astype(np.float32)


def image_files(paths) -> list:
    """The files to read: each path as given, and every image file inside a folder given."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(child for child in path.iterdir()
                                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES))
        else:
            found.append(path)
    return found


def as_drawing(digit, rng, canvas_size: int = 280) -> np.ndarray:
    """Make an MNIST digit look like a person's drawing: a uint8 grey canvas, dark on white.

    The digit is enlarged to half, normal or double drawing size, its strokes
    are made thinner or thicker or left alone, and it is put anywhere on a
    ``canvas_size`` square canvas. Used to test the recognizer on digits that
    are not MNIST-ready, and to write example files.
    """
    digit = np.asarray(digit, dtype=np.uint8)
    # "Normal" is a digit half the canvas high; half and double size around it.
    frame_side = int(canvas_size / 2 * rng.choice([0.5, 1.0, 2.0]))
    enlarged = Image.fromarray(digit).resize((frame_side, frame_side), Image.Resampling.BILINEAR)
    # MNIST strokes are about 2.8 of its 28 pixels wide; widen or narrow them
    # by about a third, in proportion to the drawing's size.
    step = 2 * max(1, round(frame_side / 64)) + 1
    stroke = rng.choice(["thin", "normal", "thick"])
    if stroke == "thin":
        enlarged = enlarged.filter(ImageFilter.MinFilter(step))
    elif stroke == "thick":
        enlarged = enlarged.filter(ImageFilter.MaxFilter(step))
    ink = np.asarray(enlarged)
    rows = np.flatnonzero((ink > 40).any(axis=1))
    columns = np.flatnonzero((ink > 40).any(axis=0))
    if len(rows) == 0:  # Thinned away: keep the digit as it was.
        ink = np.asarray(Image.fromarray(digit).resize((frame_side, frame_side), Image.Resampling.BILINEAR))
        rows = np.flatnonzero((ink > 40).any(axis=1))
        columns = np.flatnonzero((ink > 40).any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    # Anywhere on the canvas, as long as the whole digit fits.
    height, width = ink.shape
    if max(height, width) > canvas_size - 4:
        shrink = (canvas_size - 4) / max(height, width)
        ink = np.asarray(Image.fromarray(ink).resize((max(1, int(width * shrink)), max(1, int(height * shrink))),
                                                     Image.Resampling.BILINEAR))
        height, width = ink.shape
    top = int(rng.integers(2, canvas_size - height - 1))
    left = int(rng.integers(2, canvas_size - width - 1))
    canvas = np.zeros((canvas_size, canvas_size), dtype=np.uint8)
    canvas[top:top + height, left:left + width] = ink
    return 255 - canvas


def save_digits(folder, images, labels, rng=None) -> list:
    """Save MNIST digits as PNG files ``<index>_digit<label>.png`` in ``folder``; returns their paths.

    With ``rng``, each is first drawn the way people draw (``as_drawing``);
    without, it is saved exactly as it is in MNIST (light on dark, 28x28).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, (image, label) in enumerate(zip(images, labels)):
        picture = as_drawing(image, rng) if rng is not None else np.asarray(image, dtype=np.uint8)
        path = folder / f"{index:05d}_digit{int(label)}.png"
        Image.fromarray(picture).save(path)
        written.append(path)
    return written
