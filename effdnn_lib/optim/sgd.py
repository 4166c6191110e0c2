r"""Stochastic gradient descent, with momentum, dampening and Nesterov's look-ahead.

A drop-in replacement for ``torch.optim.SGD``: same arguments, same defaults, same numbers.
For one parameter tensor :math:`\theta` with gradient :math:`g_t`, learning rate
:math:`\gamma` (``lr``), momentum :math:`\mu`, dampening :math:`\tau` and weight decay
:math:`\lambda`, one step is

.. math::

    g_t &\leftarrow \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
        \qquad(\text{the } \lambda \text{ term is the gradient of } \tfrac{\lambda}{2}\lVert\theta\rVert^2)\\
    b_t &\leftarrow \begin{cases} g_t & t = 1\\ \mu\,b_{t-1} + (1-\tau)\,g_t & t > 1\end{cases}\\
    d_t &\leftarrow \begin{cases} g_t + \mu\,b_t & \text{Nesterov}\\ b_t & \text{otherwise}\end{cases}\\
    \theta_t &\leftarrow \theta_{t-1} - \gamma\,d_t

With ``momentum=0`` there is no buffer and :math:`d_t = g_t`: plain (stochastic) gradient descent.
Two details follow PyTorch and differ from some other libraries (chapter 3 compares them):
the learning rate multiplies the buffer rather than sitting inside it, and the buffer starts at
the first gradient, so dampening only acts from the second step on.

:func:`sgd_update` is the readable per-tensor update; :func:`sgd_update_foreach` does the same
arithmetic on whole lists of tensors with ``torch._foreach_*`` kernels (one launch per operation
instead of one per tensor, which matters on a GPU). ``SGD(foreach=None)`` picks the list form
when every parameter is on a CUDA device, as ``torch.optim`` does, and the readable form
otherwise.
"""

from __future__ import annotations

import torch

from ._base import CourseOptimizer, as_scalar, group_by_device_and_dtype, use_foreach
from ._checks import check_flag, check_interval, check_lr, check_non_negative, check_unsupported

__all__ = ["SGD", "sgd_update", "sgd_update_foreach"]


def sgd_update(param, grad, state, *, lr, momentum, dampening, weight_decay, nesterov, maximize=False):
    """One SGD step on one parameter tensor, in place. ``state`` holds ``momentum_buffer``."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g.add(param, alpha=weight_decay)  # g + lambda * theta
    if momentum != 0:
        b = state.get("momentum_buffer")
        if b is None:  # first step: the buffer starts at the gradient itself
            b = state["momentum_buffer"] = torch.clone(g).detach()
        else:
            b.mul_(momentum).add_(g, alpha=1 - dampening)  # b = mu * b + (1 - tau) * g
        g = g.add(b, alpha=momentum) if nesterov else b  # d = g + mu * b, or d = b
    param.add_(g, alpha=-lr)  # theta = theta - lr * d


def sgd_update_foreach(params, grads, buffers, *, lr, momentum, dampening, weight_decay, nesterov, maximize=False):
    """:func:`sgd_update` on lists of tensors (one device and dtype) with ``torch._foreach_*`` ops.

    ``buffers`` lists each tensor's momentum buffer or ``None``; new buffers are written into it.
    The gradients themselves are never modified.
    """
    if maximize:
        grads = torch._foreach_neg(grads)
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    if momentum != 0:
        if all(b is not None for b in buffers):
            torch._foreach_mul_(buffers, momentum)
            torch._foreach_add_(buffers, grads, alpha=1 - dampening)
        else:  # some tensors take their first step: their buffer starts at the gradient
            for i, (b, g) in enumerate(zip(buffers, grads)):
                if b is None:
                    buffers[i] = torch.clone(g).detach()
                else:
                    b.mul_(momentum).add_(g, alpha=1 - dampening)
        grads = torch._foreach_add(grads, buffers, alpha=momentum) if nesterov else buffers
    torch._foreach_add_(params, grads, alpha=-lr)


class SGD(CourseOptimizer):
    """Stochastic gradient descent (optionally with momentum), written from scratch.

    Same constructor as ``torch.optim.SGD``. ``foreach=None`` uses :func:`sgd_update_foreach` when all
    parameters are on CUDA, :func:`sgd_update` otherwise; ``True``/``False`` force one. ``fused`` and
    ``differentiable`` exist only for compatibility: ``True`` raises ``UnsupportedOption``.
    """

    _group_defaults = {"nesterov": False, "maximize": False, "foreach": None}
    _sparse_gradients = True

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    ):
        check_unsupported("differentiable", differentiable)
        check_unsupported("fused", fused)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
        )
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(group):
        check_lr(group["lr"])
        momentum = check_non_negative("momentum", group["momentum"])
        dampening = check_interval("dampening", group["dampening"], 0.0, 1.0, closed_high=True)
        check_non_negative("weight_decay", group["weight_decay"])
        if check_flag("nesterov", group["nesterov"]) and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening: nesterov=True needs momentum > 0 and "
                f"dampening=0; got momentum={group['momentum']}, "
                f"dampening={group['dampening']}"
            )
        check_flag("maximize", group["maximize"])
        check_flag("foreach", group["foreach"], allow_none=True)

    def _step_group(self, group, params):
        hyper = dict(
            lr=as_scalar(group["lr"]),
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
        uses_state = group["momentum"] != 0  # plain SGD keeps no state at all, as in torch.optim
        if use_foreach(group["foreach"], params):
            for tensors in group_by_device_and_dtype(params):
                buffers = [self.state[p].get("momentum_buffer") for p in tensors] if uses_state else []
                sgd_update_foreach(tensors, [p.grad for p in tensors], buffers, **hyper)
                for p, b in zip(tensors, buffers):
                    self.state[p]["momentum_buffer"] = b
        else:
            for p in params:
                sgd_update(p, p.grad, self.state[p] if uses_state else {}, **hyper)

