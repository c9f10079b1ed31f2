"""Helpers for the tests: find labs, load them, run them as a user would."""
import importlib.util
import os
import re
import subprocess
import sys

from common import cli, paths

REPO_ROOT = paths.REPO_ROOT
LAB_FILE_PATTERN = re.compile(r"^_\d+_\w+\.py$")


def discover_labs() -> list:
    """Every numbered lab below labs/, sub-folders included, as paths relative to the checkout."""
    found = [path for path in paths.LABS_DIR.rglob("_*.py") if LAB_FILE_PATTERN.match(path.name)]
    return sorted(path.relative_to(REPO_ROOT).as_posix() for path in found)


def load_lab(relative_path: str):
    """Import a lab file as a module without running it (labs do nothing at import)."""
    path = REPO_ROOT / relative_path
    module_name = "lab_" + re.sub(r"\W", "_", relative_path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def assert_steps_are_gradient_steps(steps: dict, gradients: dict, learning_rate: float, tolerance=1e-6):
    """Each hand-written step equals -learning_rate times its gradient, to a relative ``tolerance``."""
    import numpy as np

    for name, gradient in gradients.items():
        expected = -learning_rate * gradient.numpy()
        relative_error = np.linalg.norm(steps[name].numpy() - expected) / np.linalg.norm(expected)
        assert relative_error <= tolerance, f"{name}: relative error {relative_error:.2e}"


def run_main(relative_path: str, out_dir, *argv: str) -> dict:
    """Call a lab's main() in this process, as ``cli.run_lab`` would, with figures in ``out_dir``."""
    lab = load_lab(relative_path)
    args = cli.parse_args(lab.__doc__, ["--out", str(out_dir), *argv], getattr(lab, "add_arguments", None),
                          lab.__file__)
    return cli.execute(lab.main, args)
