"""notebooks/ and tools/make_notebooks.py: every lab as a notebook, made from the lab, never drifting from it.

Running all of them takes minutes, so those runs are marked ``notebooks``
(``pytest -m notebooks``; .ci/run runs them); the checks that they are what
the tool makes, in both languages, run by default.
"""
import json
import re
import shutil
from pathlib import Path

import pytest

from labtools import REPO_ROOT, load_lab

maker = load_lab("tools/make_notebooks.py")
LABS = maker.book.labs_in_order()
# Every notebook runs in a kernel of its own, which starts TensorFlow: seconds each, minutes for all.
notebooks_run = pytest.mark.notebooks


def _code(path: Path) -> list:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_committed_notebooks_are_what_the_tool_makes():
    made = maker.all_notebooks()
    assert len(made) == 2 * len(LABS) and len(LABS) == 23
    committed = set((REPO_ROOT / "notebooks").rglob("*.ipynb"))
    assert committed == set(made), "run: python tools/make_notebooks.py"
    for path, text in made.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is out of date: python tools/make_notebooks.py"
    assert maker.all_notebooks() == made  # The same bytes every time.


def test_notebooks_are_valid_and_carry_no_outputs():
    import nbformat

    for path in (REPO_ROOT / "notebooks").rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path


def test_chinese_notebooks_have_the_english_code_and_the_chinese_text():
    for lab in LABS:
        english, chinese = maker.path_of(lab, "en"), maker.path_of(lab, "zh-CN")
        assert _code(chinese) == _code(english), lab
        text = json.loads(chinese.read_text(encoding="utf-8"))["cells"][0]["source"]
        assert re.search(r"[\u4e00-\u9fff]", "".join(text)), f"{lab}: the Chinese notebook's text is not Chinese"


def test_each_notebook_holds_its_lab_code_and_ends_with_the_lab_run():
    for lab in LABS:
        cells = _code(maker.path_of(lab, "en"))
        source = (REPO_ROOT / "labs" / f"{lab}.py").read_text(encoding="utf-8")
        assert f"notebook.start('labs/{lab}.py')" in cells[0]
        for cell in cells[1:-1]:
            assert cell in source, f"{lab}: a cell that is not the lab's code"
        assert cells[-1].startswith('if __name__ == "__main__":') and "cli.run_lab(main" in cells[-1]
        defined = re.findall(r"^def (\w+)", source, re.M)
        assert all(any(f"def {name}(" in cell for cell in cells) for name in defined), lab


def test_the_front_pages_link_both_notebooks_of_every_lab():
    for language, front_page in maker.book.FRONT_PAGES.items():
        table = (REPO_ROOT / front_page).read_text(encoding="utf-8")
        for lab in LABS:
            assert f"(notebooks/{language}/{lab}.ipynb)" in table, (front_page, lab)


# --- running them ----------------------------------------------------------------

@pytest.fixture(scope="session")
def checkout_copy(tmp_path_factory):
    """A copy of the checkout in a folder whose path has a space and Chinese characters."""
    copy = tmp_path_factory.mktemp("notebooks") / "神经网络 课程"
    shutil.copytree(REPO_ROOT, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "outputs", "__pycache__", "*.egg-info", ".pytest_cache"))
    return copy


@notebooks_run
@pytest.mark.parametrize("lab", LABS)
def test_notebook_runs_top_to_bottom_and_shows_its_figures(lab, checkout_copy, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # The kernel inherits this environment: a user's with no display, in smoke mode.
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LAB_SMOKE", "1")
    path = checkout_copy / "notebooks" / "en" / f"{lab}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()

    printed, images = "", 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (lab, output.get("evalue"))
            if output.output_type == "stream":
                printed += output.text
                assert output.name == "stdout" or "error" not in output.text.lower(), (lab, output.text)
            if output.output_type == "display_data" and "image/png" in output.data:
                images += 1
    saved = re.findall(r"^Figure saved: (.+)$", printed, re.M)
    shown = [name for name in saved if "/smoke/" in name.replace("\\", "/")]  # Not the recognizer's helper run.
    assert images == len(shown), (lab, images, saved)
    for name in shown:
        figure = Path(name)
        assert figure.is_file() and checkout_copy in figure.parents, name  # The copy's code wrote it.
    if lab not in ("_01_perceptron_learn_rule", "_02_perceptron_learn_rule_matrix"):
        assert images >= 1, f"{lab} showed no figure"


@notebooks_run
def test_changing_a_constant_and_running_again_changes_the_result(checkout_copy, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("LAB_SMOKE", "1")
    path = checkout_copy / "notebooks" / "en" / "_03_single_perceptron.ipynb"

    def printed(learning_rate: str) -> str:
        notebook = nbformat.read(path, as_version=4)
        constants = next(cell for cell in notebook.cells if cell.source.startswith("LEARNING_RATE = "))
        constants.source = re.sub(r"^LEARNING_RATE = [\d.]+", f"LEARNING_RATE = {learning_rate}", constants.source)
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        run_cell = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]   # The exercises follow it.
        return "".join(output.text for output in run_cell.outputs if output.output_type == "stream")

    as_committed, changed = printed("0.1"), printed("0.5")
    assert "Finished" in as_committed and "Finished" in changed
    assert as_committed != changed  # The run took the cell's constant, not a copy of it.
