"""The shared package: data loading and its checks, flags, device choice, figures."""
import hashlib
import os
import shutil
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from common import cli, data, device, paths, plotting
from common.errors import LabError
from labtools import REPO_ROOT, headless_env, run_in_process, run_script

LAB_03 = "labs/_03_single_perceptron.py"


# --- data -------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="module")
def fashion_mnist():
    return data.load_fashion_mnist()


def _check_shapes(dataset):
    (x_train, y_train), (x_test, y_test) = dataset
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert y_train.shape == (60_000,) and y_test.shape == (10_000,)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8


def test_mnist_matches_the_published_facts(mnist):
    # Facts from the datasets' README: first labels, class counts, mean pixel.
    _check_shapes(mnist)
    (x_train, y_train), (_, y_test) = mnist
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert x_train.mean() == pytest.approx(33.3184, abs=1e-4)


def test_fashion_mnist_matches_the_published_facts(fashion_mnist):
    _check_shapes(fashion_mnist)
    (x_train, y_train), _ = fashion_mnist
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert x_train.mean() == pytest.approx(72.9404, abs=1e-4)
    assert len(data.FASHION_MNIST_CLASSES) == 10


@pytest.mark.parametrize("name", sorted(data.DATASETS))
def test_bundled_checksum_files_agree_with_the_loader(name):
    listed = {}
    for line in (paths.DATA_DIR / name / "SHA256SUMS").read_text().splitlines():
        digest, filename = line.split()
        listed[filename] = digest
    assert listed == data.DATASETS[name]


def _copy_of_bundled(tmp_path, name="mnist"):
    shutil.copytree(paths.DATA_DIR / name, tmp_path / name)
    return tmp_path


def test_a_flipped_byte_is_caught(tmp_path):
    data_dir = _copy_of_bundled(tmp_path)
    target = data_dir / "mnist" / "train-images-idx3-ubyte.gz"
    content = bytearray(target.read_bytes())
    content[len(content) // 2] ^= 0x01
    target.write_bytes(bytes(content))
    with pytest.raises(data.DataError) as caught:
        data.load_mnist(data_dir)
    message = str(caught.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert data.DATASETS["mnist"]["train-images-idx3-ubyte.gz"] in message  # what was expected
    assert "git checkout" in message  # how to restore it
    assert "\n" not in message


def test_a_truncated_file_is_caught(tmp_path):
    data_dir = _copy_of_bundled(tmp_path)
    target = data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.gz.*damaged or not the original"):
        data.load_mnist(data_dir)


def test_a_truncated_gzip_is_named_as_such(tmp_path):
    # Even a file whose digest matches (say, a wrong list of digests) must not
    # decode to a silently shorter dataset.
    cut = (paths.DATA_DIR / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()[:3000]
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(cut)
    with pytest.raises(data.DataError, match="not a complete gzip file"):
        data.read_idx_gz(path, hashlib.sha256(cut).hexdigest(), (10_000,))


def test_bad_idx_headers_are_caught():
    labels = zlib.decompress((paths.DATA_DIR / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes(), wbits=31)
    assert data.parse_idx(labels, (10_000,))[:3].tolist() == [7, 2, 1]
    with pytest.raises(data.DataError, match="not an IDX file"):
        data.parse_idx(b"\x01" + labels[1:], (10_000,))
    with pytest.raises(data.DataError, match="expected unsigned bytes"):
        data.parse_idx(labels[:2] + b"\x0d" + labels[3:], (10_000,))
    with pytest.raises(data.DataError, match="expected \\(60000,\\)"):
        data.parse_idx(labels, (60_000,))
    with pytest.raises(data.DataError, match="needs 10000"):
        data.parse_idx(labels[:-5], (10_000,))


def test_a_missing_file_falls_back_to_the_download_and_says_so(tmp_path, monkeypatch, capsys):
    data_dir = _copy_of_bundled(tmp_path)
    (data_dir / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    calls = []

    def fake_download():
        calls.append(True)
        return "downloaded"

    monkeypatch.setattr("keras.datasets.mnist.load_data", fake_download)
    assert data.load_mnist(data_dir) == "downloaded" and calls
    assert "train-labels-idx1-ubyte.gz is missing" in capsys.readouterr().err


def test_a_failed_download_is_one_clear_error(tmp_path, monkeypatch):
    def no_network():
        raise OSError("no route to host")

    monkeypatch.setattr("keras.datasets.mnist.load_data", no_network)
    with pytest.raises(data.DataError, match="missing and the download failed \\(no route to host\\)"):
        data.load_mnist(tmp_path)  # An empty folder: every file is missing.


# --- command line -----------------------------------------------------------

def _parse(argv):
    lab_file = REPO_ROOT / LAB_03

    def add_arguments(parser):
        cli.add_epochs(parser, 100)
        cli.add_learning_rate(parser, 0.1)

    return cli.parse_args("A lab.", argv, add_arguments, lab_file)


@pytest.mark.parametrize("argv", [
    ["--epochs", "-1"], ["--epochs", "0"], ["--epochs", "ten"],
    ["--learning-rate", "0"], ["--learning-rate", "-0.1"], ["--learning-rate", "nan"],
    ["--device", "tpu"], ["--seed", "-3"], ["--no-such-flag"],
])
def test_bad_flag_values_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        _parse(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "error:" in err


def test_defaults_and_smoke_switch(monkeypatch):
    monkeypatch.delenv(cli.SMOKE_ENV, raising=False)
    args = _parse([])
    assert args.device == "auto" and args.seed == cli.DEFAULT_SEED and not args.smoke and not args.show
    assert args.out == paths.OUTPUTS_DIR / "_03_single_perceptron"
    assert args.epochs == 100 and args.learning_rate == 0.1
    assert _parse(["--epochs", "7", "--learning-rate", "0.5"]).epochs == 7
    assert _parse(["--smoke"]).smoke
    monkeypatch.setenv(cli.SMOKE_ENV, "1")
    assert _parse([]).smoke
    # A smoke run never writes over a real run's model or saved state.
    assert _parse([]).out == paths.OUTPUTS_DIR / "smoke" / "_03_single_perceptron"
    assert _parse(["--out", "elsewhere"]).out == Path("elsewhere")


def test_lab_names_follow_the_folders():
    assert paths.lab_name(paths.LABS_DIR / "_03_single_perceptron.py") == "_03_single_perceptron"
    assert paths.lab_name(paths.LABS_DIR / "mnist" / "_01_mlp.py") == "mnist/_01_mlp"


def test_an_unusable_out_folder_is_one_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as stopped:
        cli.run_lab(lambda args: {}, "A lab.", argv=["--out", str(blocker / "figures")])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot create the output folder" in err


def test_bad_values_from_the_real_command_line(tmp_path):
    result = run_script(LAB_03, "--epochs", "-1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "_03_single_perceptron.py: error: argument --epochs: expected a whole number of at least 1, "
        "got -1 (see --help)"
    ]
    assert result.stdout == ""


# --- device -----------------------------------------------------------------

def test_device_choice():
    assert device.resolve("cpu") == "/CPU:0"
    has_gpu = any(name.startswith("GPU") for name in device.visible_devices())
    assert device.resolve("auto") == ("/GPU:0" if has_gpu else "/CPU:0")
    with pytest.raises(LabError):
        device.resolve("tpu")


def test_gpu_request_without_a_gpu_is_one_clear_line(tmp_path):
    result = run_in_process(LAB_03, tmp_path, "--device", "gpu")
    if any(name.startswith("GPU") for name in device.visible_devices()):
        assert result.returncode == 0 and result.stdout.startswith("Device: /GPU:0")
        return
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "--device gpu: TensorFlow sees no GPU" in lines[0] and "CPU:0" in lines[0]


# --- figures ----------------------------------------------------------------

def test_show_without_a_display_is_ignored_with_a_note(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(plotting.sys, "platform", "linux")
    try:
        assert plotting.configure(show=True) is False
        assert "--show ignored" in capsys.readouterr().err
        fig, ax = plotting.plt.subplots()
        plotting.plot_two_classes(ax, [[3, 3], [1, 1]], [1, -1])
        plotting.plot_decision_line(ax, [-4, 1, 1], (0, 5))
        path = plotting.save_figure(fig, tmp_path / "sub", "check.png")
        assert path.read_bytes()[:4] == b"\x89PNG"
        plotting.show()  # Must return at once: nothing to show.
    finally:
        plotting.configure(show=False)


def test_decision_line_handles_vertical_and_missing_lines():
    fig, ax = plotting.plt.subplots()
    plotting.plot_decision_line(ax, [-2, 1, 0], (0, 5))  # x1 = 2, vertical
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(2)
    count = len(ax.lines)
    plotting.plot_decision_line(ax, [1, 0, 0], (0, 5))  # no boundary at all
    assert len(ax.lines) == count
    plotting.plt.close(fig)


CHINESE = "数字七.png"  # A file name in Chinese, as the recognizer puts in its figure.
# Set where a font with Chinese is installed on purpose (.ci/run installs one), so that its
# absence fails instead of taking the no-font path.
EXPECT_FONT = os.environ.get("LAB_EXPECT_CJK_FONT") == "1"


def _glyph_warnings(fig) -> list:
    """Matplotlib's warnings for characters it draws as boxes, with nothing filtered."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(each.message) for each in caught if "Glyph" in str(each.message)]


def _figure_with_chinese():
    fig, ax = plotting.plt.subplots(figsize=(3, 2))
    ax.set_title(f"{CHINESE}\n7 (99%)")
    ax.set_xlabel("pixels")
    return fig, ax


def test_chinese_text_is_drawn_with_an_installed_font_that_has_it():
    fig, ax = _figure_with_chinese()
    family = plotting.legible(fig)
    try:
        if family is None:
            assert not EXPECT_FONT, "LAB_EXPECT_CJK_FONT=1 but no installed font draws Chinese"
            assert _glyph_warnings(fig), "no font for Chinese here, so Matplotlib alone draws boxes"
            return
        assert family in plotting.FALLBACK_FAMILIES
        assert ax.title.get_fontfamily()[-1] == family       # Added after the usual font...
        assert family not in ax.xaxis.label.get_fontfamily()  # ...and only where it is needed.
        assert _glyph_warnings(fig) == []                     # Every character has its glyph.
    finally:
        plotting.plt.close(fig)


def test_a_font_installed_after_matplotlib_listed_the_fonts_is_found(monkeypatch):
    chinese = frozenset(ord(char) for char in "数字七")
    plotting.fallback_family.cache_clear()
    present = plotting.fallback_family(chinese)
    if present is None:
        assert not EXPECT_FONT, "LAB_EXPECT_CJK_FONT=1 but no installed font draws Chinese"
        return
    # Matplotlib's list as it was before that font was installed: without any of the fallbacks.
    from matplotlib import font_manager

    files = {path for _, path in plotting._installed_fallbacks()}
    before = [entry for entry in font_manager.fontManager.ttflist if entry.fname not in files]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", before)
    plotting.fallback_family.cache_clear()
    try:
        assert plotting.fallback_family(chinese) is not None
    finally:
        plotting.fallback_family.cache_clear()


def test_without_a_font_for_the_text_saving_prints_no_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(plotting, "fallback_family", lambda characters: None)
    fig, ax = _figure_with_chinese()
    assert plotting.legible(fig) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plotting.save_figure(fig, tmp_path, "boxes.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert [str(each.message) for each in caught] == []


# --- compiled loops ---------------------------------------------------------

def test_compiled_loop_runs_as_one_graph():
    import tensorflow as tf

    from common import graph

    total = tf.Variable(0.0)

    @graph.xla_function
    def add_up(num_steps):
        for step in tf.range(num_steps):
            total.assign_add(tf.cast(step, tf.float32))
        return total.read_value()

    assert float(add_up(tf.constant(100))) == sum(range(100))
    assert float(add_up(tf.constant(10))) == sum(range(100)) + sum(range(10))


def test_compiled_falls_back_where_xla_cannot_compile(capsys):
    import tensorflow as tf

    from common import graph

    @graph.xla_function
    def describe(x):
        # String formatting has no XLA kernel, so XLA refuses this graph.
        return tf.strings.as_string(x * 2)

    assert describe(tf.constant(21)).numpy() == b"42"
    assert "running as a plain TensorFlow graph" in capsys.readouterr().err
    assert describe(tf.constant(5)).numpy() == b"10"
    assert capsys.readouterr().err == ""  # The note comes once.


def test_a_lab_started_from_a_lab_process_is_quiet_too_and_loads_no_training_machinery(tmp_path):
    # The log level common sets is inherited by child processes; it must not
    # be taken there for a user's request to see TensorFlow's log. This test
    # process has imported common, so the lab it starts is such a child. The
    # child also reports what it imports (python -X importtime): a lab of
    # chapter 1 loads none of the Keras training machinery.
    from common import _quiet

    env = {key: value for key, value in os.environ.items() if key not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env["TF_CPP_MIN_LOG_LEVEL"] = env[_quiet._MARKER] = _quiet._QUIET_LEVEL  # As importing common leaves them.
    result = subprocess.run([sys.executable, "-X", "importtime", str(REPO_ROOT / "labs/_01_perceptron_learn_rule.py"),
                             "--smoke"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if not line.startswith("import time:")] == []  # Nothing but importtime.
    loaded = {line.rsplit("|", 1)[1].strip() for line in lines[1:]}
    assert {"common.cli", "common.plotting"} <= loaded
    assert not loaded & MACHINERY, loaded & MACHINERY


# --- who loads what ----------------------------------------------------------

MACHINERY = {"common.training", "common.checkpoints", "common.distribute"}


def _common_imports(path: Path) -> set:
    """The common modules a file imports, anywhere in it (functions included), read from its source."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "common":
            found |= {f"common.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("common."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("common.")}
    return found


def _loaded_by(lab: Path) -> set:
    """Every common module a lab can load, through the modules it imports (and the package's __init__)."""
    seen, waiting = set(), _common_imports(lab) | {"common.__init__"}
    while waiting:
        module = waiting.pop()
        if module not in seen:
            seen.add(module)
            waiting |= _common_imports(REPO_ROOT / (module.replace(".", "/") + ".py"))
    return seen


def test_labs_of_chapters_1_to_4_load_no_training_machinery():
    labs = sorted(paths.LABS_DIR.glob("_[01][0-9]_*.py"))
    assert len(labs) == 16
    for lab in labs:
        assert not _loaded_by(lab) & MACHINERY, lab.name
    # The check can fail: a Keras lab does load all of it.
    assert _loaded_by(paths.LABS_DIR / "mnist" / "_02_cnn.py") >= MACHINERY


def test_every_common_module_serves_two_labs_or_runs_them():
    # What one lab alone uses belongs with that lab; common/ is for what labs share.
    labs = [path for path in paths.LABS_DIR.rglob("_*.py") if path.stem[1:3].isdigit()]
    users = {}
    for lab in labs:
        for module in _loaded_by(lab):
            users.setdefault(module, set()).add(lab.name)
    every_module = {f"common.{path.stem}" for path in (REPO_ROOT / "common").glob("*.py")} - {"common.__init__"}
    assert set(users) - {"common.__init__"} == every_module  # Every module is used by some lab.
    runner = _loaded_by(paths.LABS_DIR / "_01_perceptron_learn_rule.py")  # What cli loads for every lab.
    for module, labs_using in users.items():
        assert module in runner or len(labs_using) >= 2, (module, labs_using)
