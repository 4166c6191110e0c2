"""The self-checks never crash on what a learner types, never pass a wrong answer, and accept a
correct answer computed in float32."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from effdnn_lib.exercises import ch03, ch04, ch05, ch06, ch07, ch08, ch10, check_close, check_count, check_counts

GARBAGE = [None, "0.5", "x", math.nan, math.inf, True, [1.0], {"a": 1}, torch.ones(3), np.array([1.0, 2.0]), object()]


@pytest.mark.parametrize("answer", GARBAGE, ids=repr)
def test_garbage_is_not_yet_never_an_exception(answer, capsys):
    assert check_close("E", answer, 0.5) == False  # noqa: E712
    assert check_count("E", answer, 1) == False  # noqa: E712
    assert check_counts("E", answer, (1, 2), "a pair") == False  # noqa: E712
    assert check_counts("E", (answer, 2), (1, 2), "a pair") == False  # noqa: E712
    assert ch05.early_stopping_epochs(answer, [3.0, 2.0, 2.5, 2.6], patience=2) == False  # noqa: E712
    assert ch05.early_stopping_epochs((answer, 4), [3.0, 2.0, 2.5, 2.6], patience=2) == False  # noqa: E712
    assert ch07.graph_size((answer, answer), 2) == False  # noqa: E712
    assert "not yet" in capsys.readouterr().out


def test_wrong_answers_that_passed_before_fail(capsys):
    curve = [3.0, 2.0, 2.5, 2.6]  # best after epoch 2, stops after epoch 4
    assert ch05.early_stopping_epochs((2, 4), curve, patience=2)
    assert not ch05.early_stopping_epochs((2.9, 4.2), curve, patience=2)  # int() truncated these to (2, 4)
    assert not ch06.dropout_scale(True, 0.0)  # True == 1.0 was the right scale
    assert ch06.dropout_scale(1.0, 0.0)
    assert not check_count("E", 3.4, 3)  # abs_tol=0.5 passed 3.4 for 3
    assert check_count("E", 3.0, 3) and check_count("E", np.int64(3), 3)


@pytest.mark.parametrize(
    "call,argument",
    [
        (lambda: ch10.stage_parameters(0, channels=(8, 16, 32, 32), layer=0, feature_shape=(32, 8, 8)), "layer"),
        (lambda: ch10.stage_parameters(0, channels=(8, 16, 32, 32), layer=5, feature_shape=(32, 8, 8)), "layer"),
        (lambda: ch03.rmsprop_warm_up_steps(5, alpha=0.9, fraction=1.5), "fraction"),
        (lambda: ch03.rmsprop_warm_up_steps(5, alpha=1.0, fraction=0.5), "alpha"),
        (lambda: ch06.dropout_scale(1.0, 1.0), "p"),
    ],
)
def test_impossible_exercise_parameters_are_refused(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_correct_float32_answers_pass(capsys):
    f32 = lambda x: float(np.float32(x))  # noqa: E731
    assert ch05.step_decay_lr(f32(0.1 * 0.5**3), eta0=0.1, step_size=2, gamma=0.5, t=7)
    lr, wd, steps = 1e-3, 1e-2, 100
    theta = np.float32(1.0)
    for _ in range(steps):
        theta = np.float32(theta * np.float32(1 - lr * wd))
    assert ch06.adamw_shrink_factor(float(theta), lr=lr, weight_decay=wd, steps=steps)
    assert ch04.adamw_pure_decay(float(np.float32(2.0) * theta), theta0=2.0, lr=lr, weight_decay=wd, steps=steps)
    g, beta2, t = 0.3, 0.999, 10
    v32 = np.float32(0)
    for _ in range(t):
        v32 = np.float32(beta2) * v32 + np.float32(1 - beta2) * np.float32(g) ** 2
    assert ch04.raw_second_moment(float(v32), grad=g, beta2=beta2, t=t)
    assert ch06.soft_threshold(f32(0.7 - 0.3), v=0.7, threshold=0.3)
    assert ch10.sigmoid_bound(f32(0.25**4), n_layers=4)
    assert not ch10.sigmoid_bound(0.25**4 * 1.01, n_layers=4)  # a wrong answer stays wrong


def test_new_unit_pair_never_crashes(capsys):
    args = dict(centres=[[0.0]], weights=[0.5], widths=[1.0], bias=0.0, x=[3.0], y=2.0)
    for answer in (["a", "b"], [None, 1.0], (math.nan, 1.0), "ab", 3.0):
        assert ch08.new_unit(answer, **args) == False  # noqa: E712


def test_a_verdict_is_a_bool_that_a_notebook_does_not_echo(capsys):
    """A self-check ending a cell prints its line and nothing else: no ``True``/``False`` under it."""
    from IPython.core.interactiveshell import InteractiveShell

    right, wrong = check_close("E", 0.5, 0.5), check_close("E", 0.4, 0.5)
    assert right and not wrong and right == True and wrong == False  # noqa: E712
    assert capsys.readouterr().out == "E: correct.\nE: not yet.\n"
    formatter = InteractiveShell.instance().display_formatter
    assert formatter.format(right) == ({}, {}) and formatter.format(wrong) == ({}, {})


def test_ch13_checks(capsys):
    from effdnn_lib.exercises import ch13

    assert ch13.median_speedup(4.0, naive=[40, 48, 44], checklist=[11, 12, 10])
    assert ch13.median_speedup(np.float32(44 / 11), naive=[40, 48, 44], checklist=[11, 12, 10])
    assert not ch13.median_speedup(44 / 12, naive=[40, 48, 44], checklist=[11, 12, 10])  # means, not medians
    assert ch13.training_flops(6 * 100 * 7, n_parameters=100, examples=7)
    assert not ch13.training_flops(2 * 100 * 7, n_parameters=100, examples=7)  # forward only
    for answer in GARBAGE:
        assert ch13.median_speedup(answer, naive=[2], checklist=[1]) == False  # noqa: E712
        assert ch13.training_flops(answer, n_parameters=1, examples=1) == False  # noqa: E712
    with pytest.raises(ValueError, match="naive"):
        ch13.median_speedup(1.0, naive=[], checklist=[1])
    with pytest.raises(TypeError, match="checklist"):
        ch13.median_speedup(1.0, naive=[1], checklist=3)
    with pytest.raises(ValueError, match="examples"):
        ch13.training_flops(1.0, n_parameters=1, examples=0)
