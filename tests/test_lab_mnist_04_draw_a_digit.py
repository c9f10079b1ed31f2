"""The draw-a-digit recognizer: the MNIST recipe, image files good and bad, the drawing window."""
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from common import data, evaluation, paths
from labtools import load_lab, needs_the_trained_model, run_in_process, run_script, uses_the_smoke_model

LAB = "labs/mnist/_04_draw_a_digit.py"
recipe = load_lab(LAB).recipe  # labs/mnist/draw_a_digit/recipe.py, the lesson beside the lab
ANSWER_LINE = re.compile(r"^(?P<path>.+): (?P<digit>\d) \((?P<probability>[\d.]+)%\)$")


@pytest.fixture(scope="module")
def mnist_test():
    return data.load_mnist()[1]


def answers_of(stdout: str) -> dict:
    """{file name: digit} from the recognizer's lines."""
    answers = {}
    for line in stdout.splitlines():
        match = ANSWER_LINE.match(line)
        if match:
            answers[match["path"].replace("\\", "/").rsplit("/", 1)[-1]] = int(match["digit"])
    return answers


def recognize(*argv, cwd):
    """Run the recognizer on files as a new process; returns (process, {file name: digit})."""
    result = run_script(LAB, *argv, cwd=cwd, timeout=600)
    return result, answers_of(result.stdout)


def recognize_here(out, *argv):
    """Run the recognizer on files in this process; returns (run, {file name: digit})."""
    run = run_in_process(LAB, out, *argv)
    return run, answers_of(run.stdout)


def accuracy(answers: dict, paths) -> float:
    """The share of files whose name (``..._digit<label>.png``) matches the answer."""
    right = sum(answers.get(path.name) == int(path.stem[-1]) for path in paths)
    return right / len(paths)


def centre_of_mass(image):
    rows, columns = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (columns * image).sum() / image.sum()


# --- The recipe ------------------------------------------------------------------

def test_mnist_digits_come_through_the_recipe_almost_unchanged(mnist_test):
    images, _ = mnist_test
    unchanged = 0
    for image in images[:200]:
        prepared = recipe.to_mnist(image)
        assert prepared.shape == (28, 28) and prepared.dtype == np.float32
        assert 0.0 <= prepared.min() and prepared.max() == pytest.approx(1.0)
        # The same digit, at most a pixel away: compare after the best small shift.
        original = image / 255.0
        shifted = [np.roll(prepared, (dy, dx), axis=(0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert max(np.corrcoef(candidate.ravel(), original.ravel())[0, 1] for candidate in shifted) > 0.7
        unchanged += min(np.abs(candidate - original).mean() for candidate in shifted) < 0.01
    # Only digits with strokes thinner or bolder than most of MNIST's are
    # retouched (about a fifth of the test set); the others come back as they were.
    assert unchanged >= 0.7 * 200


def test_recipe_fits_the_box_and_centres_the_mass(mnist_test):
    images, _ = mnist_test
    rng = np.random.default_rng(3)
    for image in images[:50]:
        prepared = recipe.to_mnist(recipe.as_drawing(image, rng))
        inked = prepared > recipe.INK_THRESHOLD
        height = np.ptp(np.flatnonzero(inked.any(axis=1))) + 1
        width = np.ptp(np.flatnonzero(inked.any(axis=0))) + 1
        assert 18 <= max(height, width) <= 21
        row, column = centre_of_mass(prepared)
        assert abs(row - 14.0) <= 1.0 and abs(column - 14.0) <= 1.0


def test_position_size_and_colours_do_not_change_what_the_network_sees(mnist_test):
    images, _ = mnist_test
    digit = images[0]
    reference = recipe.to_mnist(digit)

    def drawn(side, top, left, dark_on_light=True, canvas=400):
        ink = np.zeros((canvas, canvas), dtype=np.uint8)
        ink[top:top + side, left:left + side] = np.asarray(Image.fromarray(digit).resize((side, side)))
        return 255 - ink if dark_on_light else ink

    for picture in (drawn(56, 10, 300), drawn(300, 50, 40), drawn(140, 200, 200, dark_on_light=False)):
        prepared = recipe.to_mnist(picture)
        assert np.corrcoef(prepared.ravel(), reference.ravel())[0, 1] > 0.85
    # Colour, and strokes on a transparent sheet, read the same as grey.
    grey = drawn(140, 100, 100)
    colour = np.stack([grey, grey, grey], axis=-1)
    np.testing.assert_allclose(recipe.to_mnist(colour), recipe.to_mnist(grey), atol=1e-5)


def test_transparent_png_is_read_against_contrasting_paper(tmp_path):
    rgba = np.zeros((100, 100, 4), dtype=np.uint8)       # Transparent black everywhere...
    rgba[20:80, 45:55] = (0, 0, 0, 255)                  # ...and an opaque black stroke.
    Image.fromarray(rgba, "RGBA").save(tmp_path / "one.png")
    grey = recipe.read_grey(tmp_path / "one.png")
    assert grey[0, 0] == pytest.approx(1.0) and grey[50, 50] == pytest.approx(0.0)
    prepared = recipe.to_mnist(grey)
    assert prepared[14, 14] > 0.9 and prepared[14, 4] == 0.0   # A bright upright bar in the middle.


@pytest.mark.parametrize("value", [0, 128, 255])
def test_uniform_pictures_are_blank_not_guessed(value):
    with pytest.raises(recipe.BlankImage):
        recipe.to_mnist(np.full((200, 300), value, dtype=np.uint8))


def test_faint_paper_grain_is_blank():
    rng = np.random.default_rng(0)
    paper = 240 + rng.integers(0, 10, size=(280, 280))
    with pytest.raises(recipe.BlankImage):
        recipe.to_mnist(paper)


@pytest.mark.parametrize("stroke_pixels", [4, 8, 16])
def test_stroke_width_is_measured(stroke_pixels):
    ink = np.zeros((200, 200), dtype=np.float32)
    ink[20:180, 100:100 + stroke_pixels] = 1.0
    assert recipe.stroke_width(ink) == pytest.approx(stroke_pixels, rel=0.1)


def test_thin_and_thick_strokes_are_brought_towards_mnist():
    for stroke_pixels, grows in ((2, True), (40, False)):
        canvas = np.full((300, 300), 255, dtype=np.uint8)
        canvas[30:270, 100:100 + stroke_pixels] = 0            # An upright bar, far too thin or thick.
        canvas[30:30 + stroke_pixels, 100:220] = 0             # And a top bar: a "7" of sorts.
        prepared = recipe.to_mnist(canvas)
        # Measured as the recipe measures: at 100 pixels for the digit's longer side.
        width = recipe.stroke_width(np.asarray(Image.fromarray(prepared).resize((140, 140))))
        assert 0.10 <= width / 100 <= 0.25, (stroke_pixels, width)


def test_naive_recipe_is_the_tutorials(mnist_test):
    images, _ = mnist_test
    picture = 255 - images[0]                      # Dark on light, filling the picture.
    naive = recipe.naive_to_mnist(picture)
    assert naive.min() == 0.0 and naive.max() == 1.0
    assert np.corrcoef(naive.ravel(), images[0].ravel())[0, 1] > 0.95


# --- Reading files -----------------------------------------------------------------

def png_claiming_size(path, width, height):
    """A small PNG file whose header claims width x height pixels."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))


def bad_files(folder):
    """Each kind of file the recognizer must refuse with one clear line, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.png").write_text("these are notes, not a picture\n")
    good = folder / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(good)
    (folder / "truncated.png").write_bytes(good.read_bytes()[:200])
    png_claiming_size(folder / "huge.png", 20_000, 20_000)
    Image.new("L", (280, 280), 255).save(folder / "blank.png")
    good.unlink()
    return {"empty.png": "empty", "notes.png": "not an image", "truncated.png": "damaged or cut short",
            "huge.png": "too large", "blank.png": "blank"}


def test_read_grey_reports_each_bad_file_in_one_line(tmp_path):
    expected = bad_files(tmp_path)
    expected["missing.png"] = "no such file"
    for name, words in expected.items():
        with pytest.raises(recipe.ImageError) as caught:
            recipe.to_mnist(recipe.read_grey(tmp_path / name))
        message = str(caught.value)
        assert words in message and "\n" not in message, message
        if name != "blank.png":
            assert name in message


def test_image_files_lists_folders_and_keeps_files(tmp_path):
    for name in ("b.png", "a.JPG", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert recipe.image_files([tmp_path, tmp_path / "c.txt"]) == [
        tmp_path / "a.JPG", tmp_path / "b.png", tmp_path / "c.txt"]


# --- The lab on files ------------------------------------------------------------------

@needs_the_trained_model
def test_drawn_digits_are_read_and_beat_the_naive_recipe(trained_model, mnist_test, tmp_path):
    images, labels = mnist_test
    rng = np.random.default_rng(2024)
    chosen = rng.choice(len(images), 1000, replace=False)
    files = recipe.save_digits(tmp_path / "drawings", images[chosen], labels[chosen], rng=rng)

    result, answers = recognize_here(tmp_path / "out", "--image", str(tmp_path / "drawings"),
                                     "--model", str(trained_model))
    assert result.returncode == 0, result.stderr
    with_recipe = accuracy(answers, files)
    result, answers = recognize_here(tmp_path / "naive", "--image", str(tmp_path / "drawings"),
                                     "--model", str(trained_model), "--naive")
    assert result.returncode == 0, result.stderr
    naive = accuracy(answers, files)
    print(f"1,000 drawn digits: MNIST recipe {with_recipe:.1%}, naive recipe {naive:.1%}")
    assert with_recipe >= 0.97
    assert naive < with_recipe - 0.3   # The naive recipe misreads most of them.
    assert (tmp_path / "out" / "recognized.png").is_file()


@needs_the_trained_model
def test_plain_mnist_digits_round_tripped_through_png(trained_model, mnist_test, tmp_path):
    images, labels = mnist_test
    files = recipe.save_digits(tmp_path / "plain", images, labels)
    result, answers = recognize_here(tmp_path / "out", "--image", str(tmp_path / "plain"),
                                     "--model", str(trained_model))
    assert result.returncode == 0, result.stderr
    assert len(answers) == 10_000
    plain = accuracy(answers, files)
    # What the same network answers for the test set's own arrays, with no file and no recipe between.
    import keras

    direct = np.argmax(evaluation.probabilities(keras.models.load_model(trained_model),
                                              data.scaled(images)[..., np.newaxis]), axis=1)
    direct_accuracy = np.mean(direct == labels)
    agreement = np.mean([answers[path.name] == direct[int(path.stem.split("_")[0])] for path in files])
    print(f"10,000 plain MNIST test digits through PNG: {plain:.2%} "
          f"(from the arrays: {direct_accuracy:.2%}; same answer for {agreement:.2%})")
    assert direct_accuracy >= 0.985            # The network is the lab's, at about 99%.
    assert agreement >= 0.995                  # Files and recipe change almost no answer...
    assert plain >= direct_accuracy - 0.003    # ...and cost at most 0.3 points of accuracy.


@uses_the_smoke_model
def test_bad_files_get_a_line_each_and_the_good_ones_are_still_read(smoke_model, mnist_test, tmp_path):
    images, labels = mnist_test
    folder = tmp_path / "混合 文件"                               # Chinese and a space in the folder name.
    expected = bad_files(folder)
    good = recipe.save_digits(folder, images[:3], labels[:3], rng=np.random.default_rng(1))
    chinese = folder / "数字七.png"
    Image.open(good[0]).save(chinese)
    result, answers = recognize("--image", str(folder), str(tmp_path / "missing.png"), str(good[1]),
                                "--model", str(smoke_model), "--out", str(tmp_path / "out"), cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    problems = result.stderr.strip().splitlines()
    for name, words in expected.items():
        assert any(name in line and words in line for line in problems), (name, problems)
    assert any("missing.png" in line and "no such file" in line for line in problems)
    assert problems[-1].endswith("6 of 11 files could not be recognized (see the lines above)"), problems[-1]
    assert len(problems) == len(expected) + 2, "\n".join(problems)  # One per bad file, one summary.
    assert set(answers) == {path.name for path in good} | {chinese.name}
    assert answers[chinese.name] == int(good[0].stem[-1])


def test_without_a_display_it_explains_image_files(tmp_path):
    result = run_script(LAB, "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--image" in result.stderr and "no display" in result.stderr


def test_a_missing_model_is_explained_not_guessed(tmp_path, mnist_test):
    images, labels = mnist_test
    recipe.save_digits(tmp_path / "one", images[:1], labels[:1])
    result = run_in_process(LAB, tmp_path, "--image", str(tmp_path / "one"), "--model", str(tmp_path / "none.keras"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no trained model" in result.stderr and "--train-if-missing" in result.stderr


def test_train_if_missing_trains_the_cnn_and_saves_it_where_asked(tmp_path, mnist_test):
    images, labels = mnist_test
    recipe.save_digits(tmp_path / "one", images[:2], labels[:2])
    model = tmp_path / "models" / "my_model.keras"
    # The recognizer in this process; the training it starts is a process of its own, as for a user.
    result, answers = recognize_here(tmp_path / "out", "--image", str(tmp_path / "one"), "--model", str(model),
                                     "--train-if-missing", "--smoke")
    assert result.returncode == 0, result.stderr
    assert "Training the MNIST CNN" in result.stdout
    assert model.is_file() and len(answers) == 2


# --- The drawing window ------------------------------------------------------------------

@pytest.fixture
def drawing_pad(smoke_model):
    import keras
    from matplotlib.figure import Figure

    lab = load_lab(LAB)
    model = keras.models.load_model(smoke_model)
    return lab.drawing.DrawingPad(lab.recognizer(model), figure=Figure(figsize=(9, 5)))


def send(pad, name, *, point=None, key=None):
    """A synthetic event, delivered through the canvas to whatever the pad connected."""
    from matplotlib.backend_bases import KeyEvent, MouseEvent

    canvas = pad.figure.canvas
    if key is not None:
        event = KeyEvent(name, canvas, key)
    else:
        x, y = pad.pad.transData.transform(point)
        event = MouseEvent(name, canvas, x, y, button=1)
    canvas.callbacks.process(name, event)


def draw(pad, *strokes):
    pad.figure.canvas.draw()
    for stroke in strokes:
        send(pad, "button_press_event", point=stroke[0])
        for point in stroke[1:]:
            send(pad, "motion_notify_event", point=point)
        send(pad, "button_release_event", point=stroke[-1])


@uses_the_smoke_model
def test_drawing_window_reads_a_one_and_a_seven(drawing_pad, capsys):
    pad = drawing_pad
    send(pad, "key_press_event", key="backspace")
    draw(pad, [(0.5, 0.85), (0.5, 0.5), (0.5, 0.15)])
    assert len(pad.strokes) == 1 and len(pad.strokes[0]) == 3
    send(pad, "key_press_event", key="enter")
    assert pad.answer == 1

    send(pad, "key_press_event", key="backspace")
    assert pad.strokes == [] and pad.answer is None
    draw(pad, [(0.3, 0.8), (0.5, 0.8), (0.7, 0.8)], [(0.7, 0.8), (0.6, 0.5), (0.45, 0.15)])
    send(pad, "key_press_event", key="enter")
    assert pad.answer == 7
    assert "Recognized: 7" in capsys.readouterr().out


@uses_the_smoke_model
def test_drawing_window_says_when_the_canvas_is_empty(drawing_pad, capsys):
    pad = drawing_pad
    send(pad, "key_press_event", key="backspace")
    send(pad, "key_press_event", key="enter")
    assert pad.answer is None
    assert "empty" in capsys.readouterr().out


@uses_the_smoke_model
def test_strokes_outside_the_pad_or_without_a_press_are_ignored(drawing_pad):
    pad = drawing_pad
    send(pad, "key_press_event", key="backspace")
    send(pad, "motion_notify_event", point=(0.5, 0.5))        # Moving without pressing draws nothing.
    assert pad.strokes == []
    image = pad.canvas_image()
    assert image.shape == (280, 280) and image.min() == 255   # Still white.
