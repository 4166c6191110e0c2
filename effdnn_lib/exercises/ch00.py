"""Self-checks for chapter 0, *Why training is expensive*."""

from __future__ import annotations

from ..memory import largest_batch_that_fits, mlp_memory
from . import Verdict, check_close, check_count, report


def adam_state_bytes(answer, widths) -> Verdict:
    """Exercise 1: bytes of Adam's state (``m``, ``v`` and the step counters) in float32."""
    expected = mlp_memory(widths, 1, "adam").optimizer_state
    hint = "Adam keeps two numbers per parameter, plus one float32 step counter per parameter tensor."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number of bytes. " + hint)
    return check_count("Exercise 1", answer, expected, hint=hint)


def linear_step_flops(answer, batch_size: int, n_in: int, n_out: int) -> Verdict:
    """Exercise 2: FLOPs of the forward and the two backward products of a linear layer."""
    expected = 3 * 2 * batch_size * n_in * n_out
    hint = "One B x n_in by n_in x n_out product costs 2 * B * n_in * n_out FLOPs."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a number of FLOPs. " + hint)
    return check_close("Exercise 2", answer, expected, rel_tol=1e-9, hint=hint)


def largest_batch(answer, widths, budget_bytes: int, optimizer: str) -> Verdict:
    """Exercise 3: the largest mini-batch whose training step fits in ``budget_bytes``."""
    expected = largest_batch_that_fits(widths, budget_bytes, optimizer)
    hint = "Subtract parameters, gradients and optimizer state from the budget, then divide by one example's activations."
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a batch size. " + hint)
    return check_count("Exercise 3", answer, expected, hint=hint)
