"""Self-checks for the exercises: one module per chapter (``ch00``, ``ch01``, ...).

Each check compares a learner's answer with a value the library computes (never a stored
constant), prints whether it is right, and returns a :class:`Verdict`: true or false like a bool,
but shown as nothing when it ends a notebook cell (the printed line already says it, and a bare
``True``/``False`` under it would only repeat it).
"""

from __future__ import annotations

import math


class Verdict:
    """The result of a self-check: ``bool(verdict)`` is whether the answer is right.

    A notebook shows the value of a cell's last expression; a bool would echo ``True`` or ``False``
    under the printed verdict. IPython calls ``_ipython_display_`` instead of showing the value, and
    this one shows nothing, so a check that ends a cell prints its one line and no more."""

    __slots__ = ("ok",)

    def __init__(self, ok: bool) -> None:
        self.ok = bool(ok)

    def __bool__(self) -> Verdict:
        return self.ok

    def __eq__(self, other) -> Verdict:
        if isinstance(other, Verdict):
            return self.ok == other.ok
        if isinstance(other, bool):
            return self.ok == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.ok)

    def __repr__(self) -> str:
        return f"Verdict({self.ok})"

    def _ipython_display_(self) -> None:
        """Show nothing: the verdict line was printed when the check ran."""


def report(name: str, ok: bool, hint: str = "") -> Verdict:
    """Print a one-line verdict for exercise ``name`` and return it as a :class:`Verdict`."""
    if ok:
        print(f"{name}: correct.")
    else:
        print(f"{name}: not yet. {hint}".rstrip())
    return Verdict(ok)


#: The smallest relative tolerance of a check on a real number: a correct answer computed in float32
#: (machine epsilon 1.2e-7, a few dozen roundings) must pass, while a wrong formula is off by far more.
FLOAT32_REL_TOL = 1e-5


def _as_number(answer) -> float | None:
    """``answer`` as a float, or ``None`` if it is not one number (str, bool, None, a list, a tensor
    of several elements ...): a check never crashes on what a learner types."""
    if answer is None or isinstance(answer, (str, bytes, bool)) or type(answer).__name__ == "bool_":
        return None
    try:
        return float(answer)
    except Exception:  # noqa: BLE001 - anything that is not one number is simply not an answer
        return None


def check_close(name: str, answer, expected: float, rel_tol: float = 1e-6, abs_tol: float = 0.0, hint: str = "") -> Verdict:
    """Check a number against the expected value within a relative/absolute tolerance.

    A relative tolerance is never tighter than :data:`FLOAT32_REL_TOL`, so an answer computed in
    float32 passes; ``rel_tol=0`` with an absolute tolerance checks an exact quantity. NaN, infinities
    and anything that is not one number are "not yet", never an exception."""
    value = _as_number(answer)
    if value is None:
        return report(name, False, f"Expected a number, got {type(answer).__name__}. {hint}".rstrip())
    if rel_tol > 0:
        rel_tol = max(rel_tol, FLOAT32_REL_TOL)
    ok = math.isfinite(value) and math.isclose(value, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    return report(name, ok, hint)


def _as_count(answer) -> int | None:
    value = _as_number(answer)
    if value is None or not math.isfinite(value) or abs(value - round(value)) > 1e-9:
        return None
    return round(value)


def check_count(name: str, answer, expected: int, hint: str = "") -> Verdict:
    """Check a whole number (steps, epochs, parameters): the answer must be that integer (``3.0`` is
    fine, ``3.4`` is not)."""
    value = _as_count(answer)
    if value is None:
        return report(name, False, f"Expected a whole number, got {answer!r}. {hint}".rstrip())
    return report(name, value == expected, hint)


def check_counts(name: str, answer, expected: tuple[int, ...], what: str, hint: str = "") -> Verdict:
    """Check a tuple of whole numbers, such as ``(best_epoch, stopped_epoch)``; ``what`` names it."""
    if not isinstance(answer, (tuple, list)) or len(answer) != len(expected):
        return report(name, False, f"Set your_answer to {what}. {hint}".rstrip())
    values = tuple(_as_count(a) for a in answer)
    if any(v is None for v in values):
        return report(name, False, f"Expected whole numbers in {what}, got {answer!r}. {hint}".rstrip())
    return report(name, values == tuple(expected), hint)
