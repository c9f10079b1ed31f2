"""README.md tells the truth: its quoted outputs are what the labs print, its table lists every lab."""
import re

import pytest

from labtools import REPO_ROOT, discover_labs, run_script

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
# A quoted output is marked by a comment naming the lab (and any flags) just above a text block.
OUTPUT_BLOCK = re.compile(r"<!-- output: (\S+)([^>]*?) -->\n```text\n(.*?)```", re.DOTALL)
BLOCKS = OUTPUT_BLOCK.findall(README)


NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _split_numbers(line: str):
    """A line's text with numbers replaced by a marker (spaces folded), and its numbers."""
    text = " ".join(NUMBER.sub("#", line).split())
    return text, [float(number) for number in NUMBER.findall(line)]


def _assert_same_output(printed: list, quoted: list):
    """Same lines, same words, same numbers; decimals may differ in the last places.

    Float arithmetic can differ between processors in the last digits, so a
    number counts as the same within a relative 1e-3; whole numbers must match.
    """
    assert len(printed) == len(quoted), "\n".join(printed)
    for printed_line, quoted_line in zip(printed, quoted):
        printed_text, printed_numbers = _split_numbers(printed_line)
        quoted_text, quoted_numbers = _split_numbers(quoted_line)
        assert printed_text == quoted_text, f"printed {printed_line!r}, README says {quoted_line!r}"
        assert printed_numbers == pytest.approx(quoted_numbers, rel=1e-3, abs=1e-7), \
            f"printed {printed_line!r}, README says {quoted_line!r}"


def _comparable(lines: list) -> list:
    """Lines with the parts that depend on the machine or the folder reduced to what is checked."""
    result = []
    for line in lines:
        if line.startswith("Device: "):
            line = "Device: (the device line)"
        elif line.startswith("Figure saved: "):
            saved = line.removeprefix("Figure saved: ").replace("\\", "/")
            line = "Figure saved: " + saved.rsplit("/", 1)[-1]
        result.append(line)
    return result


def test_readme_quotes_some_outputs():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("lab_path, flags, quoted", BLOCKS, ids=[block[0] for block in BLOCKS])
def test_quoted_output_is_what_the_lab_prints(lab_path, flags, quoted, tmp_path):
    result = run_script(lab_path, *flags.split(), "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _assert_same_output(_comparable(result.stdout.splitlines()), _comparable(quoted.splitlines()))


def test_lab_table_lists_every_lab():
    table = README.split("## The labs", 1)[1].split("\n## ", 1)[0]
    for lab_path in discover_labs():
        # Named by its path below labs/: `_03_single_perceptron`, `mnist/_01_mlp`.
        name = lab_path.removeprefix("labs/").removesuffix(".py")
        assert f"`{name}`" in table, f"README's lab table does not list {lab_path}"
