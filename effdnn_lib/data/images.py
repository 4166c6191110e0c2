"""Small image data sets for convolutional networks, offline by default.

:func:`load_shifted_digits`
    scikit-learn's handwritten digits, enlarged and placed at a random position on a larger,
    noisy canvas. Where a digit sits now varies, so a classifier needs features that tolerate
    shifts: a stack of convolutions and poolings builds them, one shallow layer cannot. This is
    what makes depth matter on a data set that trains in seconds on a laptop CPU.
:func:`load_cifar10`
    The CIFAR-10 python batches, *only if they are already on disk*: the course never downloads.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..checks import check_fits_in_memory, check_int, check_number
from .digits import Split


def shift_digits(
    images: np.ndarray, canvas: int, digit_size: int, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """Enlarge each ``8 x 8`` image to ``digit_size`` pixels (bilinear) and paste it at a uniformly
    random position on a ``canvas x canvas`` image of Gaussian noise with standard deviation
    ``noise``. Pixel values of the digit are in ``[0, 1]``. Returns ``(n, 1, canvas, canvas)``."""
    n = len(images)
    small = torch.from_numpy(images.reshape(n, 1, 8, 8).astype(np.float32))
    big = F.interpolate(small, size=(digit_size, digit_size), mode="bilinear", align_corners=False).numpy()
    out = (noise * rng.standard_normal((n, 1, canvas, canvas))).astype(np.float32)
    room = canvas - digit_size
    rows = rng.integers(0, room + 1, size=n)
    cols = rng.integers(0, room + 1, size=n)
    for i in range(n):
        out[i, 0, rows[i] : rows[i] + digit_size, cols[i] : cols[i] + digit_size] += big[i, 0]
    return out


def load_shifted_digits(
    canvas: int = 16,
    digit_size: int = 12,
    copies: int = 2,
    noise: float = 0.1,
    test_fraction: float = 0.25,
    val_fraction: float = 0.15,
    seed: int = 0,
) -> dict[str, Split]:
    """Shifted digits: ``{"train", "val", "test"}`` splits of shape ``(n, 1, canvas, canvas)``.

    The 1,797 source images are split first (so no handwritten sample appears in two splits),
    then each source image is drawn ``copies`` times at independent random positions with fresh
    noise. Inputs are standardised with the training split's single mean and standard deviation
    (one number each, as befits convolutions, which share weights across positions).
    """
    canvas = check_int("canvas", canvas, 8, 256)
    digit_size = check_int("digit_size", digit_size, 4, canvas)
    copies = check_int("copies", copies, 1, 100)
    noise = check_number("noise", noise, low=0, high=10)
    test_fraction = check_number("test_fraction", test_fraction, low=0.01, high=0.9, high_open=True)
    val_fraction = check_number("val_fraction", val_fraction, low=0.0, high=1 - test_fraction - 0.05, high_open=True)
    n_images = 1797 * copies
    check_fits_in_memory(f"load_shifted_digits(canvas={canvas}, copies={copies})", 20.0 * n_images * canvas * canvas)
    from sklearn.datasets import load_digits as sk_load_digits

    data = sk_load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.target))
    x_src = data.data[order] / 16.0
    y_src = data.target[order].astype(np.int64)
    n_test = int(round(test_fraction * len(order)))
    n_val = int(round(val_fraction * len(order)))
    parts = {"train": slice(n_test + n_val, None), "val": slice(n_test, n_test + n_val), "test": slice(0, n_test)}
    arrays = {}
    for name, s in parts.items():
        x = np.concatenate([shift_digits(x_src[s], canvas, digit_size, noise, rng) for _ in range(copies)])
        y = np.tile(y_src[s], copies)
        arrays[name] = (x, y)
    mean, std = float(arrays["train"][0].mean()), float(arrays["train"][0].std())
    return {
        name: Split(torch.from_numpy(((x - mean) / std).astype(np.float32)), torch.from_numpy(y))
        for name, (x, y) in arrays.items()
    }


CIFAR10_ENV_VAR = "EFFDNN_CIFAR10"

# The only globals a genuine CIFAR-10 python batch refers to: NumPy's array and scalar reconstruction
# (under NumPy 1's and NumPy 2's module names). Everything else in it is dicts, lists, ints and bytes.
_CIFAR10_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes bytes in the protocol-2 pickles of Python 2's format
}


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that admits only what the CIFAR-10 batches contain, so a crafted file cannot run
    code: any other global (``os.system``, ``builtins.eval``, ...) is refused before it is looked up."""

    def find_class(self, module, name):
        if (module, name) in _CIFAR10_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of the CIFAR-10 batch format")


def read_cifar10_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch as ``(images, labels)``: uint8 ``(n, 3, 32, 32)`` and int64 ``(n,)``.

    The file is read with a restricted unpickler (only NumPy arrays, dicts, lists, ints and bytes, no
    code), and its contents are checked: ``data`` an ``(n, 3072)`` uint8 array, ``labels`` ``n``
    integers in ``0..9``. A file that is not such a batch raises ``ValueError`` naming it.
    """
    try:
        with open(path, "rb") as handle:
            batch = _CifarUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, MemoryError) as error:
        raise ValueError(f"{path} is not a CIFAR-10 python batch (it could not be read safely: {error})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: expected a dict with b'data' and b'labels'")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: b'data' must be a uint8 array of shape (n, 3072); got {type(data).__name__} {getattr(data, 'shape', '')}")
    if not isinstance(labels, (list, np.ndarray)) or len(labels) != len(data):
        raise ValueError(f"{path}: b'labels' must list one label per image ({len(data)}); got {len(labels) if hasattr(labels, '__len__') else labels!r}")
    y = np.asarray(labels)
    if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise ValueError(f"{path}: b'labels' must be integers in 0..9")
    return data.reshape(-1, 3, 32, 32), y.astype(np.int64)



def load_cifar10(path: str | os.PathLike | None = None, val_size: int = 5000, limit: int | None = None) -> dict[str, Split]:
    """CIFAR-10 from the python pickle batches on disk, if you already have them; never downloads.

    ``path`` is the ``cifar-10-batches-py`` folder (``data_batch_1`` ... ``data_batch_5``,
    ``test_batch``); without it, the environment variable ``EFFDNN_CIFAR10`` names it. The last
    ``val_size`` training images become the validation split. ``limit`` keeps only the first
    images of each split (for quick runs). Images are ``(n, 3, 32, 32)`` float32, standardised per
    channel with the training split's statistics. Raises ``FileNotFoundError`` with a readable
    message when the files are not there.
    """
    if path is None:
        path = os.environ.get(CIFAR10_ENV_VAR)
        if not path:
            raise FileNotFoundError(
                f"CIFAR-10 is optional and never downloaded: pass path= or set {CIFAR10_ENV_VAR} to a local "
                "'cifar-10-batches-py' folder (data_batch_1..5, test_batch)."
            )
    folder = Path(path)
    train_files = [folder / f"data_batch_{i}" for i in range(1, 6)]
    missing = [str(f) for f in train_files + [folder / "test_batch"] if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 batches not found (the course never downloads them): {', '.join(missing)}")
    val_size = check_int("val_size", val_size, 0)
    if limit is not None:
        limit = check_int("limit", limit, 1)

    def read(files):
        xs, ys = [], []
        for f in files:
            x, y = read_cifar10_batch(f)
            xs.append(x)
            ys.append(y)
        return np.concatenate(xs).astype(np.float32) / 255.0, np.concatenate(ys)

    x_train, y_train = read(train_files)
    x_test, y_test = read([folder / "test_batch"])
    if val_size >= len(y_train):
        raise ValueError(f"val_size must be smaller than the {len(y_train)} training images; got {val_size}")
    cut = len(y_train) - val_size
    arrays = {"train": (x_train[:cut], y_train[:cut]), "val": (x_train[cut:], y_train[cut:]), "test": (x_test, y_test)}
    mean = arrays["train"][0].mean(axis=(0, 2, 3), keepdims=True)
    std = arrays["train"][0].std(axis=(0, 2, 3), keepdims=True)
    out = {}
    for name, (x, y) in arrays.items():
        if limit is not None:
            x, y = x[:limit], y[:limit]
        out[name] = Split(torch.from_numpy(((x - mean) / std).astype(np.float32)), torch.from_numpy(y.copy()))
    return out
