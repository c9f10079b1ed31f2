"""The tutorials tell the truth: quoted outputs are what the labs print, every lab is in both, every figure is made.

Both README.md and README.zh-CN.md mark a lab's output with a comment naming
the lab (and any flags) just above a text block:

    <!-- output: labs/_03_single_perceptron.py -->
    ```text
    ...
    ```
"""
import re

import pytest

from labtools import REPO_ROOT, discover_labs, load_lab, same_worker

READMES = {name: (REPO_ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "README.zh-CN.md")}
OUTPUT_BLOCK = re.compile(r"<!-- output: (\S+)([^>]*?) -->\n```text\n(.*?)```", re.DOTALL)
BLOCKS = [(readme, *block) for readme, text in READMES.items() for block in OUTPUT_BLOCK.findall(text)]
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
# Labs whose output is exact: no floating point in what they print.
EXACT = {"labs/_01_perceptron_learn_rule.py", "labs/_02_perceptron_learn_rule_matrix.py"}
LAB_PATH = re.compile(r"(?<![\w/-])labs/[\w/]+\.py")
FIGURE = re.compile(r"\]\((resources/[^)\s]+\.png)\)")
KERAS_TIMING = re.compile(r" - (?:\d+m )?\d+s - \d+(?:\.\d+)?[mµu]?s/step - ")


def _split_numbers(line: str):
    """A line's text with numbers replaced by a marker (spaces folded), and its numbers.

    NumPy pads the numbers of a printed array to one width, which depends on their last digits
    ("[0.0260189 ]" beside "[0.9746563 ]"), so the spaces inside brackets are not part of the text.
    """
    text = " ".join(NUMBER.sub("#", line).split())
    text = re.sub(r"\[ +", "[", re.sub(r" +\]", "]", text))
    return text, [float(number) for number in NUMBER.findall(line)]


def _assert_same_output(printed: list, quoted: list, exact: bool):
    """Same lines, same words, same numbers.

    For the exact labs every character counts. For the others a number is the
    same within a relative 1e-3 (or 1e-7 absolute): float arithmetic can
    differ between processors in the last digits.
    """
    assert len(printed) == len(quoted), "\n".join(printed)
    for printed_line, quoted_line in zip(printed, quoted):
        if exact:
            assert printed_line == quoted_line
            continue
        printed_text, printed_numbers = _split_numbers(printed_line)
        quoted_text, quoted_numbers = _split_numbers(quoted_line)
        assert printed_text == quoted_text, f"printed {printed_line!r}, README says {quoted_line!r}"
        assert printed_numbers == pytest.approx(quoted_numbers, rel=1e-3, abs=1e-7), \
            f"printed {printed_line!r}, README says {quoted_line!r}"


def test_numpy_padding_is_not_text_but_words_and_numbers_are():
    assert _split_numbers(" [0.0260189 ]]")[0] == _split_numbers(" [0.02601888]]")[0] == "[#]]"
    _assert_same_output([" [0.0260189 ]]"], [" [0.02601888]]"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(["loss 0.0100"], ["loss 0.0095"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(["[0.5] outputs"], ["[0.5] output"], exact=False)


def _comparable(lines: list) -> list:
    """Lines with the parts that depend on the machine or the folder reduced to what is checked."""
    result = []
    for line in lines:
        if line.startswith("Device: "):
            line = "Device: (the device line)"
        elif line.startswith(("Figure saved: ", "Model saved: ")):
            label, saved = line.split(": ", 1)
            line = f"{label}: " + saved.replace("\\", "/").rsplit("/", 1)[-1]
        # Keras's line per epoch says how long the epoch took: a property of the machine.
        line = KERAS_TIMING.sub(" - (time) - ", line)
        result.append(line)
    return result


def _lab_names():
    """Each lab as the READMES name it: `_03_single_perceptron`, `mnist/_01_mlp`."""
    return [path.removeprefix("labs/").removesuffix(".py") for path in discover_labs()]


def test_both_tutorials_quote_outputs():
    for readme in READMES:
        assert sum(block[0] == readme for block in BLOCKS) >= 15, readme


def _printed(lab_path: str, flags: str, lab_run, script_run) -> list:
    """What the lab prints with these flags; each run serves both tutorials and the lab's other tests.

    A run with a --strategy needs a process of its own: a strategy (and a CPU
    split into logical devices) must be set up before TensorFlow first computes.
    """
    run = (script_run if "--strategy" in flags else lab_run)(lab_path, *flags.split())
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


@pytest.mark.parametrize("readme, lab_path, flags, quoted",
                         [pytest.param(*block, marks=same_worker(block[1])) for block in BLOCKS],
                         ids=[f"{block[0]}:{block[1]}" for block in BLOCKS])
def test_quoted_output_is_what_the_lab_prints(readme, lab_path, flags, quoted, lab_run, script_run):
    printed = _printed(lab_path, flags, lab_run, script_run)
    _assert_same_output(_comparable(printed), _comparable(quoted.splitlines()), exact=lab_path in EXACT)


def test_the_comparison_catches_a_changed_number():
    # The check above must fail when a quoted number is edited; this guards it.
    printed = ["epoch 3 loss 0.012345", "done"]
    with pytest.raises(AssertionError):
        _assert_same_output(printed, ["epoch 3 loss 0.012445", "done"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(printed, ["epoch 4 loss 0.012345", "done"], exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(["-5 0 0"], ["-5 0 0.0"], exact=True)
    _assert_same_output(printed, ["epoch 3 loss 0.0123451", "done"], exact=False)
    # Keras's epoch time may differ, its numbers may not.
    epoch = _comparable(["8/8 - 2s - 227ms/step - accuracy: 0.3106 - loss: 2.0428"])
    _assert_same_output(epoch, _comparable(["8/8 - 1s - 170ms/step - accuracy: 0.3106 - loss: 2.0428"]), exact=False)
    with pytest.raises(AssertionError):
        _assert_same_output(epoch, _comparable(["8/8 - 2s - 227ms/step - accuracy: 0.3206 - loss: 2.0428"]),
                            exact=False)


def test_lab_table_lists_every_lab():
    table = READMES["README.md"].split("## The labs", 1)[1].split("\n## ", 1)[0]
    for name in _lab_names():
        assert f"`{name}`" in table, f"README's lab table does not list {name}"


@pytest.mark.parametrize("readme", READMES)
def test_every_lab_is_in_the_tutorial_with_its_command(readme):
    text = READMES[readme]
    for name in _lab_names():
        assert f"python labs/{name}.py" in text, f"{readme} does not show how to run {name}"
        assert f"<!-- output: labs/{name}.py" in text or name.startswith(("mnist/", "fashion_mnist/")), \
            f"{readme} quotes no output of {name}"


@pytest.mark.parametrize("readme", READMES)
def test_every_lab_a_tutorial_names_exists(readme):
    for path in set(LAB_PATH.findall(READMES[readme])):
        assert (REPO_ROOT / path).is_file(), f"{readme} names {path}, which does not exist"


def test_the_tutorials_link_to_each_other():
    assert "(README.zh-CN.md)" in READMES["README.md"].split("\n## ", 1)[0]
    assert "(README.md)" in READMES["README.zh-CN.md"].split("\n## ", 1)[0]


def _figure_table():
    return load_lab("tools/make_figures.py").FIGURES


def test_every_figure_shown_exists_and_is_made_by_a_lab():
    made = {}
    for lab, _flags, figure, name, _long in _figure_table():
        assert (REPO_ROOT / "labs" / f"{lab}.py").is_file(), lab
        assert figure in load_lab(f"labs/{lab}.py").FIGURES, f"labs/{lab}.py does not draw {figure}"
        made[f"resources/{name}"] = lab
    for tool, name in load_lab("tools/make_figures.py").SCREENSHOTS:
        assert (REPO_ROOT / tool).is_file(), tool
        made[f"resources/{name}"] = tool
    on_disk = {f"resources/{path.name}" for path in (REPO_ROOT / "resources").glob("*.png")}
    assert on_disk == set(made), "resources/ and tools/make_figures.py disagree"
    for readme, text in READMES.items():
        shown = set(FIGURE.findall(text))
        assert shown <= on_disk, f"{readme} shows figures that are not in resources/: {shown - on_disk}"
        assert shown == on_disk, f"{readme} does not show {on_disk - shown}"


# Labs that train for minutes are quoted from a full run, marked <!-- full run: labs/... -->. The
# suite cannot re-run them; what it can check is that the block is the lab's and that its final test
# accuracy is the one the chapter's table (measured by benchmarks/mnist_labs.py) reports.
FULL_RUN_BLOCK = re.compile(r"<!-- full run: (\S+)[^>]*? -->\n```text\n(.*?)```", re.DOTALL)
ACCURACY = re.compile(r"test accuracy[^0-9\n]*([0-9.]+)%", re.IGNORECASE)


@pytest.mark.parametrize("readme", READMES)
def test_full_runs_agree_with_the_measured_table(readme):
    text = READMES[readme]
    blocks = FULL_RUN_BLOCK.findall(text)
    quoted_elsewhere = ("fashion_mnist/_03_backprop_by_hand",)
    keras_labs = {f"labs/{name}.py" for name in _lab_names()
                  if name.startswith(("mnist/", "fashion_mnist/")) and name not in quoted_elsewhere}
    assert {lab for lab, _ in blocks} == keras_labs
    for lab, block in blocks:
        assert (REPO_ROOT / lab).is_file(), lab
        assert block.splitlines()[0].startswith("Device: "), lab
        if lab == "labs/mnist/_04_draw_a_digit.py":
            continue                    # Its accuracy is measured by benchmarks/recognizer.py instead.
        quoted = ACCURACY.findall(block)[0 if "fashion_mnist/_02" in lab else -1]
        name = lab.removeprefix("labs/").removesuffix(".py")
        row = re.search(rf"^\| `{re.escape(name)}` \| ([0-9.]+)% \|", text, re.MULTILINE)
        assert row, f"{readme}: no measured row for {name}"
        assert quoted == row.group(1), f"{readme}: {name} quotes {quoted}%, the table says {row.group(1)}%"


EXPECTED_ACCURACY = re.compile(r"accuracy of about ([0-9.]+)(?:-([0-9.]+))?%")


def test_each_lab_expects_the_accuracy_the_table_measured():
    # The "Expected:" line of a lab's docstring (its --help) gives the measured accuracy, at its own precision.
    text = READMES["README.md"]
    measured = dict(re.findall(r"^\| `((?:mnist|fashion_mnist)/\w+)` \| ([0-9.]+)% \|", text, re.MULTILINE))
    assert len(measured) == 6, measured
    for name, value in measured.items():
        expected = re.sub(r"\s+", " ", load_lab(f"labs/{name}.py").__doc__.split("Expected:")[1].split("Try:")[0])
        found = EXPECTED_ACCURACY.search(expected)
        assert found, f"{name}: its docstring's Expected: gives no 'accuracy of about N%'"
        low, high = found.groups()
        decimals = len(low.partition(".")[2])
        rounded = round(float(value), decimals)
        assert float(low) <= rounded <= float(high or low), f"{name} expects {low}%, the table measured {value}%"
