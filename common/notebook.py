"""Running a lab inside a Jupyter notebook (or Colab) instead of as ``python labs/...``.

The notebooks in ``notebooks/`` are made from the labs by
``tools/make_notebooks.py``: the lab's own code in cells, ending with the
same ``cli.run_lab(...)`` line as the script. Their first cell calls
``notebook.start(lab)``; from then on ``cli.run_lab``

- takes no flags from ``sys.argv`` (a kernel's are its own): the lab runs
  with its defaults, and the constants in the cells above are those
  defaults, so changing one and running the cells again changes the run;
- turns on ``--smoke`` when ``LAB_SMOKE=1``, as for a script;
- shows each figure in the notebook as it is saved;
- returns what ``main`` returned, and reports a mistake as one line, not by
  ending the kernel.
"""
from pathlib import Path

from common import paths

_lab_file = None


def start(lab) -> Path:
    """Run the lab ``lab`` (its path, relative to the checkout) in this kernel; returns its full path."""
    global _lab_file
    path = Path(lab)
    if not path.is_absolute():
        path = paths.REPO_ROOT / path
    paths.put_folder_on_path(path)  # The recognizer imports its parts from beside it.
    _lab_file = path
    return path


def lab_file():
    """The lab this kernel runs (after ``start``), else None: not in a notebook."""
    return _lab_file


def show_image(path) -> None:
    """Show a saved PNG in the notebook, below the cell that made it."""
    import sys

    from IPython.display import Image, display

    sys.stdout.flush()  # The lines printed so far come first.
    display(Image(filename=str(path)))
