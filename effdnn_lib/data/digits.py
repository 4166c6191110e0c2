"""Handwritten digits: the UCI optical-recognition set that scikit-learn ships (offline).

1,797 images of 8 x 8 pixels (values 0-16), ten classes. Small enough to train on in seconds on
a laptop CPU, real enough that optimizers and regularizers behave as they do on larger sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..checks import check_int, check_number


@dataclass(frozen=True)
class Split:
    """Tensors of one data split: inputs ``x`` (float32) and integer class labels ``y``."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self):
        for name in ("x", "y"):
            if not isinstance(getattr(self, name), torch.Tensor):
                raise TypeError(f"Split.{name} must be a torch.Tensor; got {type(getattr(self, name)).__name__}")
        if self.x.ndim == 0 or self.y.ndim != 1 or len(self.x) != len(self.y):
            raise ValueError(f"Split needs x with one row per label in y (1-d); got x {tuple(self.x.shape)} and y {tuple(self.y.shape)}")

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device) -> "Split":
        return Split(self.x.to(device), self.y.to(device))


def load_digits(
    test_fraction: float = 0.25,
    val_fraction: float = 0.0,
    seed: int = 0,
    standardize: bool = True,
    images: bool = False,
) -> dict[str, Split]:
    """Load, shuffle and split the digits into ``{"train", "val", "test"}`` (``val`` may be empty).

    ``standardize`` rescales each pixel with the training split's mean and standard deviation
    (pixels that are constant in training are left at zero). ``images=True`` returns inputs of
    shape ``(n, 1, 8, 8)`` for convolutional networks, ``False`` flat vectors of 64.
    """
    test_fraction = check_number("test_fraction", test_fraction, low=0, high=1, low_open=True, high_open=True)
    val_fraction = check_number("val_fraction", val_fraction, low=0, high=1 - test_fraction, high_open=True)
    check_int("seed", seed, 0)
    for name, flag in (("standardize", standardize), ("images", images)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False; got {flag!r}")
    from sklearn.datasets import load_digits as sk_load_digits

    data = sk_load_digits()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    n_test = int(round(test_fraction * len(y)))
    n_val = int(round(val_fraction * len(y)))
    parts = {
        "test": slice(0, n_test),
        "val": slice(n_test, n_test + n_val),
        "train": slice(n_test + n_val, len(y)),
    }
    if standardize:
        train = x[parts["train"]]
        mean, std = train.mean(axis=0), train.std(axis=0)
        x = np.where(std > 0, (x - mean) / np.where(std > 0, std, 1), 0.0).astype(np.float32)
    else:
        x = x / 16.0
    if images:
        x = x.reshape(-1, 1, 8, 8)
    return {name: Split(torch.from_numpy(x[s].copy()), torch.from_numpy(y[s].copy())) for name, s in parts.items()}


def relabel(y: torch.Tensor, fraction: float, seed: int, n_classes: int = 10) -> torch.Tensor:
    """A copy of the labels ``y`` in which a random ``fraction`` is replaced by random classes (which
    are sometimes the right one): label noise for experiments on overfitting (chapters 5 and 6)."""
    check_number("fraction", fraction, low=0, high=1)
    check_int("seed", seed, 0)
    check_int("n_classes", n_classes, 2)
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.is_floating_point():
        raise TypeError(f"y must be a 1-d tensor of integer labels; got {type(y).__name__} {getattr(y, 'dtype', '')}")
    g = torch.Generator().manual_seed(seed)
    y = y.clone()
    flip = torch.rand(len(y), generator=g) < fraction
    y[flip] = torch.randint(0, n_classes, (int(flip.sum()),), generator=g)
    return y
