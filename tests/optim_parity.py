"""Shared plumbing of the optimizer parity tests (test_optim_sgd_family.py, test_optim_adam.py):
one small float64 regression problem, a training run that records parameters and losses, and a
tolerance for "the same numbers"."""

from __future__ import annotations

import torch
from torch import nn


def case_ids(case):
    """A readable test id for a (name, config) case."""
    name, cfg = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in cfg.items())


def make_problem(seed=0, dtype=torch.float64):
    """A small regression network and data: enough tensors and curvature to exercise the updates."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)
    x, y = torch.randn(32, 6, dtype=dtype), torch.randn(32, 3, dtype=dtype)
    return model, x, y


def loss_of(model, x, y):
    return ((model(x) - y) ** 2).mean()


def train(opt_cls, config, steps, seed=0, groups=None, use_closure=False, scheduler=None):
    """Parameters (flattened) and losses after ``steps`` steps of ``opt_cls`` from a fixed start."""
    model, x, y = make_problem(seed)
    params = groups(model) if groups else model.parameters()
    opt = opt_cls(params, **config)
    sched = scheduler(opt) if scheduler else None
    losses = []
    for _ in range(steps):
        if use_closure:

            def closure():
                opt.zero_grad()
                loss = loss_of(model, x, y)
                loss.backward()
                return loss

            losses.append(opt.step(closure).item())
        else:
            opt.zero_grad()
            loss = loss_of(model, x, y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if sched:
            sched.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    return flat, torch.tensor(losses, dtype=torch.float64), opt


def run_steps(model, opt, x, y, steps):
    """``steps`` plain steps on the problem; the flattened parameters afterwards."""
    for _ in range(steps):
        opt.zero_grad()
        loss_of(model, x, y).backward()
        opt.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def assert_same(a, b):
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)
