"""Stops an install on a Python that TensorFlow has no package for, with one sentence saying so.

Everything else about the package is in pyproject.toml. pip runs this file
before it looks for TensorFlow (``pip install -r requirements.txt`` installs
this checkout), so a learner on a Python outside ``requires-python`` reads
which Pythons work and what to do, not only pip's "No matching distribution
found for tensorflow".
"""
import re
import sys
from pathlib import Path

# requires-python in pyproject.toml, written as ">=3.A,<3.B": the one place the range is stated.
_RANGE = re.compile(r'^requires-python\s*=\s*">=\s*3\.(\d+)\s*,\s*<\s*3\.(\d+)"\s*$', re.MULTILINE)


def supported_minors(pyproject: Path = Path(__file__).resolve().parent / "pyproject.toml") -> range:
    """The minor versions of Python 3 that requires-python allows."""
    found = _RANGE.search(pyproject.read_text(encoding="utf-8"))
    if not found:
        raise SystemExit(f"{pyproject}: requires-python must read \">=3.A,<3.B\"")
    return range(int(found.group(1)), int(found.group(2)))


def unsupported_python(version=sys.version_info, minors: range = None):
    """The sentence for a Python outside the range, or None when ``version`` is supported."""
    minors = supported_minors() if minors is None else minors
    if version[0] == 3 and version[1] in minors:
        return None
    low, high = minors[0], minors[-1]
    return (f"This is Python {version[0]}.{version[1]}, but the labs need Python 3.{low} to 3.{high}, the versions "
            f"TensorFlow has packages for: make the virtual environment with one of those (for example "
            f"python3.{high} -m venv .venv, or py -3.{high} -m venv .venv on Windows), then install again.")


if __name__ == "__main__":
    sentence = unsupported_python()
    if sentence:
        sys.exit(sentence)

    from setuptools import setup

    setup()
