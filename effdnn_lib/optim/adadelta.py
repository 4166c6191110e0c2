r"""AdaDelta: step sizes from the ratio of two running root-mean-squares, no learning rate needed.

A drop-in replacement for ``torch.optim.Adadelta`` (Zeiler, 2012). With decay :math:`\rho` (``rho``),
:math:`\epsilon` (``eps``), weight decay :math:`\lambda` and a learning rate :math:`\eta` (``lr``,
1.0 by default: Zeiler's method has none, and ``lr=1`` is exactly his rule), one step on a tensor
:math:`\theta` is

.. math::

    g_t &\leftarrow \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}\\
    E[g^2]_t &\leftarrow \rho\,E[g^2]_{t-1} + (1-\rho)\,g_t^2\\
    \Delta_t &\leftarrow \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\;g_t\\
    E[\Delta^2]_t &\leftarrow \rho\,E[\Delta^2]_{t-1} + (1-\rho)\,\Delta_t^2\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,\Delta_t

Both averages start at zero. The numerator carries the units of :math:`\theta` (a running RMS of
past steps), the denominator those of the gradient, so :math:`\Delta_t` has the units of a step:
Zeiler's argument for dropping the global learning rate. Here :math:`\epsilon` sits inside both
square roots; it also sets the size of the very first steps, :math:`\sqrt{\epsilon}` relative.
"""

from __future__ import annotations

import torch

from ._checks import check_flag, check_interval, check_lr, check_non_negative, check_unsupported
from ._base import CourseOptimizer, as_scalar, new_step_counter

__all__ = ["Adadelta", "adadelta_update", "adadelta_update_foreach"]


def adadelta_update(param, grad, state, *, lr, rho, eps, weight_decay, maximize=False):
    """One AdaDelta step on one (real) parameter tensor, in place.

    ``state`` holds ``step``, ``square_avg`` (E[g^2]) and ``acc_delta`` (E[Delta^2]).
    """
    state["step"] += 1
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g.add(param, alpha=weight_decay)  # g + lambda * theta
    Eg2, Edelta2 = state["square_avg"], state["acc_delta"]
    Eg2.mul_(rho).addcmul_(g, g, value=1 - rho)  # E[g^2] = rho * E[g^2] + (1 - rho) * g^2
    rms_g = Eg2.add(eps).sqrt_()  # RMS[g]_t = sqrt(E[g^2] + eps)
    delta = Edelta2.add(eps).sqrt_()  # RMS[Delta]_{t-1} = sqrt(E[Delta^2] + eps)
    delta.div_(rms_g).mul_(g)  # Delta = RMS[Delta]_{t-1} / RMS[g]_t * g
    Edelta2.mul_(rho).addcmul_(delta, delta, value=1 - rho)  # E[Delta^2] = rho * E[Delta^2] + (1 - rho) * Delta^2
    param.add_(delta, alpha=-lr)  # theta = theta - lr * Delta


def adadelta_update_foreach(params, grads, square_avgs, acc_deltas, steps, *, lr, rho, eps, weight_decay, maximize=False):
    """:func:`adadelta_update` on lists of real tensors of one device and dtype (``torch._foreach_*``)."""
    for step in steps:
        step += 1
    if maximize:
        grads = torch._foreach_neg(grads)
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_mul_(square_avgs, rho)
    torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - rho)
    rms_g = torch._foreach_add(square_avgs, eps)
    torch._foreach_sqrt_(rms_g)
    deltas = torch._foreach_add(acc_deltas, eps)
    torch._foreach_sqrt_(deltas)
    torch._foreach_div_(deltas, rms_g)
    torch._foreach_mul_(deltas, grads)
    torch._foreach_mul_(acc_deltas, rho)
    torch._foreach_addcmul_(acc_deltas, deltas, deltas, value=1 - rho)
    torch._foreach_add_(params, deltas, alpha=-lr)



class Adadelta(CourseOptimizer):
    """AdaDelta, written from scratch; same constructor, defaults and results as ``torch.optim.Adadelta``.

    ``foreach=None`` uses :func:`adadelta_update_foreach` when all parameters are on CUDA, the readable
    :func:`adadelta_update` otherwise. ``capturable`` and ``differentiable`` are not offered (``True`` raises ``UnsupportedOption``).
    """

    def __init__(
        self,
        params,
        lr=1.0,
        rho=0.9,
        eps=1e-6,
        weight_decay=0,
        foreach=None,
        *,
        capturable=False,
        maximize=False,
        differentiable=False,
    ):
        check_unsupported("capturable", capturable)
        check_unsupported("differentiable", differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach)
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(group):
        check_lr(group["lr"])
        check_interval("rho", group["rho"], 0.0, 1.0, closed_high=True)
        check_non_negative("eps", group["eps"])
        check_non_negative("weight_decay", group["weight_decay"])
        check_flag("maximize", group["maximize"])
        check_flag("foreach", group["foreach"], allow_none=True)

    def _init_state(self, p):
        state = self.state[p]
        if len(state) == 0:  # lazily, at a parameter's first step
            state["step"] = new_step_counter()
            state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _step_group(self, group, params):
        states = {p: self._init_state(p) for p in params}
        hyper = dict(
            lr=as_scalar(group["lr"]),
            rho=group["rho"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )
        keys = ("square_avg", "acc_delta")
        self._apply_update(group, params, states, keys, adadelta_update, adadelta_update_foreach, hyper)
