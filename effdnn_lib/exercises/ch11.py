"""Self-checks for chapter 11, *When the model does not fit and a step is too slow*."""

from __future__ import annotations

from ..checks import check_int, check_number
from ..hardware import ADAM_BYTES_PER_PARAMETER
from ..memory_saving import bytes_per_parameter, mlp_accumulation_memory
from . import Verdict, check_close, check_count, report


def accumulation_bytes(answer, widths, batch_size: int, k: int) -> Verdict:
    """Exercise 1: bytes held after the forward pass of one of ``k`` micro-batches (float32)."""
    check_int("k", k, 1, batch_size)
    expected = mlp_accumulation_memory(widths, batch_size, k)
    hint = ("Chapter 0's activations for B/k examples: B/k (n_0 + ... + n_L) + 1 floats and B/k int64 targets, "
            "plus the loss itself, one float.")
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number of bytes. " + hint)
    return check_count("Exercise 1", answer, expected, hint=hint)


def zero1_bytes_per_parameter(answer, optimizer: str, shards: int, mixed_precision: bool) -> Verdict:
    """Exercise 2: bytes per parameter on each worker with ZeRO stage 1."""
    expected = bytes_per_parameter(optimizer, shards, mixed_precision)
    hint = "Weights and gradients stay whole on every worker; only the optimizer state (and a master copy) is split."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a number of bytes. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-9, hint=hint)


def adam_bound_ms(answer, n_parameters: int, bandwidth_gb_per_s: float) -> Verdict:
    """Exercise 3: the shortest possible float32 Adam step, in milliseconds, at a given bandwidth."""
    check_int("n_parameters", n_parameters, 1)
    bw = check_number("bandwidth_gb_per_s", bandwidth_gb_per_s, low=0, low_open=True)
    expected = ADAM_BYTES_PER_PARAMETER * n_parameters / (bw * 1e9) * 1e3
    hint = "Adam reads param, grad, m, v and writes param, m, v: 28 bytes per parameter, divided by the bandwidth."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a time in milliseconds. " + hint)
    return check_close("Exercise 3", answer, expected, rel_tol=1e-3, hint=hint)
