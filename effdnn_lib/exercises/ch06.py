"""Self-checks for chapter 6, *Regularization*.

The expected values come from PyTorch itself (``softshrink``, autograd, ``AdamW``, ``Dropout``),
an independent reference for the formulas the chapter derives.
"""

from __future__ import annotations

import torch

from ..checks import check_number
from . import Verdict, check_close, report


def soft_threshold(answer, v: float, threshold: float) -> Verdict:
    """Exercise 1: the proximal step of the L1 penalty, sign(v) * max(|v| - threshold, 0)."""
    expected = torch.nn.functional.softshrink(torch.tensor([v], dtype=torch.float64), threshold).item()
    hint = "Move v towards 0 by the threshold (eta * lambda), and stop at 0 if you would cross it."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 1", answer, expected, rel_tol=1e-9, abs_tol=1e-12, hint=hint)


def weight_decay_for_penalty(answer, lam: float) -> Verdict:
    """Exercise 2: the ``weight_decay`` of ``torch.optim.SGD`` equivalent to the penalty lam * sum theta^2."""
    theta = torch.tensor([0.7, -1.3], dtype=torch.float64, requires_grad=True)
    (lam * (theta**2).sum()).backward()
    expected = (theta.grad / theta).mean().item()  # SGD adds weight_decay * theta to the gradient
    hint = "SGD's weight_decay adds weight_decay * theta to the gradient; differentiate lam * theta^2."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-9, hint=hint)


def adamw_shrink_factor(answer, lr: float, weight_decay: float, steps: int) -> Verdict:
    """Exercise 3: the factor by which AdamW shrinks a weight whose gradient is always zero."""
    theta = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
    opt = torch.optim.AdamW([theta], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        theta.grad = torch.zeros_like(theta)
        opt.step()
    expected = theta.item()
    hint = "With a zero gradient Adam's own step is 0; the decoupled decay multiplies theta by (1 - lr * weight_decay) per step."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number between 0 and 1. " + hint)
    return check_close("Exercise 3", answer, expected, rel_tol=1e-9, hint=hint)


def dropout_scale(answer, p: float) -> Verdict:
    """Exercise 4: the factor by which ``nn.Dropout(p)`` multiplies the units it keeps during training."""
    check_number("p", p, low=0, high=1, high_open=True)  # p = 1 keeps no unit: there is no scale to check
    layer = torch.nn.Dropout(p).train()
    x = torch.ones(10_000, dtype=torch.float64)
    y = layer(x)
    expected = y[y != 0][0].item()
    hint = "The expected output must equal the input: a unit survives with probability 1 - p."
    if answer is None:
        return report("Exercise 4", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 4", answer, expected, rel_tol=1e-9, hint=hint)
