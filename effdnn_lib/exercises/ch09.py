"""Self-checks for chapter 9, *RAN with an extended Kalman filter*."""

from __future__ import annotations

import numpy as np

from ..ran import kalman_gain, recursive_least_squares
from . import Verdict, check_close, check_count, report


def scalar_gain(answer, P: float, a: float, r: float) -> Verdict:
    """Exercise 1: the Kalman gain for one parameter with variance ``P``, gradient ``a``, noise ``r``."""
    expected = float(kalman_gain(P, a, r)[0])
    hint = "k = P a / (r + a P a)."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 1", answer, expected, rel_tol=1e-4, hint=hint)


def covariance_entries(answer, net) -> Verdict:
    """Exercise 2: how many numbers the covariance matrix P of the fitted RAN-EKF ``net`` holds."""
    expected = net.P_.size
    hint = "P is square; its side is the length of the parameter vector: the bias, plus a weight and a centre per unit."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a whole number. " + hint)
    return check_count("Exercise 2", answer, expected, hint=hint)


def ridge_penalty(answer, p0: float, r: float) -> Verdict:
    """Exercise 3: the ridge penalty lambda for which batch ridge regression equals RLS(p0, r).

    The check runs recursive least squares on a small random problem and compares its weights
    with the batch solution (X^T X + lambda I)^-1 X^T y for the learner's lambda.
    """
    hint = "Write the RLS posterior after all samples: P^-1 = I / p0 + X^T X / r."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number. " + hint)
    try:
        lam = float(answer)
    except (TypeError, ValueError):
        return report("Exercise 3", False, "Expected a number. " + hint)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=20)
    w_rls, _ = recursive_least_squares(X, y, p0=p0, r=r)
    w_ridge = np.linalg.solve(X.T @ X + lam * np.eye(3), X.T @ y)
    return report("Exercise 3", bool(np.allclose(w_rls, w_ridge, rtol=1e-6, atol=1e-9)), hint)
