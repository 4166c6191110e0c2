"""PyTorch's own optimizer test inputs, run against :mod:`effdnn_lib.optim`.

``torch.testing._internal.common_optimizers.optim_db`` ships in the torch wheel: for each optimizer an
``OptimizerInfo`` with ``optim_inputs_func`` (the constructor configurations torch tests) and
``optim_error_inputs_func`` (inputs that must raise, with the error type and a regex of torch's
message). torch's ``test/test_optim.py`` is not in the wheel, so this file re-creates its CPU checks
for every optimizer we provide:

* every error input raises the same type with a message matching torch's regex;
* every configuration (float32 and float64, the for-loop and the ``foreach`` path) gives the same
  parameters as ``torch.optim`` after several steps, bit for bit, including tensor learning rates,
  ``maximize``, weight decay, complex parameters, the learning-rate schedulers torch pairs with each
  optimizer, and parameter groups;
* state dicts cross-load both ways (also with the ``step`` counter as a plain number, as older
  checkpoints have it, and with option keys missing, as older versions wrote them) and training
  continues identically; ``deepcopy`` and hooks work; a step without gradients is a no-op; the
  gradients are never modified in place.

Configurations that turn on ``differentiable`` (or need ``fused``/``capturable``, which torch only
lists for CUDA) are features we do not offer: the test checks that they are refused and counts them
as skipped.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
import types
import unittest
import warnings

import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

if importlib.util.find_spec("expecttest") is None:
    # torch's test helpers import expecttest (a test-only package that is not in our lock) for
    # expected-output tests we never use; a stand-in lets us import optim_db without installing it.
    sys.modules["expecttest"] = types.SimpleNamespace(TestCase=unittest.TestCase, ACCEPT=False)

from torch.testing._internal.common_optimizers import (
    OptimizerErrorEnum,
    _get_optim_inputs_including_global_cliquey_kwargs,
    optim_db,
)

import effdnn_lib.optim as ours
from effdnn_lib.optim._checks import UnsupportedOption

INFOS = {info.name: info for info in optim_db if info.name in ours.__all__}
UNSUPPORTED = ("differentiable", "fused", "capturable")
DTYPES = (torch.float32, torch.float64)
STEPS = 4  # steps before a state dict is taken, and again after it is loaded


def test_we_cover_every_optimizer_we_provide():
    assert sorted(INFOS) == sorted(ours.__all__)


# ---- error inputs ---------------------------------------------------------------------------


def _error_cases():
    cases = []
    for name, info in INFOS.items():
        for i, error_input in enumerate(info.optim_error_inputs_func(device="cpu", dtype=torch.float32)):
            cases.append(pytest.param(name, i, id=f"{name}-{i}-{error_input.optimizer_error_input.desc}"))
    return cases


ERROR_CASES = _error_cases()


@pytest.mark.parametrize("name,index", ERROR_CASES)
def test_error_inputs_raise_torchs_error(name, index):
    info = INFOS[name]
    error_input = info.optim_error_inputs_func(device="cpu", dtype=torch.float32)[index]
    optim_input = error_input.optimizer_error_input
    params, kwargs = optim_input.params, optim_input.kwargs
    cls = getattr(ours, name)
    for impl in (cls, info.optim_cls):  # ours, and torch's own as a check of the case itself
        if error_input.error_on == OptimizerErrorEnum.CONSTRUCTION_ERROR:
            if issubclass(error_input.error_type, Warning):
                with pytest.warns(error_input.error_type, match=error_input.error_regex):
                    impl(params, **kwargs)
            else:
                with pytest.raises(error_input.error_type, match=error_input.error_regex):
                    impl(params, **kwargs)
        else:
            optimizer = impl(params, **kwargs)
            with pytest.raises(error_input.error_type, match=error_input.error_regex):
                optimizer.step()


# ---- configurations -------------------------------------------------------------------------


def _needs_unsupported(kwargs) -> bool:
    return any(kwargs.get(flag) for flag in UNSUPPORTED)


def _configs():
    """(name, dtype, kwargs, desc) of every CPU configuration, cliquey flags included."""
    supported, skipped = [], []
    for name, info in INFOS.items():
        for dtype in DTYPES:
            for optim_input in _get_optim_inputs_including_global_cliquey_kwargs("cpu", dtype, info):
                case = (name, dtype, optim_input.kwargs, optim_input.desc)
                (skipped if _needs_unsupported(optim_input.kwargs) else supported).append(case)
    return supported, skipped


CONFIGS, SKIPPED = _configs()


def _course_fused(case) -> bool:
    """Adam and AdamW offer ``fused=True`` (the course's compiled step, chapter 11), except with amsgrad."""
    name, _, kwargs, _ = case
    others = [f for f in UNSUPPORTED if f != "fused" and kwargs.get(f)]
    return name in ("Adam", "AdamW") and kwargs.get("fused") and not kwargs.get("amsgrad") and not others


FUSED = [c for c in SKIPPED if _course_fused(c)]
SKIPPED = [c for c in SKIPPED if not _course_fused(c)]


def _ids(cases):
    return [f"{n}-{str(d)[6:]}-{desc}" for n, d, _, desc in cases]


def _make_params(dtype, seed=0):
    """Three parameters of different shapes, one non-contiguous (as torch's tests use)."""
    g = torch.Generator().manual_seed(seed)
    weight = nn.Parameter(torch.randn(5, 4, generator=g, dtype=dtype))
    bias = nn.Parameter(torch.randn(5, generator=g, dtype=dtype))
    other = nn.Parameter(torch.randn(3, 2, 2, generator=g, dtype=dtype)[..., 0])
    return [weight, bias, other]


def _loss(params, step):
    weight, bias, other = params
    x = torch.linspace(-1.0, 1.0, 4, dtype=weight.dtype) * (1 + 0.1 * step)
    return ((weight @ x + bias) ** 2).sum() + other.sin().sum() + 0.5 * (other**2).sum()


def _run(optimizer, params, first, last, scheduler=None):
    for step in range(first, last):

        def closure():
            optimizer.zero_grad()
            loss = _loss(params, step)
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        if scheduler is not None:
            scheduler.step(loss.item()) if isinstance(scheduler, ReduceLROnPlateau) else scheduler.step()
    return [p.detach().clone() for p in params]


def _kwargs(kwargs):
    """A fresh copy (tensor learning rates are mutated by schedulers)."""
    return copy.deepcopy(kwargs)


def _assert_equal(ours_params, torch_params):
    for a, b in zip(ours_params, torch_params):
        assert torch.equal(a, b), (a - b).abs().max().item()


def _as_plain_steps(state_dict):
    state_dict = copy.deepcopy(state_dict)
    for state in state_dict["state"].values():
        if torch.is_tensor(state.get("step")):
            state["step"] = state["step"].item()
    return state_dict


@pytest.mark.parametrize("name,dtype,kwargs,desc", CONFIGS, ids=_ids(CONFIGS))
def test_configuration_matches_torch_and_state_dicts_cross_load(name, dtype, kwargs, desc):
    ours_cls, torch_cls = getattr(ours, name), INFOS[name].optim_cls
    # the reference: torch.optim for 2 * STEPS steps
    p_torch = _make_params(dtype)
    o_torch = torch_cls(p_torch, **_kwargs(kwargs))
    halfway_torch = _run(o_torch, p_torch, 0, STEPS)
    torch_state = copy.deepcopy(o_torch.state_dict())
    reference = _run(o_torch, p_torch, STEPS, 2 * STEPS)

    p_ours = _make_params(dtype)
    o_ours = ours_cls(p_ours, **_kwargs(kwargs))
    repr(o_ours)  # can be printed
    _assert_equal(_run(o_ours, p_ours, 0, STEPS), halfway_torch)
    ours_state = copy.deepcopy(o_ours.state_dict())
    _assert_equal(_run(o_ours, p_ours, STEPS, 2 * STEPS), reference)

    # state dicts: ours -> torch, torch -> ours, ours -> ours with plain-number steps
    for load_into, state_dict in ((torch_cls, ours_state), (ours_cls, torch_state), (ours_cls, _as_plain_steps(ours_state))):
        params = [nn.Parameter(p.clone()) for p in halfway_torch]
        optimizer = load_into(params, **_kwargs(kwargs))
        optimizer.load_state_dict(copy.deepcopy(state_dict))
        _assert_equal(_run(optimizer, params, STEPS, 2 * STEPS), reference)


@pytest.mark.parametrize("name,dtype,kwargs,desc", SKIPPED, ids=_ids(SKIPPED))
def test_unsupported_features_are_refused(name, dtype, kwargs, desc):
    with pytest.raises(UnsupportedOption, match="|".join(f for f in UNSUPPORTED if kwargs.get(f))):
        getattr(ours, name)(_make_params(dtype), **_kwargs(kwargs))
    with pytest.raises(RuntimeError):  # torch.optim's kind of error for an unsupported combination
        getattr(ours, name)(_make_params(dtype), **_kwargs(kwargs))


@pytest.mark.parametrize("compiled", [False, True], ids=["fallback", "compiled"])
@pytest.mark.parametrize("name,dtype,kwargs,desc", FUSED, ids=_ids(FUSED))
def test_course_fused_step_matches_torchs_fused_step(name, dtype, kwargs, desc, compiled, monkeypatch):
    """``fused=True``: the compiled step (slow to compile: only with EFFDNN_TEST_COMPILE=1) agrees with
    torch.optim's default step to the dtype's rounding (not to the bit: the compiled loop rounds in
    its own order), and the fallback taken when compilation fails equals it to the bit. (torch's own
    ``fused=True`` is not the reference: on these inputs it differs from torch's default step by 1e-2.)"""
    import os
    import warnings

    import effdnn_lib.optim.adam as adam_module

    if compiled and os.environ.get("EFFDNN_TEST_COMPILE") != "1":
        pytest.skip("compiling takes 10-30 s: set EFFDNN_TEST_COMPILE=1")
    if not compiled:
        monkeypatch.setattr(adam_module, "_compiled_adam_kernel", False)  # as after a failed compilation
    p_torch, p_ours = _make_params(dtype), _make_params(dtype)
    unfused = {k: v for k, v in _kwargs(kwargs).items() if k != "fused"}
    reference = _run(INFOS[name].optim_cls(p_torch, **unfused), p_torch, 0, 2 * STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = _run(getattr(ours, name)(p_ours, **_kwargs(kwargs)), p_ours, 0, 2 * STEPS)
    for a, b in zip(got, reference):
        if compiled:
            torch.testing.assert_close(a, b)
        else:
            assert torch.equal(a, b)


BASE = [c for c in CONFIGS if c[1] == torch.float64 and not c[2].get("foreach")]
FOREACH = [c for c in CONFIGS if c[1] == torch.float32]


@pytest.mark.parametrize("name,dtype,kwargs,desc", BASE, ids=_ids(BASE))
def test_with_torchs_schedulers_and_param_groups(name, dtype, kwargs, desc):
    info = INFOS[name]
    for make_scheduler in info.scheduler_inputs[0]:
        results = []
        for cls in (getattr(ours, name), info.optim_cls):
            params = _make_params(dtype)
            groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.5 * float(kwargs.get("lr", cls([params[0]]).defaults["lr"]))}]
            optimizer = cls(groups, **_kwargs(kwargs))
            results.append(_run(optimizer, params, 0, 12, make_scheduler(optimizer)))
        _assert_equal(*results)


@pytest.mark.parametrize("name,dtype,kwargs,desc", FOREACH, ids=_ids(FOREACH))
def test_complex_parameters_match_torch_and_their_real_view(name, dtype, kwargs, desc):
    g = torch.Generator().manual_seed(1)
    start = torch.randn(5, 5, generator=g, dtype=torch.complex64)
    grads = [torch.randn(5, 5, generator=g, dtype=torch.complex64) for _ in range(3)]
    results = []
    for cls, as_real in ((getattr(ours, name), False), (INFOS[name].optim_cls, False), (getattr(ours, name), True)):
        p = nn.Parameter(torch.view_as_real(start).clone() if as_real else start.clone())
        optimizer = cls([p], **_kwargs(kwargs))
        for grad in grads:
            p.grad = torch.view_as_real(grad).clone() if as_real else grad.clone()
            optimizer.step()
        results.append(p.detach() if as_real else torch.view_as_real(p.detach()))
    assert torch.equal(results[0], results[1])
    torch.testing.assert_close(results[0], results[2])  # as torch's test_complex: same as the real view


@pytest.mark.parametrize("name,dtype,kwargs,desc", FOREACH, ids=_ids(FOREACH))
def test_step_leaves_gradients_and_gradless_parameters_alone(name, dtype, kwargs, desc):
    params = _make_params(dtype)
    optimizer = getattr(ours, name)(params, **_kwargs(kwargs))
    before = [p.detach().clone() for p in params]
    optimizer.step()  # no parameter has a gradient: nothing happens
    _assert_equal([p.detach() for p in params], before)
    _loss(params, 0).backward()
    grads = [p.grad.clone() for p in params]
    optimizer.step()
    _assert_equal([p.grad for p in params], grads)  # never modified in place


@pytest.mark.parametrize("name", sorted(INFOS))
def test_deepcopy_hooks_and_older_state_dicts(name):
    info = INFOS[name]
    params = _make_params(torch.float64)
    optimizer = getattr(ours, name)(params)
    calls = []
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: calls.append("pre"))
    optimizer.register_step_post_hook(lambda opt, args, kwargs: calls.append("post"))
    _run(optimizer, params, 0, 2)
    assert calls == ["pre", "post"] * 2
    public = {k for k in optimizer.__dict__ if not k.startswith("_")}
    assert public == {k for k in copy.deepcopy(optimizer).__dict__ if not k.startswith("_")}
    # a state dict as older versions wrote it: without the option keys added since
    state_dict = optimizer.state_dict()
    for group in state_dict["param_groups"]:
        for key in info.not_og_supported_flags:
            group.pop(key, None)
    reference_params = [nn.Parameter(p.detach().clone()) for p in params]
    reference = info.optim_cls(reference_params)
    reference.load_state_dict(copy.deepcopy(state_dict))
    optimizer.load_state_dict(state_dict)
    _assert_equal(_run(optimizer, params, 2, 4), _run(reference, reference_params, 2, 4))


def test_accepts_what_torch_accepts():
    import numpy as np

    p = [nn.Parameter(torch.zeros(2))]
    accepted = [
        ("SGD", dict(lr=np.float32(0.1))),
        ("SGD", dict(lr=0.1, momentum=1.0)),
        ("SGD", dict(lr=0.1, momentum=0.9, nesterov=1)),
        ("RMSprop", dict(momentum=1.0)),
        ("RMSprop", dict(alpha=1.5)),
        ("Adam", dict(lr=np.float64(1e-3), amsgrad=1, maximize=0)),
        ("Adam", dict(betas=(torch.tensor(0.9), torch.tensor(0.99)))),
        ("Adagrad", dict(lr=torch.tensor(0.01), foreach=True)),
    ]
    for name, kwargs in accepted:
        for cls in (getattr(ours, name), getattr(torch.optim, name)):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                cls(p, **kwargs)
