"""Where the checkout's folders are, wherever the lab is started from; loading a lab by its path."""
import importlib.util
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = REPO_ROOT / "labs"
DATA_DIR = REPO_ROOT / "data"
OUTPUTS_DIR = REPO_ROOT / "outputs"
RESOURCES_DIR = REPO_ROOT / "resources"
# The file labs/mnist/_02_cnn.py saves its trained network as, and the draw-a-digit recognizer reads.
MNIST_CNN_FILE = "mnist_cnn.keras"


def lab_name(lab_file) -> str:
    """Name a lab by its path below ``labs/``: ``_03_single_perceptron`` or ``mnist/_01_mlp``."""
    path = Path(lab_file).resolve()
    try:
        relative = path.relative_to(LABS_DIR)
    except ValueError:
        relative = Path(path.name)
    return relative.with_suffix("").as_posix()


def load_lab(lab_file):
    """Import a lab file (a path, or one relative to the checkout) as a module, without running it.

    Labs do nothing at import, so tests, benchmarks and tools can read a lab's
    constants and call its functions. As when Python runs a script, the lab's
    folder goes on the module path (the recognizer imports its parts from
    there), and the module is registered in ``sys.modules``, under a name
    made from the lab's.
    """
    path = Path(lab_file)
    if not path.is_absolute():
        path = REPO_ROOT / path
    put_folder_on_path(path)
    module_name = "lab_" + re.sub(r"\W", "_", lab_name(path))
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def put_folder_on_path(lab_file) -> None:
    """Let a lab's ``import`` find the modules beside it, as ``python <lab>`` does."""
    folder = str(Path(lab_file).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
