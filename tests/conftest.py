"""Fixtures shared by the tests, and how the tests share the machine's cores.

``pytest`` runs the tests in several processes (pytest-xdist, ``-n auto`` in
pyproject.toml). Each of them, and every lab a test starts from it, gets an
equal share of the cores for TensorFlow's operations, so that the processes do
not fight over them. This is set before TensorFlow starts, which is why it
comes before the imports below.
"""
import os

WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if WORKERS > 1 and "TF_NUM_INTRAOP_THREADS" not in os.environ:
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(max(1, (os.cpu_count() or 1) // WORKERS))

import pytest  # noqa: E402

# labtools (and with it TensorFlow) is imported where a fixture needs it: the process that
# only hands out tests to the others (pytest-xdist's) then never starts TensorFlow.

MAX_WORKERS = 4  # Each process holds TensorFlow and a data set: about 1 GB.


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one test process per core, at most MAX_WORKERS."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


@pytest.fixture
def run_lab_main(tmp_path):
    """Call a lab's main() in this process with the given flags; figures go to tmp_path."""

    from labtools import run_main

    def run(relative_path: str, *argv: str) -> dict:
        return run_main(relative_path, tmp_path, *argv)

    return run


def _once_per_flags(make):
    """A function of (lab, *flags) that calls ``make`` the first time and gives the same run after."""
    runs = {}

    def run(relative_path: str, *argv: str):
        if (relative_path, argv) not in runs:
            runs[relative_path, argv] = make(relative_path, *argv)
        return runs[relative_path, argv]

    return run


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory):
    """A lab run in this process (``labtools.run_in_process``), made once per set of flags.

    Tests that check the same run (the book's quoted output, the smoke test,
    a lab's own checks) share it instead of training again. They only read it.
    Mark such tests ``same_worker`` so that they share it under pytest-xdist too.
    """
    from labtools import run_in_process

    return _once_per_flags(lambda lab, *argv: run_in_process(lab, tmp_path_factory.mktemp("lab"), *argv))


@pytest.fixture(scope="session")
def script_run(tmp_path_factory):
    """A lab run as a new process from another folder (``labtools.run_script``), once per set of flags.

    A ``LabRun`` whose ``result`` is None: a separate process returns nothing but its output.
    """
    from labtools import LabRun, run_script

    def make(relative_path, *argv):
        folder = tmp_path_factory.mktemp("script")
        finished = run_script(relative_path, *argv, "--out", str(folder / "out"), cwd=folder)
        return LabRun(finished.returncode, finished.stdout, finished.stderr, None, folder / "out")

    return _once_per_flags(make)


def pytest_configure(config):
    """Refuse to run when tests marked ``same_worker`` would not be kept together.

    pytest-xdist keeps a group together by adding ``@group`` to each test's id,
    which pytest 9.2 no longer lets it do (pytest-xdist 3.8): the group's tests
    would run in different processes, each repeating the shared training.
    """
    if config.getoption("dist", None) != "loadgroup" or config.getoption("numprocesses", None) in (None, 0):
        return
    from importlib.metadata import version

    def major_minor(package):
        return tuple(int(part) for part in version(package).split(".")[:2])

    if major_minor("pytest") >= (9, 2) and major_minor("pytest-xdist") <= (3, 8):
        raise pytest.UsageError(
            f"pytest {version('pytest')} and pytest-xdist {version('pytest-xdist')} cannot keep grouped tests "
            "together; install the versions in requirements.txt (pip install -r requirements.txt), or run pytest -n 0")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """In each test process: the same check, on what pytest-xdist actually did."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            raise pytest.UsageError(f"pytest-xdist did not group {item.nodeid} with pytest {pytest.__version__}; "
                                    "install the versions in requirements.txt")


@pytest.fixture(scope="session")  # Session-wide: other tests may run between its users.
def trained_model(tmp_path_factory):
    """The MNIST CNN as its own lab trains it with --epochs 3 (about 99.4% test accuracy)."""
    from common import paths
    from labtools import CNN, run_in_process

    run = run_in_process(CNN, tmp_path_factory.mktemp("cnn"), "--epochs", "3")
    assert run.returncode == 0, run.stderr
    return run.out / paths.MNIST_CNN_FILE


@pytest.fixture
def smoke_model(lab_run):
    """The MNIST CNN saved by its lab's smoke run (about 73% test accuracy)."""
    from labtools import CNN

    run = lab_run(CNN, "--smoke")
    assert run.returncode == 0, run.stderr
    return run.result["model_path"]
