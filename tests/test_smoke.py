"""Every numbered lab, run as a user runs it, in smoke mode and with no display."""
import pytest

from labtools import discover_labs, load_lab, run_script

LABS = discover_labs()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_discovery_finds_the_labs():
    # Guards the smoke test below against passing because it found nothing.
    assert "labs/_01_perceptron_learn_rule.py" in LABS
    assert "labs/_03_single_perceptron.py" in LABS


@pytest.mark.parametrize("lab_path", LABS)
def test_lab_runs_in_smoke_mode(lab_path, tmp_path):
    out_dir = tmp_path / "out"
    work_dir = tmp_path / "elsewhere"
    work_dir.mkdir()
    result = run_script(lab_path, "--smoke", "--out", str(out_dir), cwd=work_dir)

    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines()[0].startswith("Device: /CPU:0") or \
        result.stdout.splitlines()[0].startswith("Device: /GPU:0"), result.stdout
    figures = load_lab(lab_path).FIGURES
    for name in figures:
        figure = out_dir / name
        assert figure.is_file(), f"{lab_path} did not write {name}"
        assert figure.read_bytes()[:8] == PNG_SIGNATURE, f"{figure} is not a PNG"
    written = sorted(path.name for path in out_dir.rglob("*.png"))
    assert written == sorted(figures), f"{lab_path} wrote {written}, declares {figures}"
