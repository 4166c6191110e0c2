"""What every optimizer of :mod:`effdnn_lib.optim` shares: the ``torch.optim.Optimizer`` protocol
(hyperparameters checked when a group is added, defaults filled in when an old state dict is
loaded, ``step(closure)``) and small helpers for the two update paths. Each optimizer module
keeps only its own algorithm: the readable per-tensor update, its ``torch._foreach_*`` twin, and
a ``_step_group`` that hands one parameter group to them."""

from __future__ import annotations

from collections import defaultdict

import torch


class CourseOptimizer(torch.optim.Optimizer):
    """Base class: subclasses define ``_check_hyperparameters(group)`` and ``_step_group(group, params)``.

    ``_group_defaults`` lists the options that older state dicts may lack (torch.optim's
    ``__setstate__`` fills in the same ones); ``_sparse_gradients`` says whether the algorithm
    accepts sparse gradients (as in torch.optim, only SGD and Adagrad do).
    """

    _group_defaults: dict = {"maximize": False, "foreach": None}
    _sparse_gradients = False

    @staticmethod
    def _check_hyperparameters(group) -> None:
        raise NotImplementedError

    def _step_group(self, group, params) -> None:
        raise NotImplementedError

    def add_param_group(self, param_group):
        """Add a group after checking its hyperparameters (a group may override any default)."""
        if isinstance(param_group, dict):
            self._check_hyperparameters({**self.defaults, **param_group})
        super().add_param_group(param_group)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in self._group_defaults.items():
                group.setdefault(key, value)
        for p_state in self.state.values():
            # older checkpoints keep the step counter as a plain number: make it the scalar tensor the
            # updates expect, as torch.optim's __setstate__ does
            if "step" in p_state and not torch.is_tensor(p_state["step"]):
                p_state["step"] = torch.tensor(float(p_state["step"]), dtype=new_step_counter().dtype)

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step; ``closure`` re-evaluates the loss (with gradients) and returns it."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if not self._sparse_gradients and any(p.grad.is_sparse for p in params):
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            self._step_group(group, params)
        return loss

    @staticmethod
    def _apply_update(group, params, states, keys, update, update_foreach, hyper, allow_foreach=True, complex_grad_first=False):
        """Run one group's update on the path ``foreach`` asks for.

        The fast path calls ``update_foreach(params, grads, *buffers, steps, **hyper)`` once per device
        and dtype, with one list per state name in ``keys`` (empty where a tensor has no such state,
        e.g. RMSprop's ``grad_avg`` when not centred); the readable path calls
        ``update(param, grad, state, **hyper)`` tensor by tensor. Complex tensors are passed as real
        views, so both updates only ever see real numbers. With ``complex_grad_first`` the readable path
        negates (``maximize``) and adds the weight decay to a complex gradient before taking its real view,
        in that order, as torch.optim's for-loop AdaGrad and RMSprop do (the rounding then matches theirs).
        """
        if allow_foreach and use_foreach(group["foreach"], params):
            for tensors in group_by_device_and_dtype(params):
                st = [states[p] for p in tensors]
                buffers = [[real(s[k]) for s in st if k in s] for k in keys]
                steps = [s["step"] for s in st]
                update_foreach([real(p) for p in tensors], [real(p.grad) for p in tensors], *buffers, steps, **hyper)
        else:
            for p in params:
                grad, p_hyper = p.grad, hyper
                if complex_grad_first and torch.is_complex(p) and not grad.is_sparse:
                    grad = -grad if hyper["maximize"] else grad
                    if hyper["weight_decay"] != 0:
                        grad = grad.add(p, alpha=hyper["weight_decay"])
                    p_hyper = {**hyper, "maximize": False, "weight_decay": 0}
                state = real_state(states[p]) if torch.is_complex(p) else states[p]
                update(real(p), real(grad), state, **p_hyper)


def as_scalar(value) -> float:
    """A learning rate given as a one-element tensor, as a Python number (as torch.optim does)."""
    return value.item() if isinstance(value, torch.Tensor) else value


def new_step_counter() -> torch.Tensor:
    """A step counter as torch.optim keeps it: a scalar tensor on the CPU, float64 if that is the
    default dtype and float32 otherwise (so state dicts can be exchanged with torch.optim)."""
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    return torch.tensor(0.0, dtype=dtype)


def use_foreach(foreach, params) -> bool:
    """Whether to take the ``torch._foreach_*`` path: as asked, or by default when every parameter is
    a dense-gradient tensor on a CUDA device (torch.optim's own default rule)."""
    if any(p.grad.is_sparse for p in params):
        return False  # foreach kernels have no sparse version
    if foreach is not None:
        return foreach
    return all(p.device.type == "cuda" for p in params)


def group_by_device_and_dtype(params) -> list[list[torch.Tensor]]:
    """Split parameters into lists that share a device and a dtype (what one foreach kernel takes)."""
    groups: dict[tuple, list[torch.Tensor]] = defaultdict(list)
    for p in params:
        groups[(p.device, p.dtype)].append(p)
    return list(groups.values())


def real(t: torch.Tensor) -> torch.Tensor:
    """A complex tensor as a real view with a trailing (real, imaginary) axis; a real one (and a
    sparse gradient, which has no such view) as itself. The updates then treat the two parts as two
    real numbers, as torch.optim does."""
    return torch.view_as_real(t) if torch.is_complex(t) and not t.is_sparse else t


def real_state(state: dict) -> dict:
    """A parameter's state with every buffer seen through :func:`real` (the step counter as it is)."""
    return {k: v if k == "step" else real(v) for k, v in state.items()}
