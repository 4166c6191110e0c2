"""Self-checks for chapter 8, *Resource-allocating networks*."""

from __future__ import annotations

import numpy as np

from ..data.mackey_glass_series import normalized_error
from ..ran import RAN
from . import Verdict, _as_number, check_close, report


def resolution(answer, n: int) -> Verdict:
    """Exercise 1: the resolution delta(n) of a RAN with Platt's defaults after ``n`` samples."""
    expected = RAN().delta(n)
    hint = "delta(n) = max(delta_max * exp(-n / tau), delta_min) with delta_max=0.7, delta_min=0.07, tau=43."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 1", answer, expected, rel_tol=1e-3, hint=hint)


def new_unit(answer, centres, weights, widths, bias, x, y) -> Verdict:
    """Exercise 2: ``(weight, width)`` of the unit a RAN allocates for the sample ``(x, y)``.

    The network is in the given state, with Platt's defaults and many samples seen (so that
    delta = delta_min); the check lets the library learn the sample and reads the new unit.
    """
    net = RAN()
    net.n_features_ = len(x)
    net.centres_ = np.array(centres, dtype=float)
    net.weights_ = np.array(weights, dtype=float)
    net.widths_ = np.array(widths, dtype=float)
    net.bias_ = float(bias)
    net._low_count = np.zeros(len(weights), dtype=int)
    net.n_seen_ = 10_000
    net.partial_fit(np.asarray(x, dtype=float), float(y))
    hint = "The weight is the error y - y_hat(x) before the unit; the width is kappa = 0.87 times the distance to the nearest centre."
    if net.n_units == len(weights):
        return report("Exercise 2", False, "This sample is not novel, so no unit is added: check the exercise's numbers.")
    if not isinstance(answer, (tuple, list, np.ndarray)) or np.size(answer) != 2:
        return report("Exercise 2", False, "Set your_answer to a pair (weight, width). " + hint)
    weight, width = (_as_number(v) for v in np.ravel(np.asarray(answer, dtype=object)))
    if weight is None or width is None:
        return report("Exercise 2", False, f"Expected two numbers, got {answer!r}. " + hint)
    ok = np.isclose(weight, net.weights_[-1], rtol=1e-3, atol=1e-4) and np.isclose(width, net.widths_[-1], rtol=1e-3)
    return report("Exercise 2", bool(ok), hint)


def persistence_error(answer, task) -> Verdict:
    """Exercise 3: normalized error of the 'persistence' forecast x_hat(t + 85) = x(t) on the test window."""
    expected = normalized_error(task.y_test, task.X_test[:, 0])
    hint = "The first input column is x(t); compare it with the targets x(t + 85) using normalized_error."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 3", answer, expected, rel_tol=1e-3, hint=hint)
