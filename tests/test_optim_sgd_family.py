"""SGD, Adagrad, RMSprop and Adadelta from effdnn_lib.optim against torch.optim (the reference).

* parity in float64 over many steps and many hyperparameter combinations, with parameter groups,
  closures, learning-rate schedules, tensor learning rates, complex and sparse parameters;
* bad hyperparameters raise ValueError/TypeError naming the argument;
* state_dict()/load_state_dict() resume a run exactly (also across torch.optim and ours);
* the readable per-tensor update and the torch._foreach_* fast path agree.
"""

from __future__ import annotations

import copy
import io
import itertools

import pytest
import torch
from torch import nn

from effdnn_lib import optim as ours
import optim_parity as parity
from optim_parity import assert_same, case_ids, loss_of, make_problem, run_steps

NAMES = ["SGD", "Adagrad", "RMSprop", "Adadelta"]
STEPS = 60


def _sgd_grid():
    for lr, momentum, dampening, nesterov, weight_decay, maximize in itertools.product(
        (0.01, 0.2), (0.0, 0.5, 0.9), (0.0, 0.3), (False, True), (0.0, 0.05), (False, True)
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        yield dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay, maximize=maximize)


def _adagrad_grid():
    for lr, lr_decay, weight_decay, init, eps, maximize in itertools.product(
        (0.01, 0.3), (0.0, 0.05), (0.0, 0.05), (0.0, 0.3), (1e-10, 1e-3), (False, True)
    ):
        yield dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, initial_accumulator_value=init, eps=eps, maximize=maximize)


def _rmsprop_grid():
    for lr, alpha, eps, weight_decay, momentum, centered, maximize in itertools.product(
        (1e-3, 0.03), (0.5, 0.9, 0.99), (1e-8, 1e-3), (0.0, 0.05), (0.0, 0.9), (False, True), (False, True)
    ):
        yield dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered, maximize=maximize)


def _adadelta_grid():
    for lr, rho, eps, weight_decay, maximize in itertools.product((1.0, 0.3), (0.0, 0.9, 0.95, 1.0), (1e-6, 1e-3), (0.0, 0.05), (False, True)):
        yield dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)


GRIDS = {"SGD": list(_sgd_grid()), "Adagrad": list(_adagrad_grid()), "RMSprop": list(_rmsprop_grid()), "Adadelta": list(_adadelta_grid())}
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
    assert {name: len(grid) for name, grid in GRIDS.items()} == {"SGD": 64, "Adagrad": 64, "RMSprop": 192, "Adadelta": 64}


@pytest.mark.parametrize("name", NAMES)
def test_default_hyperparameters_match_torch(name):
    mine, _, opt_mine = train(getattr(ours, name), {})
    ref, _, opt_ref = train(getattr(torch.optim, name), {})
    assert_same(mine, ref)
    for key, value in opt_mine.defaults.items():
        assert opt_ref.defaults[key] == value, f"{name} default {key}: ours {value}, torch {opt_ref.defaults[key]}"


GROUP_OVERRIDES = {
    "SGD": ({"lr": 0.05, "momentum": 0.9}, {"lr": 0.2, "momentum": 0.0, "weight_decay": 0.1}, {"lr": 0.1, "momentum": 0.5, "nesterov": True}),
    "Adagrad": ({"lr": 0.1}, {"lr": 0.3, "lr_decay": 0.1, "eps": 1e-4}, {"weight_decay": 0.05}),
    "RMSprop": ({"lr": 0.01, "momentum": 0.9}, {"lr": 0.003, "centered": True, "alpha": 0.9}, {"weight_decay": 0.05, "eps": 1e-4}),
    "Adadelta": ({"lr": 1.0}, {"lr": 0.5, "rho": 0.95}, {"weight_decay": 0.05, "eps": 1e-4}),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("use_closure", [False, True])
def test_parity_with_parameter_groups_and_closures(name, use_closure):
    defaults, first, second = GROUP_OVERRIDES[name]

    def groups(model):
        return [{"params": model[0].parameters(), **first}, {"params": model[2].parameters(), **second}]

    mine, mine_losses, _ = train(getattr(ours, name), defaults, groups=groups, use_closure=use_closure)
    ref, ref_losses, _ = train(getattr(torch.optim, name), defaults, groups=groups, use_closure=use_closure)
    assert_same(mine, ref)
    assert_same(mine_losses, ref_losses)


@pytest.mark.parametrize("name", NAMES)
def test_parity_under_a_learning_rate_schedule_and_a_tensor_lr(name):
    def config():  # a fresh tensor each time: the scheduler changes a tensor lr in place
        c = {"lr": torch.tensor(0.05 if name != "Adadelta" else 0.5)}
        return {**c, "momentum": 0.9} if name == "SGD" else c

    def schedule(opt):
        return torch.optim.lr_scheduler.StepLR(opt, step_size=15, gamma=0.3)

    mine, _, opt = train(getattr(ours, name), config(), scheduler=schedule)
    ref, _, _ = train(getattr(torch.optim, name), config(), scheduler=schedule)
    assert_same(mine, ref)
    assert opt.param_groups[0]["lr"].item() < config()["lr"].item()  # the schedule did act


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
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adadelta"])
def test_parity_on_complex_parameters(name):
    outs = []
    for cls in (getattr(ours, name), getattr(torch.optim, name)):
        torch.manual_seed(0)
        z = nn.Parameter(torch.randn(5, dtype=torch.complex128))
        target = torch.randn(5, dtype=torch.complex128)
        opt = cls([z], lr=0.05)
        for _ in range(30):
            opt.zero_grad()
            (z - target).abs().pow(2).sum().backward()
            opt.step()
        outs.append(z.detach().clone())
    assert_same(outs[0], outs[1])


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # raised inside torch.optim's Adagrad
@pytest.mark.parametrize("name,config", [("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adagrad", {"lr": 0.1}), ("Adagrad", {"lr": 0.1, "lr_decay": 0.01})])
def test_parity_with_sparse_gradients(name, config):
    """nn.Embedding(sparse=True) gives sparse gradients; SGD and Adagrad support them, as in torch."""
    outs = []
    for cls in (getattr(ours, name), getattr(torch.optim, name)):
        torch.manual_seed(0)
        emb = nn.Embedding(20, 4, sparse=True).double()
        opt = cls(emb.parameters(), **config)
        for step in range(20):
            idx = torch.tensor([step % 20, (3 * step) % 20, (3 * step) % 20])  # a repeated index too
            opt.zero_grad()
            emb(idx).pow(2).sum().backward()
            opt.step()
        outs.append(emb.weight.detach().clone())
    assert_same(outs[0], outs[1])


@pytest.mark.parametrize("name", ["RMSprop", "Adadelta"])
def test_sparse_gradients_are_refused_where_torch_refuses_them(name):
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
        for _ in range(20):
            for m, opt in ((model, opt_a), (twin, opt_b)):
                opt.zero_grad()
                loss_of(m, x, y).backward()
                opt.step()
        for p, q in zip(model.parameters(), twin.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


# ---- bad input -------------------------------------------------------------------------------

BAD = [
    ("SGD", {"lr": -0.1}, ValueError, "lr"),
    ("SGD", {"lr": float("nan")}, ValueError, "lr"),
    ("SGD", {"lr": "0.1"}, TypeError, "lr"),
    ("SGD", {"momentum": -0.1}, ValueError, "momentum"),
    ("SGD", {"momentum": float("inf")}, ValueError, "momentum"),
    ("SGD", {"dampening": 1.5}, ValueError, "dampening"),
    ("SGD", {"weight_decay": -1e-4}, ValueError, "weight_decay"),
    ("SGD", {"nesterov": True}, ValueError, "nesterov"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError, "nesterov"),
    ("SGD", {"nesterov": "yes", "momentum": 0.9}, TypeError, "nesterov"),
    ("SGD", {"maximize": 2}, TypeError, "maximize"),
    ("SGD", {"fused": True}, ValueError, "fused"),
    ("Adagrad", {"lr": -1.0}, ValueError, "lr"),
    ("Adagrad", {"lr_decay": -0.1}, ValueError, "lr_decay"),
    ("Adagrad", {"weight_decay": -0.1}, ValueError, "weight_decay"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, ValueError, "initial_accumulator_value"),
    ("Adagrad", {"eps": -1e-10}, ValueError, "eps"),
    ("Adagrad", {"foreach": "auto"}, TypeError, "foreach"),
    ("RMSprop", {"lr": -0.01}, ValueError, "lr"),
    ("RMSprop", {"alpha": float("nan")}, ValueError, "alpha"),
    ("RMSprop", {"alpha": -0.01}, ValueError, "alpha"),
    ("RMSprop", {"eps": -1e-8}, ValueError, "eps"),
    ("RMSprop", {"momentum": -1.0}, ValueError, "momentum"),
    ("RMSprop", {"weight_decay": -1.0}, ValueError, "weight_decay"),
    ("RMSprop", {"centered": None}, TypeError, "centered"),
    ("RMSprop", {"capturable": True}, ValueError, "capturable"),
    ("Adadelta", {"lr": -1.0}, ValueError, "lr"),
    ("Adadelta", {"rho": 1.5}, ValueError, "rho"),
    ("Adadelta", {"rho": -0.5}, ValueError, "rho"),
    ("Adadelta", {"eps": -1e-6}, ValueError, "eps"),
    ("Adadelta", {"weight_decay": -0.1}, ValueError, "weight_decay"),
    ("Adadelta", {"differentiable": True}, ValueError, "differentiable"),
]


@pytest.mark.parametrize("name,config,error,argument", BAD, ids=[f"{n}-{a}-{c[a] if a in c else ''}" for n, c, _, a in BAD])
def test_bad_hyperparameters_name_the_argument(name, config, error, argument):
    with pytest.raises(error, match=argument):
        getattr(ours, name)([nn.Parameter(torch.zeros(2))], **config)


@pytest.mark.parametrize("name,bad", [("SGD", {"momentum": -2.0}), ("Adagrad", {"eps": -1.0}), ("RMSprop", {"alpha": -2.0}), ("Adadelta", {"rho": 2.0})])
def test_a_bad_parameter_group_is_refused(name, bad):
    (key,) = bad
    with pytest.raises(ValueError, match=key):
        getattr(ours, name)([{"params": [nn.Parameter(torch.zeros(2))], **bad}])
    opt = getattr(ours, name)([nn.Parameter(torch.zeros(2))])
    with pytest.raises(ValueError, match=key):
        opt.add_param_group({"params": [nn.Parameter(torch.zeros(2))], **bad})
    assert len(opt.param_groups) == 1  # the bad group was not added


def test_boundary_values_are_accepted():
    p = [nn.Parameter(torch.zeros(2))]
    ours.SGD(p, lr=0, momentum=0.0, dampening=1.0)
    ours.RMSprop(p, alpha=0.0)
    ours.RMSprop(p, alpha=1.0, eps=0.0)
    ours.Adadelta(p, rho=0.0)
    ours.Adadelta(p, rho=1.0)
    ours.Adagrad(p, eps=0.0, lr_decay=0.0)


# ---- state round trip ------------------------------------------------------------------------

CONFIGS_FOR_STATE = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
    "RMSprop": {"lr": 0.01, "momentum": 0.9, "centered": True},
    "Adadelta": {"lr": 1.0, "rho": 0.95},
}




@pytest.mark.parametrize("name", NAMES)
def test_state_dict_resumes_a_run_exactly(name):
    cls, config = getattr(ours, name), CONFIGS_FOR_STATE[name]
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


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("direction", ["torch_to_ours", "ours_to_torch"])
def test_state_dicts_are_interchangeable_with_torch_optim(name, direction):
    """A checkpoint written by torch.optim continues under ours (and vice versa) with torch's numbers."""
    config = CONFIGS_FOR_STATE[name]
    first, second = (torch.optim, ours) if direction == "torch_to_ours" else (ours, torch.optim)
    model, x, y = make_problem()
    opt = getattr(first, name)(model.parameters(), **config)
    run_steps(model, opt, x, y, 20)
    twin = copy.deepcopy(model)
    continued = getattr(second, name)(twin.parameters(), **config)
    continued.load_state_dict(copy.deepcopy(opt.state_dict()))
    reference = run_steps(model, opt, x, y, 20)
    assert_same(run_steps(twin, continued, x, y, 20), reference)


@pytest.mark.parametrize("name", NAMES)
def test_state_has_torch_optim_keys(name):
    config = CONFIGS_FOR_STATE[name]
    states = []
    for module in (ours, torch.optim):
        model, x, y = make_problem()
        opt = getattr(module, name)(model.parameters(), **config)
        run_steps(model, opt, x, y, 3)
        states.append({i: sorted(s) for i, s in opt.state_dict()["state"].items()})
    assert states[0] == states[1]


# ---- readable path == fast path --------------------------------------------------------------

FOREACH_CASES = [(name, cfg) for name, grid in GRIDS.items() for cfg in grid[:: max(1, len(grid) // 12)]]


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


@pytest.mark.parametrize("case", FOREACH_CASES, ids=[case_ids(c) for c in FOREACH_CASES])
def test_foreach_fast_path_matches_torch_foreach(case):
    """torch.optim's own default on a GPU is its foreach path: ours must match that one too."""
    name, config = case
    mine, _, _ = train(getattr(ours, name), {**config, "foreach": True})
    ref, _, _ = train(getattr(torch.optim, name), {**config, "foreach": True})
    assert_same(mine, ref)


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_handles_mixed_dtypes_and_late_parameters(name):
    """The foreach path groups tensors by dtype; parameters that start late get fresh state."""
    outs = []
    for foreach in (False, True):
        torch.manual_seed(0)
        a = nn.Parameter(torch.randn(6, dtype=torch.float64))
        b = nn.Parameter(torch.randn(4, dtype=torch.float32))
        opt = getattr(ours, name)([a, b], lr=0.05, foreach=foreach)
        for step in range(12):
            opt.zero_grad()
            loss = (a**2).sum() + (0.0 if step < 5 else (b.double() ** 3).sum())
            loss.backward()
            opt.step()
        outs.append(torch.cat([a.detach(), b.detach().double()]))
    assert_same(outs[0], outs[1])


def test_default_path_on_the_cpu_is_the_readable_one(monkeypatch):
    """On a CPU, foreach=None must use the readable per-tensor update (torch.optim's CPU default)."""
    from effdnn_lib.optim import sgd as sgd_module

    calls = []
    monkeypatch.setattr(sgd_module, "sgd_update_foreach", lambda *a, **k: calls.append("foreach"))
    p = nn.Parameter(torch.ones(3))
    opt = ours.SGD([p], lr=0.1)
    p.grad = torch.ones(3)
    opt.step()
    assert calls == [] and torch.allclose(p.detach(), torch.full((3,), 0.9))


def test_all_names_are_exported():
    for name in NAMES:
        assert name in ours.__all__
        assert issubclass(getattr(ours, name), torch.optim.Optimizer)
