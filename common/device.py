"""Choose the device a lab runs on: ``--device auto|cpu|gpu``.

Labs run their work inside ``with tf.device(name):``; ``cli.run_lab`` does
that for them with the name chosen here.
"""
import tensorflow as tf

from common.errors import LabError

CHOICES = ("auto", "cpu", "gpu")


def visible_devices() -> list:
    """The physical devices TensorFlow can see, e.g. ``['CPU:0', 'GPU:0']``."""
    return [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]


def _allow_gpu_memory_growth(gpus) -> None:
    # By default TensorFlow reserves nearly all GPU memory at start; growing
    # on demand lets other programs (and a second lab) share the card.
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # Already initialised by an earlier call in this process.


def resolve(choice: str) -> str:
    """Turn a ``--device`` choice into a TensorFlow device name such as ``/CPU:0``.

    ``auto`` takes the first GPU if TensorFlow sees one, else the CPU. ``gpu``
    with no GPU visible is a ``LabError`` naming what TensorFlow does see.
    """
    if choice not in CHOICES:
        raise LabError(f"--device must be one of {', '.join(CHOICES)}, not {choice!r}")
    gpus = tf.config.list_physical_devices("GPU")
    _allow_gpu_memory_growth(gpus)
    if choice == "cpu":
        return "/CPU:0"
    if gpus:
        return "/GPU:0"
    if choice == "gpu":
        raise LabError(
            "--device gpu: TensorFlow sees no GPU (it sees "
            + ", ".join(visible_devices())
            + "); run with --device cpu or --device auto, or install a GPU build of TensorFlow"
        )
    return "/CPU:0"


def describe(choice: str, name: str) -> str:
    """The one line a lab prints about where it runs."""
    if choice == "auto" and name.startswith("/CPU"):
        return f"Device: {name} (auto: no GPU visible)"
    return f"Device: {name} ({choice})"
