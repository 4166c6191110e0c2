"""Self-checks for chapter 13, *A checklist for training efficiently, applied end to end*."""

from __future__ import annotations

import statistics

from ..checks import check_int
from . import Verdict, check_close, report


def _counts(name: str, values) -> list[int]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of example counts; got {type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one example count")
    return [check_int(name, v, 1) for v in values]


def median_speedup(answer, naive, checklist) -> Verdict:
    """Exercise 1: how many times fewer examples the checklist needs, median against median."""
    expected = statistics.median(_counts("naive", naive)) / statistics.median(_counts("checklist", checklist))
    hint = "Take the median of each arm's examples-to-target over the seeds, then divide the naive one by the checklist one."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a ratio. " + hint)
    return check_close("Exercise 1", answer, expected, rel_tol=1e-3, hint=hint)


def training_flops(answer, n_parameters: int, examples: int) -> Verdict:
    """Exercise 2: multiply-add FLOPs of training an MLP on ``examples`` examples (forward + backward)."""
    check_int("n_parameters", n_parameters, 1)
    check_int("examples", examples, 1)
    expected = 6 * n_parameters * examples
    hint = ("Forward: 2 FLOP (a multiply and an add) per weight per example; backward: twice the forward "
            "(the gradients with respect to the inputs and to the weights).")
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a number of FLOPs. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-6, hint=hint)
