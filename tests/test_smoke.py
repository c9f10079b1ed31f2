"""Every numbered lab runs in smoke mode with no display: each in this process, a few as a user starts them.

In this process a lab goes through its real command line (``cli.run_lab``)
and saves only the start of a new Python and TensorFlow; the labs run as new
processes from another folder keep the user's own path covered: the script
itself, its exit status and what reaches the terminal.
"""
import pytest

from labtools import discover_labs, load_lab, same_worker

LABS = discover_labs()
# Started as `python labs/...` from another folder: the front page's first command and a compiled
# training loop. (The Keras labs run as new processes in test_common_training, test_common_distribute and
# test_lab_mnist_04_draw_a_digit; the first chapter's labs in test_labs_01_03_perceptron and test_common.)
AS_A_USER = ["labs/_03_single_perceptron.py", "labs/_07_bp_xor.py"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_discovery_finds_the_labs():
    # Guards the smoke tests below against passing because they found nothing.
    assert "labs/_01_perceptron_learn_rule.py" in LABS
    assert "labs/_03_single_perceptron.py" in LABS
    assert set(AS_A_USER) <= set(LABS)


def assert_smoke_run_is_clean(lab_path, run):
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr
    first_line = run.stdout.splitlines()[0]
    assert first_line.startswith("Device: /CPU:0") or first_line.startswith("Device: /GPU:0"), run.stdout
    figures = load_lab(lab_path).FIGURES
    for name in figures:
        figure = run.out / name
        assert figure.is_file(), f"{lab_path} did not write {name}"
        assert figure.read_bytes()[:8] == PNG_SIGNATURE, f"{figure} is not a PNG"
    written = sorted(path.name for path in run.out.rglob("*.png"))
    assert written == sorted(figures), f"{lab_path} wrote {written}, declares {figures}"


@pytest.mark.parametrize("lab_path", [pytest.param(lab, marks=same_worker(lab)) for lab in LABS])
def test_lab_runs_in_smoke_mode(lab_path, lab_run):
    assert_smoke_run_is_clean(lab_path, lab_run(lab_path, "--smoke"))


@pytest.mark.parametrize("lab_path", AS_A_USER)
def test_lab_runs_in_smoke_mode_as_a_new_process(lab_path, script_run):
    assert_smoke_run_is_clean(lab_path, script_run(lab_path, "--smoke"))
