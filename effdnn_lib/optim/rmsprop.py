r"""RMSprop: divide the gradient by a running root-mean-square of its recent values.

A drop-in replacement for ``torch.optim.RMSprop`` (Tieleman & Hinton's lecture 6.5, 2012; the
centred form is Graves, 2013). With learning rate :math:`\eta` (``lr``), smoothing constant
:math:`\alpha` (``alpha``), :math:`\epsilon` (``eps``), momentum :math:`\mu` and weight decay
:math:`\lambda`, one step on a tensor :math:`\theta` is

.. math::

    g_t &\leftarrow \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}\\
    v_t &\leftarrow \alpha\,v_{t-1} + (1-\alpha)\,g_t^2 \qquad (v_0 = 0)\\
    s_t &\leftarrow \begin{cases}\sqrt{v_t - m_t^2}, \quad m_t \leftarrow \alpha\,m_{t-1} + (1-\alpha)\,g_t
        & \text{centered}\\ \sqrt{v_t} & \text{otherwise}\end{cases}\\
    b_t &\leftarrow \mu\,b_{t-1} + \frac{g_t}{s_t + \epsilon} \qquad (b_0 = 0)\\
    \theta_t &\leftarrow \theta_{t-1} - \eta\,b_t

With ``momentum=0`` the last two lines are :math:`\theta_t \leftarrow \theta_{t-1} - \eta\,g_t/(s_t+\epsilon)`.
Unlike AdaGrad's growing sum, :math:`v_t` forgets old gradients with time constant about
:math:`1/(1-\alpha)` steps, so the effective rate does not decay to zero. As in PyTorch,
:math:`\epsilon` is added *after* the square root (TensorFlow adds it inside).
"""

from __future__ import annotations

import torch

from ._checks import check_flag, check_lr, check_non_negative, check_unsupported
from ._base import CourseOptimizer, as_scalar, new_step_counter

__all__ = ["RMSprop", "rmsprop_update", "rmsprop_update_foreach"]


def rmsprop_update(param, grad, state, *, lr, alpha, eps, weight_decay, momentum, centered, maximize=False):
    """One RMSprop step on one (real) parameter tensor, in place.

    ``state`` holds ``step``, ``square_avg`` (v), and ``momentum_buffer`` (b) and ``grad_avg`` (m)
    when those options are on.
    """
    state["step"] += 1
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g.add(param, alpha=weight_decay)  # g + lambda * theta
    v = state["square_avg"]
    v.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # v = alpha * v + (1 - alpha) * g^2
    if centered:
        m = state["grad_avg"]
        m.lerp_(g, 1 - alpha)  # m = alpha * m + (1 - alpha) * g
        s = v.addcmul(m, m, value=-1).sqrt_()  # sqrt(v - m^2): an estimate of the gradient's spread
    else:
        s = v.sqrt()
    s.add_(eps)  # s + eps
    if momentum > 0:
        b = state["momentum_buffer"]
        b.mul_(momentum).addcdiv_(g, s)  # b = mu * b + g / s  (s already holds + eps)
        param.add_(b, alpha=-lr)  # theta = theta - lr * b
    else:
        param.addcdiv_(g, s, value=-lr)  # theta = theta - lr * g / s


def rmsprop_update_foreach(
    params, grads, square_avgs, grad_avgs, buffers, steps, *, lr, alpha, eps, weight_decay, momentum, centered, maximize=False
):
    """:func:`rmsprop_update` on lists of real tensors of one device and dtype (``torch._foreach_*``).

    ``grad_avgs`` and ``buffers`` may be empty lists when ``centered`` or ``momentum`` is off.
    """
    for step in steps:
        step += 1
    if maximize:
        grads = torch._foreach_neg(grads)
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_mul_(square_avgs, alpha)
    torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
    if centered:
        torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)
        s = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)
        torch._foreach_sqrt_(s)
    else:
        s = torch._foreach_sqrt(square_avgs)
    torch._foreach_add_(s, eps)
    if momentum > 0:
        torch._foreach_mul_(buffers, momentum)
        torch._foreach_addcdiv_(buffers, grads, s)
        torch._foreach_add_(params, buffers, alpha=-lr)
    else:
        torch._foreach_addcdiv_(params, grads, s, value=-lr)



class RMSprop(CourseOptimizer):
    """RMSprop, written from scratch; same constructor, defaults and results as ``torch.optim.RMSprop``.

    ``foreach=None`` uses :func:`rmsprop_update_foreach` when all parameters are on CUDA, the readable
    :func:`rmsprop_update` otherwise. ``capturable`` and ``differentiable`` are not offered (``True`` raises ``UnsupportedOption``).
    """

    _group_defaults = {"momentum": 0, "centered": False, "foreach": None, "maximize": False}

    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        check_unsupported("capturable", capturable)
        check_unsupported("differentiable", differentiable)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
        )
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    @staticmethod
    def _check_hyperparameters(group):
        check_lr(group["lr"])
        check_non_negative("alpha", group["alpha"])  # torch.optim allows alpha > 1
        check_non_negative("eps", group["eps"])
        check_non_negative("weight_decay", group["weight_decay"])
        check_non_negative("momentum", group["momentum"])
        check_flag("centered", group["centered"])
        check_flag("maximize", group["maximize"])
        check_flag("foreach", group["foreach"], allow_none=True)

    def _init_state(self, p, group):
        state = self.state[p]
        if len(state) == 0:  # lazily, at a parameter's first step
            state["step"] = new_step_counter()
            state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if group["momentum"] > 0:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _step_group(self, group, params):
        states = {p: self._init_state(p, group) for p in params}
        hyper = dict(
            lr=as_scalar(group["lr"]),
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            centered=group["centered"],
            maximize=group["maximize"],
        )
        keys = ("square_avg", "grad_avg", "momentum_buffer")  # the last two only when centred / momentum > 0
        self._apply_update(group, params, states, keys, rmsprop_update, rmsprop_update_foreach, hyper, complex_grad_first=True)
