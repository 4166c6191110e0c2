"""Self-checks for chapter 1, *Gradient descent: batch, stochastic and mini-batch*."""

from __future__ import annotations

import math

from ..data import load_digits
from ..surfaces import IllConditionedQuadratic
from . import Verdict, check_close, check_count, report


def updates_per_epoch(answer, batch_size: int) -> Verdict:
    """Exercise 1: parameter updates in one epoch over the digits' training split (last batch may be short)."""
    n_train = len(load_digits()["train"])
    expected = math.ceil(n_train / batch_size)
    hint = f"One update per mini-batch; the training split has {n_train} examples and the last batch may be smaller."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number of updates. " + hint)
    return check_count("Exercise 1", answer, expected, hint=hint)


def largest_stable_lr(answer, condition_number: float) -> Verdict:
    """Exercise 2: the learning rate above which gradient descent diverges on the quadratic."""
    q = IllConditionedQuadratic(condition_number)
    expected = 2 / q.L
    hint = "Along an eigenvector with curvature h the error is multiplied by (1 - lr * h) each step."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a learning rate. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-6, hint=hint)


def contraction_factor(answer, lr: float, condition_number: float) -> Verdict:
    """Exercise 3: the factor by which gradient descent shrinks the slowest error component per step."""
    q = IllConditionedQuadratic(condition_number)
    expected = max(abs(1 - lr * h) for h in q.curvatures.tolist())
    hint = "Take the largest |1 - lr * h| over the curvatures h (the Hessian's eigenvalues, mu = 1 and L = kappa)."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number between 0 and 1. " + hint)
    return check_close("Exercise 3", answer, expected, rel_tol=1e-6, hint=hint)
