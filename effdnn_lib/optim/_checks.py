"""Argument checks shared by the optimizers.

Every message starts with ``torch.optim``'s own wording (so code and tests that match torch's
messages keep working) and then names the argument and its allowed range. The values accepted are
the ones ``torch.optim`` accepts: Python and NumPy numbers, one-element tensors for learning rates
and betas, momentum anywhere in ``[0, inf)``, RMSprop's ``alpha >= 0``, and flags given as ``bool``
or as the integers ``0``/``1``. Unlike ``torch.optim``, NaN and infinite hyperparameters are refused.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch

# torch.optim's wording of "Invalid ... value" for the arguments where it has its own.
_TORCH_NAMES = {"lr": "learning rate", "eps": "epsilon value"}


class UnsupportedOption(ValueError, RuntimeError):
    """A ``torch.optim`` feature the from-scratch optimizers do not implement (``fused``,
    ``capturable``, ``differentiable``). It is a ``RuntimeError``, the kind ``torch.optim`` raises
    for an unsupported combination of these options, and a ``ValueError`` (what this library raised
    before), so either ``except`` catches it."""


def _invalid(name: str, value, allowed: str) -> ValueError:
    label = _TORCH_NAMES.get(name, f"{name} value")
    return ValueError(f"Invalid {label}: {value}; {name} must be {allowed}")


def _as_float(name: str, value, tensor_ok: bool = True) -> float:
    if isinstance(value, torch.Tensor):
        if not tensor_ok:
            raise TypeError(f"{name} must be a number; got a tensor")
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element; got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number; got {type(value).__name__}")
    return float(value)


def check_non_negative(name: str, value, tensor_ok: bool = False) -> float:
    """``0 <= value < inf`` (learning rates, eps, weight decay, lr_decay, momentum of SGD and RMSprop)."""
    v = _as_float(name, value, tensor_ok)
    if not (math.isfinite(v) and v >= 0):
        raise _invalid(name, value, "a finite number >= 0")
    return v


def check_lr(lr) -> float:
    """A learning rate: a number or a one-element tensor, ``>= 0`` (``torch.optim``'s messages)."""
    return check_non_negative("lr", lr, tensor_ok=True)


def check_interval(name: str, value, low: float, high: float, closed_high: bool = False) -> float:
    """``low <= value < high`` (or ``<= high`` with ``closed_high``): dampening, betas, rho."""
    v = _as_float(name, value)
    ok = low <= v <= high if closed_high else low <= v < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise _invalid(name, value, f"in [{low}, {high}{bracket}")
    return v


def check_betas(betas, foreach=None) -> tuple[float, float]:
    """Adam-style ``(beta1, beta2)``, each in ``[0, 1)``: both numbers or both one-element tensors
    (tensors not with ``foreach=True``), as ``torch.optim.Adam`` requires."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}")
    values = []
    for i, b in enumerate(betas):
        v = _as_float(f"betas[{i}] (beta{i + 1})", b)
        if not 0.0 <= v < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}; betas[{i}] (beta{i + 1}) must be in [0.0, 1.0)")
        values.append(v)
    tensors = [isinstance(b, torch.Tensor) for b in betas]
    if tensors[0] != tensors[1]:
        raise ValueError("betas must be either both floats or both Tensors; got " + ", ".join(type(b).__name__ for b in betas))
    if tensors[0] and foreach:
        raise ValueError("betas[0] as a Tensor is not supported for capturable=False and foreach=True; use foreach=None or False")
    return values[0], values[1]


def check_flag(name: str, value, allow_none: bool = False):
    """``value`` is ``True`` or ``False`` (or the integers 1 and 0, as torch.optim accepts; or ``None``
    with ``allow_none``): nesterov, centered, maximize, foreach, amsgrad."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, Integral) and value in (0, 1)):
        return value
    allowed = "True, False or None" if allow_none else "True or False"
    raise TypeError(f"{name} must be {allowed}; got {value!r}")


def check_unsupported(name: str, value) -> None:
    """Refuse a ``torch.optim`` option that the from-scratch optimizers accept for compatibility but do
    not implement (``fused``, ``capturable``, ``differentiable``): only ``None`` or ``False`` is allowed."""
    if value is None or not check_flag(name, value):
        return
    raise UnsupportedOption(
        f"{name}={value!r} is not supported by the course's from-scratch optimizers "
        f"(only {name}=False or None); use the torch.optim class for it"
    )
