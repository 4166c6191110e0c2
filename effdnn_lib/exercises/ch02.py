"""Self-checks for chapter 2, *Momentum and Nesterov*."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..optim import SGD
from ..surfaces import IllConditionedQuadratic, optimize
from . import Verdict, check_close, check_count, report


def _heavy_ball_rate(lr: float, momentum: float, curvatures) -> float:
    """Spectral radius of the heavy-ball iteration on a quadratic: the worst over its curvatures."""
    return max(
        float(np.abs(np.linalg.eigvals(np.array([[1 + momentum - lr * h, -momentum], [1.0, 0.0]]))).max())
        for h in curvatures
    )


def buffer_steady_state(answer, gradient: float, momentum: float) -> Verdict:
    """Exercise 1: the value SGD's momentum buffer settles at when the gradient is constant."""
    p = torch.zeros(1, dtype=torch.float64)
    opt = SGD([p], lr=0.0, momentum=momentum)
    for _ in range(2000):
        p.grad = torch.full((1,), float(gradient), dtype=torch.float64)
        opt.step()
    expected = opt.state[p]["momentum_buffer"].item()
    hint = "b = mu * b + g has a fixed point: solve b = mu * b + g."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 1", answer, expected, rel_tol=1e-6, hint=hint)


def optimal_heavy_ball_rate(answer, condition_number: float) -> Verdict:
    """Exercise 2: the convergence rate of heavy-ball momentum with the best step size and momentum."""
    q = IllConditionedQuadratic(condition_number)
    lr = 4 / (math.sqrt(q.L) + math.sqrt(q.mu)) ** 2
    momentum = ((math.sqrt(q.kappa) - 1) / (math.sqrt(q.kappa) + 1)) ** 2
    expected = _heavy_ball_rate(lr, momentum, q.curvatures.tolist())
    hint = "With the best tuning the rate is (sqrt(kappa) - 1) / (sqrt(kappa) + 1)."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a rate between 0 and 1. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-5, hint=hint)


def gd_steps_to_shrink(answer, condition_number: float, factor: float) -> Verdict:
    """Exercise 3: steps of gradient descent (best constant step) until the error shrinks by ``factor``."""
    q = IllConditionedQuadratic(condition_number)
    enough = math.ceil(math.log(factor) / math.log((q.kappa - 1) / (q.kappa + 1))) + 10  # a few spare steps
    run = optimize(q, lambda p: SGD(p, lr=2 / (q.mu + q.L)), start=(1.0, 1.0), n_steps=enough)
    norms = run.points.norm(dim=1)
    expected = int((norms >= factor * norms[0]).sum().item())  # steps taken while still above the target
    hint = "Each step multiplies the error by (kappa - 1) / (kappa + 1); solve rate**t <= factor for t."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number of steps. " + hint)
    return check_count("Exercise 3", answer, expected, hint=hint)
