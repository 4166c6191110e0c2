"""Where the memory of training goes, counted exactly and checked against PyTorch.

Training a network holds four kinds of tensors at the peak of a step:

* the parameters ``theta`` (``P`` numbers);
* their gradients (another ``P``);
* the optimizer's state: nothing for plain SGD, one velocity per parameter for momentum,
  two moment estimates ``m`` and ``v`` for Adam (plus a step counter per tensor);
* the activations that autograd saves during the forward pass to compute the backward pass.
  These grow linearly with the mini-batch size ``B``, the others do not.

:func:`mlp_memory` predicts each term for a ReLU multi-layer perceptron from its widths;
:func:`measure_training_memory` measures the same four terms on a real training step, so a
notebook (and the tests) can show that the prediction is exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch import nn

from .checks import check_fits_in_memory, check_int

#: Tensors the size of the parameters that each optimizer keeps between steps.
STATE_TENSORS_PER_PARAMETER = {"sgd": 0, "momentum": 1, "adam": 2}
#: Scalar tensors kept per parameter tensor (Adam's step counter ``t``, a float32 scalar).
STATE_SCALARS_PER_TENSOR = {"sgd": 0, "momentum": 0, "adam": 1}


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes held by one training step, split by what holds them."""

    parameters: int
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state + self.activations

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"total": self.total}


def _check_widths(widths: Sequence[int]) -> list[int]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"widths must be a list of positive ints; got {type(widths).__name__}")
    widths = list(widths)
    if len(widths) < 2:
        raise ValueError(f"widths must list at least an input and an output width; got {widths}")
    for w in widths:
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise ValueError(f"every entry of widths must be a positive int; got {widths}")
    return widths


def _check_bytes_per_number(bytes_per_number) -> int:
    return check_int("bytes_per_number", bytes_per_number, 1, 16)


def make_mlp(widths: Sequence[int], activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``Linear -> activation -> ... -> Linear`` with the given layer widths."""
    widths = _check_widths(widths)
    # float32 weights, and as much again for the gradients of any training step
    check_fits_in_memory(f"make_mlp({widths}) (weights and gradients)", 2 * 4 * mlp_parameter_count(widths))
    layers: list[nn.Module] = []
    for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(w_in, w_out))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def mlp_parameter_count(widths: Sequence[int]) -> int:
    """``sum_l (n_{l-1} * n_l + n_l)``: a weight matrix and a bias per layer."""
    widths = _check_widths(widths)
    return sum(w_in * w_out + w_out for w_in, w_out in zip(widths[:-1], widths[1:]))


def optimizer_state_bytes_predicted(n_parameters: int, n_tensors: int, optimizer: str, bytes_per_number: int = 4) -> int:
    """Bytes of optimizer state: ``k * P`` numbers plus ``s`` scalars per parameter tensor."""
    if optimizer not in STATE_TENSORS_PER_PARAMETER:
        raise ValueError(f"optimizer must be one of {sorted(STATE_TENSORS_PER_PARAMETER)}; got {optimizer!r}")
    check_int("n_parameters", n_parameters, 0)
    check_int("n_tensors", n_tensors, 0)
    _check_bytes_per_number(bytes_per_number)
    k = STATE_TENSORS_PER_PARAMETER[optimizer]
    s = STATE_SCALARS_PER_TENSOR[optimizer]
    return (k * n_parameters + s * n_tensors) * bytes_per_number


def mlp_activation_bytes(widths: Sequence[int], batch_size: int, bytes_per_number: int = 4) -> int:
    """Bytes autograd saves for the backward pass of a ReLU MLP with a cross-entropy loss.

    Each ``Linear`` keeps its input (``B x n_{l-1}``); each ReLU keeps its output, which is the
    next layer's input, so it is counted once; the loss keeps its log-probabilities
    (``B x n_L``), the integer targets (``B`` int64 numbers) and one float scalar (the total
    weight that the mean reduction divides by).
    """
    widths = _check_widths(widths)
    check_int("batch_size", batch_size, 1)
    _check_bytes_per_number(bytes_per_number)
    floats = batch_size * (sum(widths[:-1]) + widths[-1]) + 1
    return floats * bytes_per_number + batch_size * 8


def mlp_memory(widths: Sequence[int], batch_size: int, optimizer: str = "adam", bytes_per_number: int = 4) -> MemoryBreakdown:
    """Predicted training memory of a ReLU MLP (float32 by default), term by term."""
    p = mlp_parameter_count(widths)
    n_tensors = 2 * (len(widths) - 1)
    return MemoryBreakdown(
        parameters=p * bytes_per_number,
        gradients=p * bytes_per_number,
        optimizer_state=optimizer_state_bytes_predicted(p, n_tensors, optimizer, bytes_per_number),
        activations=mlp_activation_bytes(widths, batch_size, bytes_per_number),
    )


def make_optimizer(name: str, params, lr: float = 1e-3) -> torch.optim.Optimizer:
    """The three optimizers whose memory the course compares, by name."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"name must be one of {sorted(STATE_TENSORS_PER_PARAMETER)}; got {name!r}")


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of every tensor the optimizer keeps in ``optimizer.state``."""
    return sum(_nbytes(v) for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v))


def saved_activation_bytes(model: nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor) -> int:
    """Bytes that autograd saves for backward during ``loss_fn(model(x), y)``.

    Measured with ``torch.autograd.graph.saved_tensors_hooks``: every tensor packed for the
    backward pass is recorded once per storage, and the parameters themselves (already
    counted as parameters) are left out.
    """
    param_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in param_storages:
            seen[ptr] = max(seen.get(ptr, 0), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss_fn(model(x), y)
    return sum(seen.values())


def measure_training_memory(
    widths: Sequence[int], batch_size: int, optimizer: str = "adam", seed: int = 0, device: torch.device | str = "cpu"
) -> MemoryBreakdown:
    """Run one real training step of a ReLU MLP and measure the four terms from PyTorch."""
    widths = _check_widths(widths)
    check_int("batch_size", batch_size, 1)
    check_fits_in_memory(f"measure_training_memory({widths}, batch_size={batch_size})", mlp_memory(widths, batch_size, optimizer).total)
    torch.manual_seed(seed)
    model = make_mlp(widths).to(device)
    opt = make_optimizer(optimizer, model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch_size, widths[0], device=device)
    y = torch.randint(0, widths[-1], (batch_size,), device=device)
    activations = saved_activation_bytes(model, loss_fn, x, y)
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
    return MemoryBreakdown(
        parameters=sum(_nbytes(p) for p in model.parameters()),
        gradients=sum(_nbytes(p.grad) for p in model.parameters() if p.grad is not None),
        optimizer_state=optimizer_state_bytes(opt),
        activations=activations,
    )


def largest_batch_that_fits(widths: Sequence[int], budget_bytes: int, optimizer: str = "adam") -> int:
    """The largest mini-batch whose predicted training memory stays within ``budget_bytes``.

    Returns 0 when even the fixed part (parameters, gradients, optimizer state) does not fit.
    Activations are linear in the batch size, so this is a division, not a search.
    """
    check_int("budget_bytes", budget_bytes, 0)
    per_example = mlp_activation_bytes(widths, 2) - mlp_activation_bytes(widths, 1)
    fixed_bytes = mlp_memory(widths, 1, optimizer).total - per_example
    if budget_bytes < fixed_bytes + per_example:
        return 0
    return (budget_bytes - fixed_bytes) // per_example


def format_bytes(n: float) -> str:
    """``1536 -> '1.50 KiB'``: binary units, two decimals."""
    if isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n):
        raise TypeError(f"n must be a finite number of bytes; got {n!r}")
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
