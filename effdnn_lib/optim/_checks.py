"""Argument checks shared by the optimizers: the messages name the argument and its range,
as ``torch.optim`` does."""

from __future__ import annotations

import math

import torch


def _as_float(name: str, value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar; got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number; got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def check_non_negative(name: str, value) -> float:
    """``value >= 0`` (learning rates, eps, weight decay, lr_decay)."""
    v = _as_float(name, value)
    if v < 0:
        raise ValueError(f"Invalid {name} value: {value}; {name} must be >= 0")
    return v


def check_interval(name: str, value, low: float, high: float, closed_high: bool = False) -> float:
    """``low <= value < high`` (or ``<= high`` with ``closed_high``): momentum, betas, rho, alpha."""
    v = _as_float(name, value)
    ok = low <= v <= high if closed_high else low <= v < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ValueError(f"Invalid {name} value: {value}; {name} must be in [{low}, {high}{bracket}")
    return v


def check_betas(betas) -> tuple[float, float]:
    """Adam-style ``(beta1, beta2)``, each in ``[0, 1)``."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}")
    return (check_interval("beta1 (betas[0])", betas[0], 0.0, 1.0), check_interval("beta2 (betas[1])", betas[1], 0.0, 1.0))


def check_flag(name: str, value, allow_none: bool = False) -> bool | None:
    """``value`` is ``True`` or ``False`` (or ``None`` with ``allow_none``): nesterov, centered, maximize, foreach."""
    if value is None and allow_none:
        return None
    if not isinstance(value, bool):
        allowed = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"{name} must be {allowed}; got {value!r}")
    return value


def check_unsupported(name: str, value) -> None:
    """Reject a ``torch.optim`` option that the from-scratch optimizers accept for compatibility but do
    not implement (``fused``, ``capturable``, ``differentiable``): only ``None`` or ``False`` is allowed."""
    if value is not None and value is not False:
        raise ValueError(
            f"{name}={value!r} is not supported by the course's from-scratch optimizers "
            f"(only {name}=False or None); use the torch.optim class for it"
        )
