"""Where the checkout's folders are, wherever the lab is started from."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = REPO_ROOT / "labs"
DATA_DIR = REPO_ROOT / "data"
OUTPUTS_DIR = REPO_ROOT / "outputs"
RESOURCES_DIR = REPO_ROOT / "resources"


def lab_name(lab_file) -> str:
    """Name a lab by its path below ``labs/``: ``_03_single_perceptron`` or ``mnist/_01_mlp``."""
    path = Path(lab_file).resolve()
    try:
        relative = path.relative_to(LABS_DIR)
    except ValueError:
        relative = Path(path.name)
    return relative.with_suffix("").as_posix()
