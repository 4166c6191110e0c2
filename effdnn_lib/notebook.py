"""What every notebook does first, and how it shows library code to the reader."""

from __future__ import annotations

import inspect
import random

import numpy as np
import torch

from .plotting import use_style


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0, threads: int | None = None) -> None:
    """Seed everything, apply the course plotting style and, optionally, fix torch's threads.

    Small models train faster on one thread on a 2-core laptop (chapter 0 measures it), so
    chapters that train small models pass ``threads=1``.
    """
    seed_everything(seed)
    use_style()
    if threads is not None:
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int or None; got {threads!r}")
        torch.set_num_threads(threads)
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)


def show_source(obj):
    """Display the source code of a library function or class, highlighted.

    Notebooks use it to put the algorithm's own code in front of the reader, so that what is
    explained is exactly what runs.
    """
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")
