"""Helpers for the tests: find labs, load them, run them as a user would, in this process or in a new one."""
import contextlib
import dataclasses
import io
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from common import cli, paths

REPO_ROOT = paths.REPO_ROOT
LAB_FILE_PATTERN = re.compile(r"^_\d+_\w+\.py$")


def discover_labs() -> list:
    """Every numbered lab below labs/, sub-folders included, as paths relative to the checkout."""
    found = [path for path in paths.LABS_DIR.rglob("_*.py") if LAB_FILE_PATTERN.match(path.name)]
    return sorted(path.relative_to(REPO_ROOT).as_posix() for path in found)


load_lab = paths.load_lab


def lab_entry(relative_path: str):
    """What the lab's last line hands to ``cli.run_lab``: ``(main, doc, add_arguments, run)``.

    The lab file runs as ``python <lab>`` runs it, with ``cli.run_lab``
    replaced by a recorder, so nothing is parsed or trained.
    """
    recorded = {}

    def record(main, doc, add_arguments=None, run=None, argv=None):
        recorded.update(main=main, doc=doc, add_arguments=add_arguments, run=run)

    paths.put_folder_on_path(REPO_ROOT / relative_path)
    with mock.patch.object(cli, "run_lab", record):
        runpy.run_path(str(REPO_ROOT / relative_path), run_name="__main__")
    if not recorded:
        raise AssertionError(f"{relative_path} does not end with cli.run_lab(...)")
    return recorded["main"], recorded["doc"], recorded["add_arguments"], recorded["run"]


def same_worker(name: str):
    """Mark tests that share one expensive run (or must not overlap) to run in one test process.

    With several test processes (pytest-xdist, ``--dist loadgroup``) tests with
    the same ``name`` go to the same process, where a session-scoped run is made
    once; with one process the mark changes nothing.
    """
    return pytest.mark.xdist_group(name)


CNN = "labs/mnist/_02_cnn.py"


def needs_the_trained_model(test):
    """A test that needs the MNIST CNN trained to about 99% (fixture ``trained_model``).

    A whole training run: such tests run with ``pytest -m training_run`` (which
    .ci/run does), and one test process trains it for all of them.
    """
    return pytest.mark.training_run(same_worker("recognizer-model")(test))


# Tests that need only a network that reads clear digits use the CNN lab's smoke run (one epoch on
# 2,000 images; fixture ``smoke_model``), which the smoke test makes anyway: in the same process.
uses_the_smoke_model = same_worker(CNN)


def headless_env(**extra) -> dict:
    """The environment of a user with no display and no smoke switch set."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND", cli.SMOKE_ENV, "TF_CPP_MIN_LOG_LEVEL"}}
    env.update(extra)
    return env


def run_script(relative_path: str, *argv: str, cwd, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a lab the way a user does: a new Python process, from another working directory."""
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / relative_path), *argv],
        cwd=cwd, env=headless_env(), capture_output=True, text=True, timeout=timeout,
    )


@dataclasses.dataclass
class LabRun:
    """One run of a lab: its exit status, what it printed, what its ``main`` returned, its ``--out``."""
    returncode: int
    stdout: str
    stderr: str
    result: object
    out: Path


def run_in_process(relative_path: str, out_dir, *argv: str) -> LabRun:
    """Run a lab as ``python <lab> <argv> --out <out_dir>`` does, but in this process.

    The lab goes through ``cli.run_lab`` itself, so parsing, seeding, the
    device line and the exit status are the program's own; only the new Python
    process and TensorFlow start-up (about 4 s each) are saved. ``stdout`` and
    ``stderr`` hold what the lab's Python code printed; what TensorFlow's
    native code writes to the process's file descriptors is not in them, so
    checks on that run the lab with ``run_script``.
    """
    main, doc, add_arguments, run = lab_entry(relative_path)
    returned = {}
    execute = cli.execute

    def execute_and_keep(*arguments):
        returned["result"] = execute(*arguments)
        return returned["result"]

    stdout, stderr = io.StringIO(), io.StringIO()
    returncode = None
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
            mock.patch.object(cli, "execute", execute_and_keep):
        try:
            cli.run_lab(main, doc, add_arguments, run=run, argv=[*argv, "--out", str(out_dir)])
        except SystemExit as stopped:
            returncode = stopped.code
    return LabRun(returncode, stdout.getvalue(), stderr.getvalue(), returned.get("result"), Path(out_dir))


def assert_steps_are_gradient_steps(steps: dict, gradients: dict, learning_rate: float, tolerance=1e-6):
    """Each hand-written step equals -learning_rate times its gradient, to a relative ``tolerance``."""
    import numpy as np

    for name, gradient in gradients.items():
        expected = -learning_rate * gradient.numpy()
        relative_error = np.linalg.norm(steps[name].numpy() - expected) / np.linalg.norm(expected)
        assert relative_error <= tolerance, f"{name}: relative error {relative_error:.2e}"


def run_main(relative_path: str, out_dir, *argv: str) -> dict:
    """Call a lab's main() in this process, as ``cli.run_lab`` would, with figures in ``out_dir``.

    Unlike ``run_in_process``, a lab's error is raised here, not turned into an exit status.
    """
    main, doc, add_arguments, run = lab_entry(relative_path)
    args = cli.parse_args(doc, ["--out", str(out_dir), *argv], add_arguments, REPO_ROOT / relative_path)
    return cli.execute(main, args, run)
