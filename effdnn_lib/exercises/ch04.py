"""Self-checks for chapter 4, *Adam: from Algorithm 1 to AdamW*.

Every expected value is computed here by running the library's own optimizers
(:mod:`effdnn_lib.optim`), never taken from a stored constant.
"""

from __future__ import annotations

import numpy as np
import torch

from ..optim import Adam, Adamax, AdamW
from . import Verdict, check_close, report


def _as_float64(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _run(optimizer_class, theta0, gradients, **hyperparameters) -> torch.Tensor:
    """Parameters after one step per gradient in ``gradients`` (a callable of theta, or a list)."""
    theta = _as_float64(theta0).clone()
    opt = optimizer_class([theta], **hyperparameters)
    for g in gradients:
        theta.grad = _as_float64(g(theta) if callable(g) else g).reshape(theta.shape)
        opt.step()
    return theta


def first_adam_step(answer, theta0, grad, lr: float, eps: float = 1e-8) -> Verdict:
    """Exercise 1: the parameters after Adam's first step (default betas) from ``theta0`` with gradient ``grad``."""
    expected = _run(Adam, theta0, [grad], lr=lr, eps=eps)
    hint = "At t = 1 the bias corrections give m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps)."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a list of numbers. " + hint)
    try:
        got = _as_float64(answer).reshape(expected.shape)
    except (TypeError, ValueError, RuntimeError):
        return report("Exercise 1", False, f"Expected {expected.numel()} numbers. {hint}")
    return report("Exercise 1", bool(torch.allclose(got, expected, rtol=1e-6, atol=1e-9)), hint)


def adamax_step_function(my_adamax_step, steps: int = 50, seed: int = 0) -> Verdict:
    """Exercise 2: a learner's ``my_adamax_step(theta, g, m, u, t, alpha, beta1, beta2, eps) -> (theta, m, u)``
    (NumPy arrays) must follow ``effdnn_lib.optim.Adamax`` for ``steps`` steps on random gradients."""
    hint = "m as in Adam; u = max(beta2 * u, |g| + eps); theta -= alpha / (1 - beta1^t) * m / u; t starts at 1."
    if my_adamax_step is None:
        return report("Exercise 2", False, "Define my_adamax_step and pass it in. " + hint)
    rng = np.random.default_rng(seed)
    gradients = rng.normal(0.5, 2.0, size=(steps, 5))
    hyper = dict(alpha=0.01, beta1=0.8, beta2=0.99, eps=1e-8)
    expected = _run(Adamax, np.zeros(5), list(gradients), lr=hyper["alpha"], betas=(hyper["beta1"], hyper["beta2"]), eps=hyper["eps"])
    theta, m, u = np.zeros(5), np.zeros(5), np.zeros(5)
    try:
        for t, g in enumerate(gradients, start=1):
            theta, m, u = (np.asarray(a, dtype=np.float64) for a in my_adamax_step(theta, g, m, u, t, **hyper))
    except Exception as error:  # the learner's code: report, do not crash the notebook
        return report("Exercise 2", False, f"Your function raised {type(error).__name__}: {error}. {hint}")
    ok = theta.shape == (5,) and bool(np.allclose(theta, expected.numpy(), rtol=1e-9, atol=1e-12))
    return report("Exercise 2", ok, hint)


def raw_second_moment(answer, grad: float, beta2: float, t: int) -> Verdict:
    """Exercise 3: the uncorrected second moment v_t after ``t`` steps with a constant gradient ``grad``."""
    theta = torch.zeros(1, dtype=torch.float64)
    opt = Adam([theta], lr=1e-3, betas=(0.9, beta2))
    for _ in range(t):
        theta.grad = torch.full((1,), float(grad), dtype=torch.float64)
        opt.step()
    expected = opt.state[theta]["exp_avg_sq"].item()
    hint = "Sum the geometric series: v_t = (1 - beta2) * sum_i beta2^(t-i) * g^2."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 3", answer, expected, rel_tol=1e-9, hint=hint)


def adamw_pure_decay(answer, theta0: float, lr: float, weight_decay: float, steps: int) -> Verdict:
    """Exercise 4: a weight with zero loss gradient after ``steps`` steps of AdamW."""
    expected = _run(AdamW, [theta0], [[0.0]] * steps, lr=lr, weight_decay=weight_decay).item()
    hint = "With g = 0, m and v stay 0: only the decoupled decay theta <- (1 - lr * weight_decay) * theta acts."
    if answer is None:
        return report("Exercise 4", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 4", answer, expected, rel_tol=1e-9, hint=hint)


def adam_l2_pure_decay(answer, theta0: float, lr: float, weight_decay: float, steps: int, tolerance: float = 0.15) -> Verdict:
    """Exercise 5: the same weight after ``steps`` steps of Adam with an L2 term (``weight_decay``), to
    within ``tolerance`` (an estimate is enough)."""
    expected = _run(Adam, [theta0], [[0.0]] * steps, lr=lr, weight_decay=weight_decay).item()
    hint = "Now g_t = weight_decay * theta, and Adam divides it by its own size: each step moves about lr."
    if answer is None:
        return report("Exercise 5", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 5", answer, expected, rel_tol=0, abs_tol=tolerance, hint=hint)
