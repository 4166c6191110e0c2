"""Self-checks for chapter 3, *Adaptive learning rates: AdaGrad, RMSprop, AdaDelta*."""

from __future__ import annotations

import torch

from ..optim import Adadelta, Adagrad, RMSprop
from ..checks import check_number
from . import Verdict, check_close, check_count, report


def _steps(optimizer_class, gradient: float, n_steps: int, **hyperparameters) -> tuple[list[float], dict]:
    """Run an optimizer on one parameter fed a constant gradient; return the step sizes and its state."""
    theta = torch.zeros(1, dtype=torch.float64)
    optimizer = optimizer_class([theta], **hyperparameters)
    steps = []
    for _ in range(n_steps):
        before = theta.clone()
        theta.grad = torch.full((1,), float(gradient), dtype=torch.float64)
        optimizer.step()
        steps.append((theta - before).abs().item())
    return steps, optimizer.state[theta]


def adagrad_step_after(answer, t: int, gradient: float, lr: float) -> Verdict:
    """Exercise 1: the size of AdaGrad's t-th step when every gradient is the same (eps = 0)."""
    steps, _ = _steps(Adagrad, gradient, t, lr=lr, eps=0.0)
    hint = "After t equal gradients the accumulator is G = t * g^2, so the step is lr * g / sqrt(t * g^2)."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a step size. " + hint)
    return check_close("Exercise 1", answer, steps[-1], rel_tol=1e-9, hint=hint)


def rmsprop_warm_up_steps(answer, alpha: float, fraction: float) -> Verdict:
    """Exercise 2: the first step at which RMSprop's square_avg reaches ``fraction`` of g^2 (constant g)."""
    check_number("alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    check_number("fraction", fraction, low=0, high=1, low_open=True, high_open=True)  # 1 - alpha^t < 1 always
    square_avgs = []
    theta = torch.zeros(1, dtype=torch.float64)
    optimizer = RMSprop([theta], lr=0.0, alpha=alpha)
    t = 0
    while True:
        t += 1
        theta.grad = torch.ones(1, dtype=torch.float64)
        optimizer.step()
        square_avgs.append(optimizer.state[theta]["square_avg"].item())
        if square_avgs[-1] >= fraction or t > 100_000:
            break
    hint = "With g = 1 and v_0 = 0, v_t = 1 - alpha^t; solve 1 - alpha^t >= fraction for the smallest t."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a number of steps. " + hint)
    return check_count("Exercise 2", answer, t, hint=hint)


def adadelta_first_step(answer, gradient: float, rho: float, eps: float) -> Verdict:
    """Exercise 3: the size of AdaDelta's very first step (lr = 1)."""
    steps, _ = _steps(Adadelta, gradient, 1, lr=1.0, rho=rho, eps=eps)
    hint = "Both running averages start at 0: the step is sqrt(0 + eps) / sqrt((1 - rho) g^2 + eps) * g."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a step size. " + hint)
    return check_close("Exercise 3", answer, steps[0], rel_tol=1e-9, hint=hint)
