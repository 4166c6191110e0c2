"""What a practitioner does when a training step does not fit, or is too slow: predicted, then measured.

Chapter 0 (:mod:`effdnn_lib.memory`) counts the bytes of a training step. This module uses that
count to predict, and then measures, the standard remedies:

* **gradient accumulation**: ``k`` micro-batches of ``B/k`` examples, gradients summed before one
  update (:func:`accumulate_gradients`): the activations of a micro-batch, the update of a batch;
* **activation checkpointing** (Chen et al. 2016): keep only the inputs of ``s`` segments during the
  forward pass and recompute each segment's activations during the backward pass
  (:func:`checkpointed_forward`, prediction :func:`mlp_checkpoint_memory`);
* **mixed precision**: which gradients a 16-bit format rounds to zero (:func:`count_underflow`) and
  a dynamic loss scaler written from scratch (:class:`DynamicLossScaler`, checked against
  ``torch.amp.GradScaler``);
* **optimizer-state sharding** (ZeRO stage 1, Rajbhandari et al. 2020): the bytes each of ``N``
  workers keeps (:func:`bytes_per_parameter`, :func:`partition_parameters`).

CPU PyTorch has no ``max_memory_allocated``. :class:`MemoryTracker` measures instead: a
``TorchDispatchMode`` that sees every tensor an operation creates (forward and backward), adds
its storage's bytes when it appears and subtracts them when the last tensor on that storage dies.
What it counts is a fact of the program (shapes and the lifetimes autograd gives them), the same
on every CPU: tensors that existed before (parameters, the data) are left out, and so is any
scratch memory a kernel allocates internally without a tensor (none of the ops used here does).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.checkpoint import checkpoint

from .checks import check_int
from .memory import STATE_TENSORS_PER_PARAMETER, _check_widths, mlp_activation_bytes, mlp_parameter_count

__all__ = [
    "MemoryTracker",
    "StepMemory",
    "measure_step_memory",
    "accumulate_gradients",
    "segment_bounds",
    "checkpointed_forward",
    "mlp_checkpoint_memory",
    "mlp_accumulation_memory",
    "count_underflow",
    "DynamicLossScaler",
    "bytes_per_parameter",
    "partition_parameters",
]


# ---- measuring memory on any device --------------------------------------------------------------


class MemoryTracker(TorchDispatchMode):
    """Live and peak bytes of the tensors created while the tracker is active.

    Every output of every operation is looked at once per storage: its bytes are added to
    ``live_bytes`` when the storage first appears, and subtracted when the last tensor on it is
    freed (a ``weakref.finalize`` per tensor). ``peak_bytes`` is the largest ``live_bytes`` seen.
    Storages of the tensors in ``exclude`` (parameters, the batch) are not counted.
    """

    def __init__(self, exclude: Sequence[torch.Tensor] = ()):
        super().__init__()
        self._excluded = {t.untyped_storage().data_ptr() for t in exclude}
        self._storages: dict[int, list[int]] = {}  # data_ptr -> [live tensors on it, bytes]
        self.live_bytes = 0
        self.peak_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._track(t)
        return out

    def _track(self, t: torch.Tensor) -> None:
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key in self._excluded or storage.nbytes() == 0:
            return
        entry = self._storages.get(key)
        if entry is None:
            entry = self._storages[key] = [0, storage.nbytes()]
            self.live_bytes += entry[1]
            self.peak_bytes = max(self.peak_bytes, self.live_bytes)
        entry[0] += 1
        weakref.finalize(t, self._release, key)

    def _release(self, key: int) -> None:
        entry = self._storages.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            self.live_bytes -= entry[1]
            del self._storages[key]


@dataclass(frozen=True)
class StepMemory:
    """Bytes of one training step beyond the parameters: what the forward pass leaves for the
    backward pass (``held_after_forward``, the batch included) and the peak of the whole step
    (forward, backward, gradients included)."""

    held_after_forward: int
    peak: int


def measure_step_memory(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable = nn.functional.cross_entropy,
    accumulation_steps: int = 1,
    segments: int | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> StepMemory:
    """Measure one step's memory with :class:`MemoryTracker`: forward and backward of ``loss_fn``,
    optionally over ``accumulation_steps`` micro-batches, with ``segments`` checkpointed segments
    (``model`` must then be an ``nn.Sequential``) and under ``autocast`` to ``autocast_dtype``.

    The batch is copied inside the tracker, so it counts (once per micro-batch, as a data loader
    would deliver it); the gradients count from the moment the backward pass creates them.
    ``held_after_forward`` is measured after the first micro-batch's forward pass.
    """
    k = check_int("accumulation_steps", accumulation_steps, 1, len(x))
    if segments is not None:
        check_int("segments", segments, 1, len(model))
    model.zero_grad(set_to_none=True)
    held = None
    with MemoryTracker(exclude=[*model.parameters(), x, y]) as tracker:
        for x_micro, y_micro in zip(x.chunk(k), y.chunk(k)):
            x_micro, y_micro = x_micro.clone(), y_micro.clone()  # the micro-batch arrives
            with torch.autocast(x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                out = model(x_micro) if segments is None else checkpointed_forward(model, x_micro, segments)
                loss = loss_fn(out, y_micro) / k
            del out, x_micro
            if held is None:
                held = tracker.live_bytes
            loss.backward()
            del loss, y_micro
        peak = tracker.peak_bytes
    model.zero_grad(set_to_none=True)
    return StepMemory(held_after_forward=held, peak=peak)


# ---- gradient accumulation -----------------------------------------------------------------------


def accumulate_gradients(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """Fill ``p.grad`` with the gradient of the mean loss over the batch, from ``k`` micro-batches.

    ``loss_fn`` must average over its examples. Each micro-batch's mean loss is divided by ``k``
    before its backward pass, and ``.grad`` adds the ``k`` contributions up:
    ``(1/k) sum_j (1/(B/k)) sum_{i in j} l_i = (1/B) sum_i l_i``, exactly the full batch's mean when
    ``k`` divides ``B`` (and the model treats examples independently: BatchNorm does not). Returns
    the mean loss (detached)."""
    k = check_int("k", k, 1, len(x))
    if len(x) % k:
        raise ValueError(f"k must divide the batch size {len(x)} so that micro-batches are equal; got k={k}")
    model.zero_grad(set_to_none=True)
    total = 0.0
    for x_micro, y_micro in zip(x.chunk(k), y.chunk(k)):
        loss = loss_fn(model(x_micro), y_micro) / k
        loss.backward()  # .grad += d(loss_j / k) / d theta
        total += loss.detach()
    return total


def mlp_accumulation_memory(widths: Sequence[int], batch_size: int, k: int, bytes_per_number: int = 4) -> int:
    """Predicted ``held_after_forward`` of a ReLU MLP with ``k`` micro-batches: chapter 0's activations
    of a micro-batch of ``B/k`` (its inputs, saved tensors and targets) plus the loss scalar."""
    check_int("k", k, 1, batch_size)
    return mlp_activation_bytes(widths, batch_size // k, bytes_per_number) + bytes_per_number


# ---- activation checkpointing --------------------------------------------------------------------


def segment_bounds(n_layers: int, segments: int) -> list[int]:
    """Split ``n_layers`` modules into ``segments`` contiguous, nearly equal runs: the start index of
    each run and, last, ``n_layers``."""
    n_layers = check_int("n_layers", n_layers, 1)
    segments = check_int("segments", segments, 1, n_layers)
    return [round(i * n_layers / segments) for i in range(segments + 1)]


def checkpointed_forward(model: nn.Sequential, x: torch.Tensor, segments: int) -> torch.Tensor:
    """Run ``model`` as ``segments`` checkpointed segments (``torch.utils.checkpoint``).

    Inside a segment nothing is saved for backward; only the segment's input is kept. The backward
    pass runs each segment's forward again, then its backward (Chen et al. 2016, section 3). Every
    segment is checkpointed, the last one too, so the recomputation is one full extra forward pass.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential to be split into segments; got {type(model).__name__}")
    layers = list(model)
    bounds = segment_bounds(len(layers), segments)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        x = checkpoint(nn.Sequential(*layers[start:stop]), x, use_reentrant=False)
    return x


def _mlp_layer_widths(widths: Sequence[int]) -> list[int]:
    """Width of the input of each module of ``make_mlp(widths)``: Linear, ReLU, Linear, ..., Linear."""
    out = []
    for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:])):
        out.append(w_in)  # the Linear's input
        if i < len(widths) - 2:
            out.append(w_out)  # the ReLU's input
    return out


def mlp_checkpoint_memory(widths: Sequence[int], batch_size: int, segments: int, bytes_per_number: int = 4) -> StepMemory:
    """Predicted :class:`StepMemory` of a ReLU MLP whose ``2L - 1`` modules run as ``segments``
    checkpointed segments, with a mean cross-entropy loss.

    *Held after forward*: the batch (``B n_0`` floats, ``B`` int64 targets), the input of every other
    segment (``B`` times the width there), and the loss (its log-probabilities ``B n_L``, two scalars).

    *Peak*, an upper bound: reached in the backward pass of a segment. Then live are at most what was
    held, the gradients of every parameter (``P``), the recomputed activations of that segment (each
    ReLU's output, which is also the next Linear's input) and the gradient flowing backward (two
    tensors of ``B`` times the segment's widest layer: the one arriving and the one being formed). The
    largest segment decides. The bound counts all ``P`` gradients, although the layers not yet reached
    by the backward pass have none yet. Without checkpointing (``segments=None``) the whole network is one segment whose
    activations were saved in the forward pass.
    """
    widths = _check_widths(widths)
    check_int("batch_size", batch_size, 1)
    layer_in = _mlp_layer_widths(widths)
    b, n = batch_size, bytes_per_number
    batch_bytes = b * widths[0] * n + b * 8
    loss_bytes = (b * widths[-1] + 2) * n
    grads = mlp_parameter_count(widths) * n
    if segments is None:
        held = mlp_activation_bytes(widths, b, n) + n
        # at the first backward op: everything saved, the log-prob gradient and the logits' gradient
        return StepMemory(held_after_forward=held, peak=held + grads + 2 * b * max(widths) * n)
    bounds = segment_bounds(len(layer_in), segments)
    boundaries = sum(b * layer_in[start] * n for start in bounds[1:-1])
    held = batch_bytes + boundaries + loss_bytes
    peak_extra = 0
    for start, stop in zip(bounds[:-1], bounds[1:]):
        relu_outputs = [layer_in[i] for i in range(start, stop) if i % 2 == 1]  # ReLUs sit at odd indices
        recomputed = b * sum(relu_outputs) * n  # what the segment's second forward pass saves
        flowing = 2 * b * max(layer_in[start:stop]) * n
        peak_extra = max(peak_extra, recomputed + flowing)
    return StepMemory(held_after_forward=held, peak=held + grads + peak_extra)


# ---- mixed precision -----------------------------------------------------------------------------


def count_underflow(tensors: Sequence[torch.Tensor], dtype: torch.dtype, scale: float = 1.0) -> dict[str, int]:
    """What casting ``scale * g`` to ``dtype`` does to the nonzero entries of the gradients ``g``:
    how many become zero (``underflow``), how many infinite (``overflow``), out of ``nonzero``."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float16; got {dtype!r}")
    if not (isinstance(scale, (int, float)) and not isinstance(scale, bool) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0; got {scale!r}")
    counts = {"nonzero": 0, "underflow": 0, "overflow": 0}
    for g in tensors:
        g64 = g.detach().double() * scale
        nonzero = g64 != 0
        cast = g64.to(dtype)
        counts["nonzero"] += int(nonzero.sum())
        counts["underflow"] += int((nonzero & (cast == 0)).sum())
        counts["overflow"] += int((nonzero & cast.isinf()).sum())
    return counts


class DynamicLossScaler:
    """Dynamic loss scaling (Micikevicius et al. 2018, section 3.2), the rule ``torch.amp.GradScaler`` uses.

    Multiply the loss by ``scale`` before the backward pass, so that small gradients survive a 16-bit
    format; divide the gradients by ``scale`` before the step. If any gradient is infinite or NaN, skip
    the step and multiply ``scale`` by ``backoff_factor``; after ``growth_interval`` good steps in a row,
    multiply it by ``growth_factor``. Usage::

        scaler.scale(loss).backward()
        scaler.step(optimizer)   # unscales, and steps only if every gradient is finite
        scaler.update()
    """

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5, growth_interval: int = 2000):
        for name, value, ok in (
            ("init_scale", init_scale, init_scale > 0),
            ("growth_factor", growth_factor, growth_factor > 1),
            ("backoff_factor", backoff_factor, 0 < backoff_factor < 1),
        ):
            if not ok or not math.isfinite(value):
                raise ValueError(f"{name} must be finite and {'> 1' if name == 'growth_factor' else 'in (0, 1)' if name == 'backoff_factor' else '> 0'}; got {value!r}")
        self.scale_value = float(init_scale)
        self.growth_factor, self.backoff_factor = float(growth_factor), float(backoff_factor)
        self.growth_interval = check_int("growth_interval", growth_interval, 1)
        self.good_steps = 0
        self.found_inf = False

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        return loss * self.scale_value

    def step(self, optimizer: torch.optim.Optimizer) -> bool:
        """Unscale the gradients in place; step the optimizer if they are all finite. Returns whether it stepped."""
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        self.found_inf = any(not torch.isfinite(g).all() for g in grads)
        if self.found_inf:
            return False
        for g in grads:
            g.mul_(1.0 / self.scale_value)
        optimizer.step()
        return True

    def update(self) -> None:
        if self.found_inf:
            self.scale_value *= self.backoff_factor
            self.good_steps = 0
        else:
            self.good_steps += 1
            if self.good_steps == self.growth_interval:
                self.scale_value *= self.growth_factor
                self.good_steps = 0


# ---- optimizer state and its sharding ------------------------------------------------------------


def bytes_per_parameter(optimizer: str, shards: int = 1, mixed_precision: bool = False) -> float:
    """Bytes a worker keeps per parameter for weights, gradients and optimizer state.

    float32 training: 4 (weights) + 4 (gradients) + 4 per state tensor (0 SGD, 1 momentum, 2 Adam).
    ``mixed_precision``: 16-bit weights and gradients (2 + 2) and a float32 master copy of the weights
    that joins the optimizer state (Micikevicius et al. 2018). ZeRO stage 1 splits the optimizer state
    (master copy included) over ``shards`` workers; weights and gradients stay whole on each."""
    if optimizer not in STATE_TENSORS_PER_PARAMETER:
        raise ValueError(f"optimizer must be one of {sorted(STATE_TENSORS_PER_PARAMETER)}; got {optimizer!r}")
    check_int("shards", shards, 1)
    if not isinstance(mixed_precision, bool):
        raise TypeError(f"mixed_precision must be True or False; got {mixed_precision!r}")
    state = 4 * STATE_TENSORS_PER_PARAMETER[optimizer] + (4 if mixed_precision else 0)
    weights_and_grads = 2 + 2 if mixed_precision else 4 + 4
    return weights_and_grads + state / shards


def partition_parameters(params: Sequence[torch.Tensor], shards: int) -> list[list[int]]:
    """Assign whole parameter tensors to ``shards`` workers, largest first, each to the worker with
    the fewest numbers so far (the greedy rule of ``ZeroRedundancyOptimizer``). Returns the indices of
    the tensors each worker owns (and keeps optimizer state for)."""
    shards = check_int("shards", shards, 1)
    sizes = [p.numel() for p in params]
    owned: list[list[int]] = [[] for _ in range(shards)]
    load = [0] * shards
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        w = min(range(shards), key=lambda r: load[r])
        owned[w].append(i)
        load[w] += sizes[i]
    return owned
