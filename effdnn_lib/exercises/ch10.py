"""Self-checks for chapter 10, *Deep cascade learning*."""

from __future__ import annotations

from torch import nn

from ..cascade import PlateauRule, conv_blocks, conv_head, epoch_schedule, trainable_parameter_count
from ..checks import check_int
from . import Verdict, check_close, check_count, report


def total_epochs(answer, n_layers: int, epochs: int, k: int) -> Verdict:
    """Exercise 1: the epochs of a whole cascade, ``sum_l (epochs + k * l)`` for ``l = 1..L``."""
    expected = sum(epoch_schedule(n_layers, epochs, k))
    hint = "Stage l trains for epochs + k * l epochs, with l counted from 1; add them up."
    if answer is None:
        return report("Exercise 1", False, "Set your_answer to a number of epochs. " + hint)
    return check_count("Exercise 1", answer, expected, hint=hint)


def plateau_lr(answer, val_errors, lr: float, patience: int, threshold: float) -> Verdict:
    """Exercise 2: the learning rate after the plateau rule has seen ``val_errors``."""
    rule = PlateauRule(lr, patience=patience, threshold=threshold)
    for e in val_errors:
        rule.step(e)
    hint = (
        "An epoch improves only if its error is more than `threshold` below the best so far; "
        "the rate drops tenfold when the count of epochs without improvement exceeds `patience`."
    )
    if answer is None:
        return report("Exercise 2", False, "Set your_answer to a learning rate. " + hint)
    return check_close("Exercise 2", answer, rule.lr, rel_tol=1e-9, hint=hint)


def stage_parameters(answer, channels, layer: int, feature_shape) -> Verdict:
    """Exercise 3: trainable parameters of cascade stage ``layer``: its block and its output block."""
    blocks = conv_blocks(channels, pool_after=())
    check_int("layer", layer, 1, len(blocks))  # stages count from 1; layer=0 would pick the last block
    block = blocks[layer - 1]
    expected = trainable_parameter_count(nn.Sequential(block, conv_head(feature_shape)))
    hint = (
        "A 3 x 3 convolution from c_in to c_out channels has c_out * (9 * c_in + 1) parameters; "
        "the output block pools to 2 x 2 and has a linear layer from 4 * channels to 10 classes."
    )
    if answer is None:
        return report("Exercise 3", False, "Set your_answer to a number of parameters. " + hint)
    return check_count("Exercise 3", answer, expected, hint=hint)


def sigmoid_bound(answer, n_layers: int) -> Verdict:
    """Exercise 4: the largest factor ``prod sigma'(a)`` that ``n_layers`` sigmoids can contribute."""
    expected = 0.25**n_layers
    hint = "sigma'(a) = sigma(a) (1 - sigma(a)) is largest at a = 0."
    if answer is None:
        return report("Exercise 4", False, "Set your_answer to a number. " + hint)
    return check_close("Exercise 4", answer, expected, rel_tol=1e-9, hint=hint)
