"""Fixtures shared by the tests."""
import pytest

from labtools import run_main


@pytest.fixture
def run_lab_main(tmp_path):
    """Call a lab's main() in this process with the given flags; figures go to tmp_path."""

    def run(relative_path: str, *argv: str) -> dict:
        return run_main(relative_path, tmp_path, *argv)

    return run
