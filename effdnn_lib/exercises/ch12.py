"""Self-checks for chapter 12, *Scaling out*."""

from __future__ import annotations

from ..checks import check_int, check_number
from ..distributed import ring_allreduce_time
from ..memory import optimizer_state_bytes_predicted
from . import Verdict, check_close, check_count, report


def ring_allreduce_seconds(answer, nbytes: float, workers: int, alpha: float, bandwidth: float) -> Verdict:
    """Exercise 1: the time of a ring all-reduce, in seconds."""
    expected = ring_allreduce_time(nbytes, workers, alpha, bandwidth)
    hint = "2 (N - 1) latencies plus 2 (N - 1) / N times the bytes divided by the bandwidth."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a time in seconds. " + hint)
    return check_close("Exercise 1", answer, expected, rel_tol=1e-3, hint=hint)


def linear_scaling_lr(answer, base_lr: float, base_batch: int, batch: int) -> Verdict:
    """Exercise 2: the learning rate the linear scaling rule gives for ``batch``."""
    base_lr = check_number("base_lr", base_lr, low=0, low_open=True)
    check_int("base_batch", base_batch, 1)
    check_int("batch", batch, 1)
    expected = base_lr * batch / base_batch
    hint = "Multiply the learning rate by the factor by which the batch grows."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a learning rate. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-6, hint=hint)


def zero1_busiest_rank_bytes(answer, sizes, shards: int) -> Verdict:
    """Exercise 3: float32 Adam state bytes of the busiest rank under ZeRO stage 1 (whole tensors,
    largest first to the least-loaded rank)."""
    check_int("shards", shards, 1)
    if not sizes or not all(isinstance(s, int) and s > 0 for s in sizes):
        raise ValueError(f"sizes must be a non-empty list of positive integers; got {sizes!r}")
    load = [[] for _ in range(shards)]
    for s in sorted(sizes, reverse=True):
        min(load, key=sum).append(s)
    expected = max(optimizer_state_bytes_predicted(sum(o), len(o), "adam") for o in load)
    hint = "Assign the tensors largest first to the rank with the fewest numbers; then (2 numbers + 1 step per tensor) x 4 bytes."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number of bytes. " + hint)
    return check_count("Exercise 3", answer, expected, hint=hint)
