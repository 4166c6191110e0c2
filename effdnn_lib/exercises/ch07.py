"""Self-checks for chapter 7, *Layer-wise pre-training and automatic differentiation*.

The expected values come from the course's autodiff engine (itself tested against
``torch.autograd``) or from counting the networks' parameters with PyTorch.
"""

from __future__ import annotations

import torch

from ..autodiff import Value, topological_order
from . import Verdict, check_close, check_count, check_counts, report


def gradient_by_hand(answer, a: float, b: float) -> Verdict:
    """Exercise 1: df/da for f = a * b + a^2 at the given point."""
    va, vb = Value(a), Value(b)
    f = va * vb + va**2
    f.backward()
    hint = "a appears twice: add the derivatives along both paths, b + 2a."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 1", answer, va.grad, rel_tol=1e-9, abs_tol=1e-12, hint=hint)


def sigmoid_derivative(answer, x: float) -> Verdict:
    """Exercise 2: the derivative of the logistic sigmoid at ``x``."""
    v = Value(x)
    v.sigmoid().backward()
    hint = "With s = 1 / (1 + exp(-x)), ds/dx = s (1 - s)."
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 2", answer, v.grad, rel_tol=1e-9, hint=hint)


def graph_size(answer, n_inputs: int) -> Verdict:
    """Exercise 3: ``(nodes, edges)`` of the graph of tanh(w . x + b) for ``n_inputs`` inputs."""
    xs = [Value(1.0) for _ in range(n_inputs)]
    ws = [Value(0.5) for _ in range(n_inputs)]
    z = Value(0.1)  # the bias b
    for w, x in zip(ws, xs):
        z = z + w * x
    order = topological_order(z.tanh())
    expected = (len(order), sum(len(node.parents) for node in order))
    hint = "Count the leaves (x's, w's, b), one * and one + per input, and the tanh; each * and + has two edges in, tanh one."
    return check_counts("Exercise 3", answer, expected, "a pair (nodes, edges)", hint)


def autoencoder_parameters(answer, n_in: int, n_hidden: int) -> Verdict:
    """Exercise 4: parameters of one autoencoder of the greedy stack (encoder and decoder)."""
    model = torch.nn.Sequential(torch.nn.Linear(n_in, n_hidden), torch.nn.Tanh(), torch.nn.Linear(n_hidden, n_in))
    expected = sum(p.numel() for p in model.parameters())
    hint = "An encoder W (n_hidden x n_in) with bias b, and a decoder W' (n_in x n_hidden) with bias b'."
    if answer is None:
        return report("Exercise 4", False, "Set your_answer to a number of parameters. " + hint)
    return check_count("Exercise 4", answer, expected, hint=hint)
