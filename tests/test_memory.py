"""Memory accounting (effdnn_lib.memory): the formulas against what PyTorch really holds."""

from __future__ import annotations

import itertools

import pytest
import torch

from effdnn_lib import memory as mem


@pytest.mark.parametrize(
    "widths,batch_size,optimizer",
    list(itertools.product([[3, 5, 2], [64, 128, 10], [784, 300, 100, 10], [10, 7, 7, 7, 7, 3]], [1, 17, 256], ["sgd", "momentum", "adam"])),
)
def test_prediction_equals_measurement(widths, batch_size, optimizer):
    assert mem.mlp_memory(widths, batch_size, optimizer) == mem.measure_training_memory(widths, batch_size, optimizer)


def test_parameter_count_matches_torch():
    for widths in ([3, 5, 2], [784, 1000, 500, 10]):
        assert mem.mlp_parameter_count(widths) == sum(p.numel() for p in mem.make_mlp(widths).parameters())


def test_make_mlp_layers():
    model = mem.make_mlp([4, 8, 8, 2])
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]


def test_optimizer_state_ratios():
    p = mem.mlp_parameter_count([100, 50, 10])
    assert mem.mlp_memory([100, 50, 10], 1, "sgd").optimizer_state == 0
    assert mem.mlp_memory([100, 50, 10], 1, "momentum").optimizer_state == 4 * p
    assert mem.mlp_memory([100, 50, 10], 1, "adam").optimizer_state == 4 * (2 * p + 4)


def test_activations_are_linear_in_batch_size():
    a = [mem.mlp_activation_bytes([50, 40, 30, 10], b) for b in (1, 2, 3, 10)]
    per_example = a[1] - a[0]
    assert a[2] - a[1] == per_example
    assert a[3] - a[0] == 9 * per_example


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("budget", [2**20, 16 * 2**20, 64 * 2**20])
def test_largest_batch_that_fits_is_the_largest(optimizer, budget):
    widths = [784, 512, 256, 10]
    b = mem.largest_batch_that_fits(widths, budget, optimizer)
    if b == 0:
        assert mem.mlp_memory(widths, 1, optimizer).total > budget
    else:
        assert mem.mlp_memory(widths, b, optimizer).total <= budget < mem.mlp_memory(widths, b + 1, optimizer).total


def test_optimizer_state_bytes_of_real_optimizers():
    model = mem.make_mlp([6, 4, 2])
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(3, 6)).sum().backward()
    opt.step()
    assert mem.optimizer_state_bytes(opt) == mem.optimizer_state_bytes_predicted(mem.mlp_parameter_count([6, 4, 2]), 4, "adam")


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: mem.mlp_memory([10], 1), "at least an input and an output"),
        (lambda: mem.mlp_memory([10, 0, 2], 1), "positive int"),
        (lambda: mem.mlp_memory([10, 2], 0), "batch_size must be an int >= 1"),
        (lambda: mem.mlp_memory([10, 2], 1, "lbfgs"), "optimizer must be one of"),
        (lambda: mem.make_optimizer("lbfgs", []), "name must be one of"),
        (lambda: mem.largest_batch_that_fits([10, 2], -1), "budget_bytes must be an int >= 0"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_format_bytes():
    assert mem.format_bytes(512) == "512 B"
    assert mem.format_bytes(1536) == "1.50 KiB"
    assert mem.format_bytes(3 * 2**30) == "3.00 GiB"
    assert mem.format_bytes(5 * 2**40) == "5120.00 GiB"
