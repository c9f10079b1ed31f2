"""The versions the project says it supports: stated once, the same everywhere, and refused clearly outside.

pyproject.toml states them; .ci/lowest-versions.txt pins the lowest, which CI
tests as well as the newest; both languages' front pages and versions pages show them; setup.py stops an install
on a Python outside the range with one sentence.
"""
import re
import runpy
import sys

import pytest
from packaging.requirements import Requirement

from labtools import REPO_ROOT

SETUP = REPO_ROOT / "setup.py"
README_ROWS = {"tensorflow": "TensorFlow", "keras": "Keras", "numpy": "NumPy", "matplotlib": "Matplotlib",
               "pillow": "Pillow", "tensorboard": "TensorBoard"}


@pytest.fixture(scope="module")
def setup_module():
    return runpy.run_path(str(SETUP), run_name="setup")  # Not "__main__": only its functions.


def _pyproject_requirements() -> list:
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = re.findall(r'^\s+"([A-Za-z][^"]*)",?$', text.split("[project]", 1)[1].split("[tool.", 1)[0], re.M)
    listed += re.findall(r'"([a-z][^"]*)"', re.search(r"^test = \[(.*)\]$", text, re.M).group(1))
    return [Requirement(each) for each in listed]


def _lowest() -> dict:
    pins = {}
    for line in (REPO_ROOT / ".ci/lowest-versions.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    return pins


def test_a_python_outside_the_range_gets_one_sentence_naming_the_range(setup_module):
    minors = setup_module["supported_minors"]()
    assert (minors[0], minors[-1]) == (10, 13)
    for version in ((3, 14), (3, 9), (4, 0)):
        sentence = setup_module["unsupported_python"](version)
        assert f"This is Python {version[0]}.{version[1]}" in sentence
        assert "Python 3.10 to 3.13" in sentence and "python3.13 -m venv .venv" in sentence
        assert "\n" not in sentence
    assert setup_module["unsupported_python"](sys.version_info) is None  # The Python running this test.


def test_the_install_stops_before_looking_for_tensorflow_on_python_3_14(monkeypatch):
    # What pip runs first when it installs the checkout, on a Python with no TensorFlow.
    monkeypatch.setattr(sys, "version_info", (3, 14, 0, "final", 0))
    monkeypatch.setitem(sys.modules, "setuptools", None)  # Importing it would be a failure: it must stop first.
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(SETUP), run_name="__main__")
    assert str(stopped.value).startswith("This is Python 3.14, but the labs need Python 3.10 to 3.13")


def test_the_lowest_versions_ci_tests_are_the_lowest_pyproject_allows():
    lowest = _lowest()
    floors = {}
    for requirement in _pyproject_requirements():
        bounds = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert len(bounds) == 1, f"{requirement}: give it one lowest version (>=)"
        floors[requirement.name.lower()] = bounds[0]
    assert floors == lowest


def test_both_languages_state_the_same_range(setup_module):
    minors = setup_module["supported_minors"]()
    lowest = _lowest()
    for front, name, range_words in (("README.md", "book/en/versions.md", "Python 3.{} to 3.{}"),
                                     ("README.zh-CN.md", "book/zh-CN/versions.md", "Python 3.{} 至 3.{}")):
        assert range_words.format(minors[0], minors[-1]) in (REPO_ROOT / front).read_text(encoding="utf-8"), front
        text = (REPO_ROOT / name).read_text(encoding="utf-8")
        assert range_words.format(minors[0], minors[-1]) in text, name
        rows = dict(re.findall(r"^\| ([A-Za-z][\w ,、-]*?) \| ([\d.,、 ]+?) \| [\d.,、 ]+ \|$", text, re.M))
        assert rows["Python"] == f"3.{minors[0]}", name
        for package, row in README_ROWS.items():
            assert rows[row] == lowest[package], (name, row)
        tools = re.split(r"[,、]\s*", next(value for key, value in rows.items() if key.startswith("pytest")))
        assert tools == [lowest["pytest"], lowest["pytest-xdist"]], name


def test_ci_runs_the_lowest_and_the_newest_python_of_the_range(setup_module):
    minors = setup_module["supported_minors"]()
    script = (REPO_ROOT / ".ci/run").read_text(encoding="utf-8")
    assert f"find_python 3.{minors[0]})" in script and "-c .ci/lowest-versions.txt" in script
    assert f"find_python 3.{minors[-1]})" in script
