"""Self-checks for the exercises: one module per chapter (``ch00``, ``ch01``, ...).

Each check compares a learner's answer with a value the library computes (never a stored
constant), prints whether it is right, and returns ``True`` or ``False``.
"""

from __future__ import annotations

import math


def report(name: str, ok: bool, hint: str = "") -> bool:
    """Print a one-line verdict for exercise ``name`` and return ``ok``."""
    if ok:
        print(f"{name}: correct.")
    else:
        print(f"{name}: not yet. {hint}".rstrip())
    return ok


def check_close(name: str, answer, expected: float, rel_tol: float = 1e-6, abs_tol: float = 0.0, hint: str = "") -> bool:
    """Check a number against the expected value within a relative/absolute tolerance."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return report(name, False, f"Expected a number, got {type(answer).__name__}. {hint}")
    return report(name, math.isclose(value, expected, rel_tol=rel_tol, abs_tol=abs_tol), hint)
