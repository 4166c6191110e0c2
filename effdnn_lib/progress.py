"""Progress bars for loops that take more than a couple of seconds.

``progress`` wraps ``tqdm.auto`` (a widget in JupyterLab, text in a terminal). A progress bar
is transient: it shows elapsed time and speed, which differ on every run. The course's build
and test commands therefore set ``EFFDNN_PROGRESS=0`` so that the notebooks committed with
outputs, and the website, hold results rather than progress bars; a learner running the
notebook sees the bars.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from tqdm.auto import tqdm

ENV_VAR = "EFFDNN_PROGRESS"


def progress_enabled() -> bool:
    """False when ``EFFDNN_PROGRESS`` is ``0``, ``false``, ``off`` or ``no``."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in {"0", "false", "off", "no"}


def progress(iterable: Iterable | None = None, desc: str | None = None, total: int | None = None, **kwargs):
    """A ``tqdm.auto`` progress bar that the course's build can switch off.

    Takes the same keyword arguments as ``tqdm``; the bar is removed when the loop ends.
    """
    kwargs.setdefault("leave", False)
    kwargs.setdefault("disable", not progress_enabled())
    return tqdm(iterable, desc=desc, total=total, **kwargs)
