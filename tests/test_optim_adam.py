"""Adam, AdamW and Adamax from effdnn_lib.optim against torch.optim and against Algorithm 1 itself.

* parity in float64 over 100 steps and many hyperparameter combinations (amsgrad, weight decay,
  decoupled weight decay, maximize, eps, betas), with parameter groups, closures, schedules,
  tensor learning rates and betas, complex parameters;
* an independent reference: Kingma & Ba's Algorithm 1 (and AdaMax) written out in NumPy, and the
  closed-form size of a step after a lone gradient spike;
* bad hyperparameters raise ValueError/TypeError naming the argument;
* state_dict()/load_state_dict() resume a run exactly (also across torch.optim and ours);
* the readable per-tensor update and the torch._foreach_* fast path agree.
"""

from __future__ import annotations

import copy
import io
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from effdnn_lib import optim as ours
import optim_parity as parity
from optim_parity import assert_same, case_ids, loss_of, make_problem, run_steps
from effdnn_lib.optim import adam as adam_module

NAMES = ["Adam", "AdamW", "Adamax"]
STEPS = 100
BETAS = ((0.9, 0.999), (0.0, 0.99), (0.5, 0.9), (0.95, 0.9999))


def _adam_grid():
    for lr, betas, eps, weight_decay, amsgrad, maximize in itertools.product(
        (1e-3, 0.05), BETAS, (1e-8, 1e-3), (0.0, 0.05), (False, True), (False, True)
    ):
        yield dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
    for lr, betas, amsgrad in itertools.product((1e-3, 0.05), BETAS, (False, True)):  # Adam's own switch to AdamW
        yield dict(lr=lr, betas=betas, weight_decay=0.1, amsgrad=amsgrad, decoupled_weight_decay=True)


def _adamw_grid():
    for lr, betas, eps, weight_decay, amsgrad, maximize in itertools.product(
        (1e-3, 0.05), BETAS, (1e-8, 1e-3), (0.0, 1e-2, 0.2), (False, True), (False, True)
    ):
        yield dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)


def _adamax_grid():
    for lr, betas, eps, weight_decay, maximize in itertools.product(
        (2e-3, 0.05), BETAS, (1e-8, 1e-3), (0.0, 0.05), (False, True)
    ):
        yield dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)


GRIDS = {"Adam": list(_adam_grid()), "AdamW": list(_adamw_grid()), "Adamax": list(_adamax_grid())}
CASES = [(name, cfg) for name, grid in GRIDS.items() for cfg in grid]


def train(opt_cls, config, steps=STEPS, **kwargs):
    return parity.train(opt_cls, config, steps, **kwargs)


# ---- parity with torch.optim ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case_ids(c) for c in CASES])
def test_parity_with_torch_optim(case):
    name, config = case
    mine, mine_losses, _ = train(getattr(ours, name), config)
    ref, ref_losses, _ = train(getattr(torch.optim, name), config)
    assert torch.isfinite(mine).all()
    assert_same(mine, ref)
    assert_same(mine_losses, ref_losses)


def test_the_grids_are_large():
    assert {name: len(grid) for name, grid in GRIDS.items()} == {"Adam": 144, "AdamW": 192, "Adamax": 64}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("foreach", [False, True])
def test_default_runs_are_bit_identical_to_torch(name, foreach):
    """The updates round in torch.optim's order, so the numbers agree to the last bit."""
    mine, mine_losses, _ = train(getattr(ours, name), {"lr": 0.05, "foreach": foreach}, steps=200)
    ref, ref_losses, _ = train(getattr(torch.optim, name), {"lr": 0.05}, steps=200)
    assert torch.equal(mine, ref) and torch.equal(mine_losses, ref_losses)


@pytest.mark.parametrize("name", NAMES)
def test_default_hyperparameters_match_torch(name):
    mine, _, opt_mine = train(getattr(ours, name), {})
    ref, _, opt_ref = train(getattr(torch.optim, name), {})
    assert_same(mine, ref)
    for key, value in opt_mine.defaults.items():
        assert opt_ref.defaults[key] == value, f"{name} default {key}: ours {value}, torch {opt_ref.defaults[key]}"
    expected = {"Adam": (1e-3, 0), "AdamW": (1e-3, 1e-2), "Adamax": (2e-3, 0)}[name]
    assert (opt_mine.defaults["lr"], opt_mine.defaults["weight_decay"]) == expected
    assert opt_mine.defaults["betas"] == (0.9, 0.999) and opt_mine.defaults["eps"] == 1e-8


GROUP_OVERRIDES = {
    "Adam": ({"lr": 0.01}, {"lr": 0.03, "betas": (0.8, 0.99), "amsgrad": True}, {"weight_decay": 0.05, "eps": 1e-4}),
    "AdamW": ({"lr": 0.01}, {"lr": 0.03, "weight_decay": 0.0}, {"weight_decay": 0.3, "amsgrad": True}),
    "Adamax": ({"lr": 0.01}, {"lr": 0.05, "betas": (0.5, 0.9)}, {"weight_decay": 0.05, "eps": 1e-4}),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("use_closure", [False, True])
@pytest.mark.parametrize("foreach", [None, True])
def test_parity_with_parameter_groups_and_closures(name, use_closure, foreach):
    defaults, first, second = GROUP_OVERRIDES[name]

    def groups(model):
        return [{"params": model[0].parameters(), **first}, {"params": model[2].parameters(), **second}]

    mine, mine_losses, _ = train(getattr(ours, name), {**defaults, "foreach": foreach}, groups=groups, use_closure=use_closure)
    ref, ref_losses, _ = train(getattr(torch.optim, name), defaults, groups=groups, use_closure=use_closure)
    assert_same(mine, ref)
    assert_same(mine_losses, ref_losses)


@pytest.mark.parametrize("name", NAMES)
def test_parity_under_a_learning_rate_schedule_and_a_tensor_lr(name):
    def config():  # a fresh tensor each time: the scheduler changes a tensor lr in place
        return {"lr": torch.tensor(0.05)}

    def schedule(opt):
        return torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.3)

    mine, _, opt = train(getattr(ours, name), config(), scheduler=schedule)
    ref, _, _ = train(getattr(torch.optim, name), config(), scheduler=schedule)
    assert_same(mine, ref)
    assert opt.param_groups[0]["lr"].item() < config()["lr"].item()  # the schedule did act


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_parity_with_tensor_betas(name):
    """Betas given as float64 0-d tensors (torch.optim computes with the tensors, we with their values)."""
    config = {"lr": 0.02, "betas": (torch.tensor(0.8, dtype=torch.float64), torch.tensor(0.99, dtype=torch.float64))}
    mine, _, _ = train(getattr(ours, name), config)
    ref, _, _ = train(getattr(torch.optim, name), config)
    torch.testing.assert_close(mine, ref, rtol=1e-10, atol=1e-12)


def test_adam_with_decoupled_weight_decay_is_adamw():
    config = {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}
    adam, _, _ = train(ours.Adam, {**config, "decoupled_weight_decay": True})
    adamw, _, _ = train(ours.AdamW, config)
    assert torch.equal(adam, adamw)


def test_adamw_without_weight_decay_is_adam_and_with_it_differs_from_l2():
    adam, _, _ = train(ours.Adam, {"lr": 0.02})
    assert torch.equal(train(ours.AdamW, {"lr": 0.02, "weight_decay": 0.0})[0], adam)
    l2, _, _ = train(ours.Adam, {"lr": 0.02, "weight_decay": 0.1})
    decoupled, _, _ = train(ours.AdamW, {"lr": 0.02, "weight_decay": 0.1})
    assert (l2 - decoupled).abs().max() > 1e-3  # the two regularisations are different algorithms


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_gradient_are_left_alone(name):
    """A parameter whose .grad is None (unused this step) is not updated and gets no state."""
    results = []
    for cls in (getattr(ours, name), getattr(torch.optim, name)):
        torch.manual_seed(0)
        used, unused = nn.Parameter(torch.randn(4, dtype=torch.float64)), nn.Parameter(torch.randn(3, dtype=torch.float64))
        before = unused.detach().clone()
        opt = cls([used, unused], lr=0.1)
        for _ in range(10):
            opt.zero_grad()
            (used**2).sum().backward()
            opt.step()
        assert torch.equal(unused.detach(), before)
        results.append((used.detach().clone(), len(opt.state.get(unused, {}))))
    assert_same(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] == 0


@pytest.mark.parametrize("name,config", [("Adam", {}), ("Adam", {"amsgrad": True, "weight_decay": 0.1}), ("AdamW", {}), ("Adamax", {})])
@pytest.mark.parametrize("foreach", [False, True])
def test_parity_on_complex_parameters(name, config, foreach):
    outs = []
    for cls, extra in ((getattr(ours, name), {"foreach": foreach}), (getattr(torch.optim, name), {})):
        torch.manual_seed(0)
        z = nn.Parameter(torch.randn(5, dtype=torch.complex128))
        target = torch.randn(5, dtype=torch.complex128)
        opt = cls([z], lr=0.05, **config, **extra)
        for _ in range(40):
            opt.zero_grad()
            (z - target).abs().pow(2).sum().backward()
            opt.step()
        outs.append(z.detach().clone())
    assert_same(outs[0], outs[1])


@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradients_are_refused_as_in_torch(name):
    emb = nn.Embedding(5, 2, sparse=True)
    opt = getattr(ours, name)(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


def test_float32_parity():
    for name in NAMES:
        model, x, y = make_problem(dtype=torch.float32)
        twin = copy.deepcopy(model)
        opt_a, opt_b = getattr(ours, name)(model.parameters()), getattr(torch.optim, name)(twin.parameters())
        for _ in range(50):
            for m, opt in ((model, opt_a), (twin, opt_b)):
                opt.zero_grad()
                loss_of(m, x, y).backward()
                opt.step()
        for p, q in zip(model.parameters(), twin.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


# ---- an independent reference: the algorithms as printed ----------------------------------------


def algorithm1_numpy(theta0, grad_fn, steps, alpha, beta1, beta2, eps, amsgrad=False):
    """Kingma & Ba's Algorithm 1 in NumPy, line by line (AMSGrad as PyTorch does it: max, then correct)."""
    theta = theta0.copy()
    m, v, v_max = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = grad_fn(theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - beta1**t)
        v_hat = (v_max if amsgrad else v) / (1 - beta2**t)
        theta = theta - alpha * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def adamax_numpy(theta0, grad_fn, steps, alpha, beta1, beta2, eps):
    """AdaMax (Kingma & Ba, Algorithm 2), with PyTorch's eps inside the maximum."""
    theta = theta0.copy()
    m, u = np.zeros_like(theta), np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = grad_fn(theta)
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g) + eps)
        theta = theta - (alpha / (1 - beta1**t)) * m / u
    return theta


A = np.diag([1.0, 10.0, 0.1, 3.0])
B = np.array([1.0, -2.0, 0.5, 3.0])


def _grad_np(theta):  # gradient of the quadratic 0.5 theta^T A theta - B^T theta, with a cubic twist
    return A @ theta - B + 0.1 * theta**3


def _run_ours(cls, steps, **config):
    theta = nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64))
    opt = cls([theta], **config)
    for _ in range(steps):
        theta.grad = torch.from_numpy(_grad_np(theta.detach().numpy()))
        opt.step()
    return theta.detach().numpy()


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
def test_adam_equals_algorithm1_written_in_numpy(amsgrad, betas):
    theta0 = np.array([0.5, -1.0, 2.0, 0.0])
    expected = algorithm1_numpy(theta0, _grad_np, 80, alpha=0.05, beta1=betas[0], beta2=betas[1], eps=1e-8, amsgrad=amsgrad)
    got = _run_ours(ours.Adam, 80, lr=0.05, betas=betas, amsgrad=amsgrad)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def test_adamax_equals_algorithm2_written_in_numpy():
    theta0 = np.array([0.5, -1.0, 2.0, 0.0])
    expected = adamax_numpy(theta0, _grad_np, 80, alpha=0.05, beta1=0.9, beta2=0.999, eps=1e-8)
    np.testing.assert_allclose(_run_ours(ours.Adamax, 80, lr=0.05), expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("t", [1, 2, 10, 100, 5000])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.9, 0.9)])
def test_step_after_a_lone_gradient_has_the_closed_form_size(t, betas):
    """Zero gradients for t - 1 steps, then one gradient g: m_t = (1-b1) g and v_t = (1-b2) g^2, so
    |step| = alpha (1-b1)/(1-b1^t) |g| / (sqrt((1-b2)/(1-b2^t)) |g| + eps)."""
    beta1, beta2 = betas
    alpha, g, eps = 1e-3, 0.37, 1e-8
    theta = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = ours.Adam([theta], lr=alpha, betas=betas, eps=eps)
    for _ in range(t - 1):
        theta.grad = torch.zeros(1, dtype=torch.float64)
        opt.step()
    assert theta.item() == 0.0  # m = 0: no movement while the gradient is zero
    theta.grad = torch.full((1,), g, dtype=torch.float64)
    opt.step()
    expected = alpha * (1 - beta1) / (1 - beta1**t) * g / (np.sqrt((1 - beta2) / (1 - beta2**t)) * g + eps)
    assert abs(-theta.item() - expected) <= 1e-14 * expected


# ---- bad input -------------------------------------------------------------------------------

BAD = [
    ("Adam", {"lr": -1e-3}, ValueError, "lr"),
    ("Adam", {"lr": float("nan")}, ValueError, "lr"),
    ("Adam", {"lr": "0.001"}, TypeError, "lr"),
    ("Adam", {"betas": (1.0, 0.999)}, ValueError, "beta1"),
    ("Adam", {"betas": (-0.1, 0.999)}, ValueError, "beta1"),
    ("Adam", {"betas": (0.9, 1.0)}, ValueError, "beta2"),
    ("Adam", {"betas": (0.9, 1.5)}, ValueError, "beta2"),
    ("Adam", {"betas": 0.9}, ValueError, "betas"),
    ("Adam", {"betas": (0.9, 0.99, 0.999)}, ValueError, "betas"),
    ("Adam", {"betas": (0.9, None)}, TypeError, "beta2"),
    ("Adam", {"eps": -1e-8}, ValueError, "eps"),
    ("Adam", {"weight_decay": -0.01}, ValueError, "weight_decay"),
    ("Adam", {"amsgrad": 2}, TypeError, "amsgrad"),
    ("Adam", {"amsgrad": "yes"}, TypeError, "amsgrad"),
    ("Adam", {"maximize": None}, TypeError, "maximize"),
    ("Adam", {"foreach": "auto"}, TypeError, "foreach"),
    ("Adam", {"decoupled_weight_decay": "no"}, TypeError, "decoupled_weight_decay"),
    ("Adam", {"lr": float("inf")}, ValueError, "lr"),
    ("Adam", {"betas": (0.9, torch.tensor(0.99))}, ValueError, "betas"),
    ("Adam", {"betas": (torch.tensor(0.9), torch.tensor(0.99)), "foreach": True}, ValueError, "betas"),
    ("Adam", {"fused": True, "amsgrad": True}, ValueError, "fused"),
    ("Adam", {"capturable": True}, ValueError, "capturable"),
    ("Adam", {"differentiable": True}, ValueError, "differentiable"),
    ("Adam", {"lr": torch.tensor([0.1, 0.2])}, ValueError, "lr"),
    ("Adam", {"lr": torch.tensor(0.1), "foreach": True}, ValueError, "lr"),
    ("AdamW", {"lr": -1.0}, ValueError, "lr"),
    ("AdamW", {"weight_decay": -1e-2}, ValueError, "weight_decay"),
    ("AdamW", {"betas": (0.9, 1.0)}, ValueError, "beta2"),
    ("AdamW", {"amsgrad": None}, TypeError, "amsgrad"),
    ("AdamW", {"fused": "yes"}, TypeError, "fused"),
    ("Adamax", {"lr": -2e-3}, ValueError, "lr"),
    ("Adamax", {"betas": (1.0, 0.999)}, ValueError, "beta1"),
    ("Adamax", {"betas": (0.9, -0.5)}, ValueError, "beta2"),
    ("Adamax", {"eps": -1.0}, ValueError, "eps"),
    ("Adamax", {"weight_decay": -0.1}, ValueError, "weight_decay"),
    ("Adamax", {"maximize": "no"}, TypeError, "maximize"),
    ("Adamax", {"capturable": True}, ValueError, "capturable"),
]


@pytest.mark.parametrize("name,config,error,argument", BAD, ids=[f"{n}-{a}-{i}" for i, (n, c, _, a) in enumerate(BAD)])
def test_bad_hyperparameters_name_the_argument(name, config, error, argument):
    with pytest.raises(error, match=argument):
        getattr(ours, name)([nn.Parameter(torch.zeros(2))], **config)


@pytest.mark.parametrize("name,bad,key", [("Adam", {"betas": (0.9, 2.0)}, "beta2"), ("AdamW", {"eps": -1.0}, "eps"), ("Adamax", {"lr": -1.0}, "lr"), ("Adam", {"amsgrad": "on"}, "amsgrad")])
def test_a_bad_parameter_group_is_refused(name, bad, key):
    with pytest.raises((ValueError, TypeError), match=key):
        getattr(ours, name)([{"params": [nn.Parameter(torch.zeros(2))], **bad}])
    opt = getattr(ours, name)([nn.Parameter(torch.zeros(2))])
    with pytest.raises((ValueError, TypeError), match=key):
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(2))], **bad})
    assert len(opt.param_groups) == 1  # the bad group was not added


def test_boundary_values_are_accepted():
    p = [nn.Parameter(torch.zeros(2))]
    ours.Adam(p, lr=0, betas=(0.0, 0.0), eps=0.0, weight_decay=0.0)
    ours.Adam(p, betas=[0.9, 0.999], fused=False, capturable=False, differentiable=False)
    ours.AdamW(p, betas=(0.999999, 0.999999))
    ours.Adamax(p, betas=(0.0, 0.0), eps=0.0)


# ---- state round trip ------------------------------------------------------------------------

CONFIGS_FOR_STATE = {
    "Adam": [{"lr": 0.02}, {"lr": 0.02, "amsgrad": True, "weight_decay": 0.01}],
    "AdamW": [{"lr": 0.02}, {"lr": 0.02, "amsgrad": True}],
    "Adamax": [{"lr": 0.02, "weight_decay": 0.01}],
}
STATE_CASES = [(name, cfg) for name, cfgs in CONFIGS_FOR_STATE.items() for cfg in cfgs]




@pytest.mark.parametrize("name,config", STATE_CASES, ids=[case_ids(c) for c in STATE_CASES])
def test_state_dict_resumes_a_run_exactly(name, config):
    cls = getattr(ours, name)
    model, x, y = make_problem()
    opt = cls(model.parameters(), **config)
    run_steps(model, opt, x, y, 25)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    uninterrupted = run_steps(model, opt, x, y, 25)

    buffer.seek(0)
    saved = torch.load(buffer)
    resumed_model, _, _ = make_problem(seed=123)  # different weights: all must come from the checkpoint
    resumed_model.load_state_dict(saved["model"])
    resumed_opt = cls(resumed_model.parameters(), **config)
    resumed_opt.load_state_dict(saved["opt"])
    resumed = run_steps(resumed_model, resumed_opt, x, y, 25)
    assert torch.equal(resumed, uninterrupted)


@pytest.mark.parametrize("name,config", STATE_CASES, ids=[case_ids(c) for c in STATE_CASES])
@pytest.mark.parametrize("direction", ["torch_to_ours", "ours_to_torch"])
def test_state_dicts_are_interchangeable_with_torch_optim(name, config, direction):
    """A checkpoint written by torch.optim continues under ours (and vice versa) with torch's numbers."""
    first, second = (torch.optim, ours) if direction == "torch_to_ours" else (ours, torch.optim)
    model, x, y = make_problem()
    opt = getattr(first, name)(model.parameters(), **config)
    run_steps(model, opt, x, y, 20)
    twin = copy.deepcopy(model)
    continued = getattr(second, name)(twin.parameters(), **config)
    continued.load_state_dict(copy.deepcopy(opt.state_dict()))
    reference = run_steps(model, opt, x, y, 20)
    assert torch.equal(run_steps(twin, continued, x, y, 20), reference)


@pytest.mark.parametrize("name,config", STATE_CASES, ids=[case_ids(c) for c in STATE_CASES])
def test_state_has_torch_optim_keys_and_values(name, config):
    states = []
    for module in (ours, torch.optim):
        model, x, y = make_problem()
        opt = getattr(module, name)(model.parameters(), **config)
        run_steps(model, opt, x, y, 3)
        states.append(opt.state_dict()["state"])
    assert {i: sorted(s) for i, s in states[0].items()} == {i: sorted(s) for i, s in states[1].items()}
    for i, s in states[0].items():
        for key, value in s.items():
            assert value.dtype == states[1][i][key].dtype and torch.equal(value, states[1][i][key])


def test_a_loaded_adamw_stays_decoupled():
    model, x, y = make_problem()
    opt = ours.AdamW(model.parameters(), weight_decay=0.1)
    run_steps(model, opt, x, y, 2)
    sd = opt.state_dict()
    sd["param_groups"][0]["decoupled_weight_decay"] = False
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


# ---- readable path == fast path --------------------------------------------------------------

FOREACH_CASES = [(name, cfg) for name, grid in GRIDS.items() for cfg in grid[:: max(1, len(grid) // 16)]]


@pytest.mark.parametrize("case", FOREACH_CASES, ids=[case_ids(c) for c in FOREACH_CASES])
def test_readable_update_equals_foreach_fast_path(case):
    name, config = case
    readable, readable_losses, opt_r = train(getattr(ours, name), {**config, "foreach": False})
    fast, fast_losses, opt_f = train(getattr(ours, name), {**config, "foreach": True})
    assert_same(readable, fast)
    assert_same(readable_losses, fast_losses)
    for (i, sr), (j, sf) in zip(opt_r.state_dict()["state"].items(), opt_f.state_dict()["state"].items()):
        assert i == j and sorted(sr) == sorted(sf)
        for key in sr:
            assert_same(sr[key], sf[key])


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_handles_mixed_dtypes_and_late_parameters(name):
    """The foreach path groups tensors by dtype; parameters that start late have their own t."""
    outs = []
    for foreach in (False, True):
        torch.manual_seed(0)
        a = nn.Parameter(torch.randn(6, dtype=torch.float64))
        b = nn.Parameter(torch.randn(4, dtype=torch.float32))
        c = nn.Parameter(torch.randn(3, dtype=torch.float64))
        opt = getattr(ours, name)([a, b, c], lr=0.05, foreach=foreach)
        for step in range(12):
            opt.zero_grad()
            loss = (a**2).sum() + (0.0 if step < 5 else (b.double() ** 3).sum()) + (0.0 if step < 8 else (c**4).sum())
            loss.backward()
            opt.step()
        assert opt.state[c]["step"].item() == 4 and opt.state[a]["step"].item() == 12
        outs.append(torch.cat([a.detach(), b.detach().double(), c.detach()]))
    assert_same(outs[0], outs[1])


@pytest.mark.parametrize("name,function", [("Adam", "adam_update_foreach"), ("AdamW", "adam_update_foreach"), ("Adamax", "adamax_update_foreach")])
def test_default_path_on_the_cpu_is_the_readable_one(monkeypatch, name, function):
    """On a CPU, foreach=None must use the readable per-tensor update (torch.optim's CPU default)."""
    calls = []
    monkeypatch.setattr(adam_module, function, lambda *a, **k: calls.append("foreach"))
    p = nn.Parameter(torch.ones(3))
    opt = getattr(ours, name)([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    assert calls == [] and not torch.equal(p.detach(), torch.ones(3))


def test_all_names_are_exported():
    for name in NAMES:
        assert name in ours.__all__
        assert issubclass(getattr(ours, name), torch.optim.Optimizer)
