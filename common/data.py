"""The bundled datasets: MNIST and Fashion-MNIST from ``data/``, checked before use.

``load_mnist()`` and ``load_fashion_mnist()`` return what ``keras.datasets``
returns, ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
(N, 28, 28) and uint8 labels of shape (N,). They read the original gzipped
IDX files in ``data/`` and check each file's SHA-256 first, so a damaged file
is a clear ``DataError``, never a silently wrong dataset. Only if a file is
missing do they fall back to the Keras download, and they say so.
"""
import hashlib
import sys
import zlib
from pathlib import Path

import numpy as np

from common import paths
from common.errors import LabError

# SHA-256 of each bundled .gz file, as listed in data/<set>/SHA256SUMS.
DATASETS = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
        "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
        "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
        "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    },
}

MNIST_CLASSES = tuple(str(digit) for digit in range(10))

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# IDX header: two zero bytes, a type code (0x08 = unsigned byte), the number
# of dimensions, then each dimension as a big-endian 32-bit integer.
_UNSIGNED_BYTE = 0x08
_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}


class DataError(LabError):
    """A bundled data file is damaged, truncated or not the expected one."""


def _shown(path: Path) -> str:
    """A path as the user best recognises it: relative to the checkout when inside it."""
    try:
        return Path(path).resolve().relative_to(paths.REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _restore_hint(path: Path) -> str:
    return (f"restore the original with `git checkout -- {_shown(path)}` "
            "(or copy it again from the source named in data/README.md)")


def parse_idx(content: bytes, expected_shape: tuple, source: str = "IDX data") -> np.ndarray:
    """Decode uncompressed IDX bytes into a uint8 array, checking the header against ``expected_shape``."""
    ndim = len(expected_shape)
    header_size = 4 + 4 * ndim
    if len(content) < header_size or content[0] != 0 or content[1] != 0:
        raise DataError(f"{source}: not an IDX file (bad header); expected an IDX file of shape {expected_shape}")
    if content[2] != _UNSIGNED_BYTE or content[3] != ndim:
        raise DataError(f"{source}: IDX header says type 0x{content[2]:02x} with {content[3]} dimensions; "
                        f"expected unsigned bytes (0x08) with {ndim}")
    shape = tuple(int.from_bytes(content[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if shape != tuple(expected_shape):
        raise DataError(f"{source}: IDX header says shape {shape}; expected {tuple(expected_shape)}")
    size = int(np.prod(shape))
    if len(content) != header_size + size:
        raise DataError(f"{source}: holds {len(content) - header_size} data bytes; "
                        f"the header's shape {shape} needs {size}")
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape).copy()


def read_idx_gz(path: Path, sha256: str, expected_shape: tuple) -> np.ndarray:
    """Read one gzipped IDX file after checking its SHA-256 against ``sha256``."""
    raw = Path(path).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise DataError(f"{_shown(path)} is damaged or not the original: its SHA-256 is {digest}, "
                        f"expected {sha256}; {_restore_hint(path)}")
    try:
        # wbits=31: a gzip stream; zlib is faster here than the gzip module.
        content = zlib.decompress(raw, wbits=31)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{_shown(path)} is not a complete gzip file ({error}); {_restore_hint(path)}") from None
    try:
        return parse_idx(content, expected_shape, _shown(path))
    except DataError as error:
        raise DataError(f"{error}; {_restore_hint(path)}") from None


def _load(name: str, data_dir, keras_fallback):
    folder = Path(data_dir if data_dir is not None else paths.DATA_DIR) / name
    digests = DATASETS[name]
    missing = [folder / filename for filename in digests if not (folder / filename).is_file()]
    if missing:
        return _download_instead(name, missing[0], keras_fallback)
    splits = []
    for images_file, labels_file, count in _SPLITS.values():
        images = read_idx_gz(folder / images_file, digests[images_file], (count, 28, 28))
        labels = read_idx_gz(folder / labels_file, digests[labels_file], (count,))
        splits.append((images, labels))
    return tuple(splits)


def _download_instead(name: str, missing: Path, keras_fallback):
    print(f"{_shown(missing)} is missing, so {name} is downloaded through keras.datasets instead "
          f"(needs the internet); to use the bundled copy again, {_restore_hint(missing.parent)}",
          file=sys.stderr)
    try:
        return keras_fallback()
    except Exception as error:  # Any network or file failure ends in the same advice.
        raise DataError(f"{_shown(missing)} is missing and the download failed ({error}); "
                        f"{_restore_hint(missing.parent)}") from None


def load_mnist(data_dir=None):
    """MNIST digits: ``(x_train, y_train), (x_test, y_test)``, 60,000 + 10,000 images."""
    import keras

    return _load("mnist", data_dir, keras.datasets.mnist.load_data)


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST clothes: same shapes as MNIST; class names in ``FASHION_MNIST_CLASSES``."""
    import keras

    return _load("fashion-mnist", data_dir, keras.datasets.fashion_mnist.load_data)


def scaled(images) -> np.ndarray:
    """uint8 pixels 0..255 as float32 values 0..1, the range the networks train on."""
    return np.asarray(images, dtype=np.float32) / 255.0


def limited(dataset, train_size=None, test_size=None):
    """The first ``train_size`` training and ``test_size`` test examples (None keeps all)."""
    (x_train, y_train), (x_test, y_test) = dataset
    return (x_train[:train_size], y_train[:train_size]), (x_test[:test_size], y_test[:test_size])


def split_validation(x, y, fraction: float = 0.1):
    """Hold out the last ``fraction`` of the training data for validation: ((x, y), (x_val, y_val)).

    The same examples every run, so a resumed run validates on the same set.
    """
    count = int(round(len(x) * fraction))
    if count < 1 or count >= len(x):
        raise ValueError(f"cannot hold out {fraction:.0%} of {len(x)} examples for validation")
    return (x[:-count], y[:-count]), (x[-count:], y[-count:])


def pipeline(images, labels, batch_size: int, shuffle_seed=None):
    """A tf.data pipeline of (image batch, label batch) for Keras.

    The images, already scaled, are cached in memory after the first pass;
    with ``shuffle_seed`` the order is reshuffled every epoch (training),
    without it the order is kept (validation, test). ``prefetch`` prepares the
    next batch while the current one trains.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
    # Under a multi-worker strategy each worker takes its share of every
    # batch. The arrays come from memory, not from files that could be dealt
    # out, so the share is cut from the data itself (every worker shuffles
    # alike, with the same seed). Without a strategy this option does nothing.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)
