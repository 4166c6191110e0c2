"""Handwritten digits: the UCI optical-recognition set that scikit-learn ships (offline).

1,797 images of 8 x 8 pixels (values 0-16), ten classes. Small enough to train on in seconds on
a laptop CPU, real enough that optimizers and regularizers behave as they do on larger sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..checks import check_number


@dataclass(frozen=True)
class Split:
    """Tensors of one data split: inputs ``x`` (float32) and integer class labels ``y``."""

    x: torch.Tensor
    y: torch.Tensor

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
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    if not 0 <= val_fraction < 1 - test_fraction:
        raise ValueError(f"val_fraction must be in [0, 1 - test_fraction); got {val_fraction}")
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
    g = torch.Generator().manual_seed(seed)
    y = y.clone()
    flip = torch.rand(len(y), generator=g) < fraction
    y[flip] = torch.randint(0, n_classes, (int(flip.sum()),), generator=g)
    return y
