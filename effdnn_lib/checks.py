"""Argument checks shared by the library's functions and classes (the optimizers have their own,
worded as ``torch.optim`` words them, in :mod:`effdnn_lib.optim._checks`).

Every message names the argument and the allowed range; a value of the wrong kind raises
``TypeError``, a value out of range (or not finite) raises ``ValueError``.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from numbers import Integral, Real

__all__ = ["check_number", "check_int", "check_fits_in_memory", "available_memory_bytes"]


def check_number(
    name: str,
    value,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in the interval from ``low`` to ``high`` (each end closed unless
    ``low_open``/``high_open``); NumPy scalars are accepted, ``bool`` is not."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number; got {type(value).__name__}")
    v = float(value)
    above = v > low if low_open else v >= low
    below = v < high if high_open else v <= high
    if not (math.isfinite(v) and above and below):
        if high == math.inf:
            allowed = f"a finite number {'>' if low_open else '>='} {low}"
        else:
            allowed = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return v


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an int with ``low <= value`` (and ``<= high`` when given); ``bool`` is refused."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {allowed}; got {value!r}")
    return int(value)


#: The share of the memory available when a call starts that one call may ask for.
MEMORY_FRACTION = 0.5


def available_memory_bytes() -> int:
    """Bytes of RAM available now (``MemAvailable`` on Linux; the free pages elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - no way to tell: do not refuse
        return 1 << 62


def check_fits_in_memory(what: str, nbytes: float, fraction: float = MEMORY_FRACTION) -> None:
    """Refuse, before allocating, a request whose estimated size ``nbytes`` exceeds ``fraction`` of
    the RAM available now (chapter 0's accounting: numbers x bytes per number). ``what`` names the
    request and the arguments that set its size."""
    limit = fraction * available_memory_bytes()
    if nbytes > limit:
        raise ValueError(
            f"{what} would need about {_format_bytes(nbytes)}, more than the limit of {_format_bytes(limit)} "
            f"({fraction:.0%} of the memory available now); choose smaller sizes"
        )


def _format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000


def checked_by(check):
    """Decorate ``fn`` so that ``check(arguments)`` runs first, with the call's arguments bound to
    ``fn``'s signature (defaults applied) as a dict. It adds argument checks to a function whose source
    a chapter prints (``show_source`` shows ``fn``'s own code, unchanged, through ``__wrapped__``)."""

    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{fn.__name__}(): {error}") from None
            bound.apply_defaults()
            check(bound.arguments)
            return fn(*args, **kwargs)

        return wrapper

    return decorate
