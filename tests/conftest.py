"""Fixtures shared by the tests."""
import pytest

from common import cli
from labtools import load_lab


@pytest.fixture
def run_lab_main(tmp_path):
    """Call a lab's main() in this process with the given flags; figures go to tmp_path."""

    def run(relative_path: str, *argv: str) -> dict:
        lab = load_lab(relative_path)
        args = cli.parse_args(lab.__doc__, ["--out", str(tmp_path), *argv],
                              getattr(lab, "add_arguments", None), lab.__file__)
        return cli.execute(lab.main, args)

    return run
