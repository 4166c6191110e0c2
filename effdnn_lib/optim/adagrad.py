r"""AdaGrad: a learning rate per parameter, shrinking with the sum of its squared gradients.

A drop-in replacement for ``torch.optim.Adagrad`` (Duchi, Hazan & Singer, 2011). With learning
rate :math:`\eta` (``lr``), learning-rate decay :math:`\delta` (``lr_decay``), weight decay
:math:`\lambda` and :math:`\epsilon` (``eps``), one step on a tensor :math:`\theta` is

.. math::

    g_t &\leftarrow \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}\\
    \eta_t &\leftarrow \frac{\eta}{1 + (t-1)\,\delta}\\
    G_t &\leftarrow G_{t-1} + g_t^2 \qquad (G_0 = \text{initial\_accumulator\_value})\\
    \theta_t &\leftarrow \theta_{t-1} - \eta_t\,\frac{g_t}{\sqrt{G_t} + \epsilon}

All operations are elementwise, so each coordinate gets its own effective rate
:math:`\eta_t / (\sqrt{G_t} + \epsilon)`: large for coordinates whose gradients have been small or
rare, small for those with large or frequent gradients. Because :math:`G_t` only grows, the rate
only shrinks; RMSprop and AdaDelta replace the sum by a moving average.

As in ``torch.optim.Adagrad``: the state (``step`` and ``sum``) is created in the constructor, and
every accumulator starts at the constructor's ``initial_accumulator_value`` (a value set in a
parameter group does not change it); sparse gradients (``nn.Embedding(sparse=True)``) update only
the rows they touch.
"""

from __future__ import annotations

import torch

from ._checks import check_flag, check_lr, check_non_negative, check_unsupported
from ._base import CourseOptimizer, as_scalar, new_step_counter

__all__ = ["Adagrad", "adagrad_update", "adagrad_update_foreach"]


def adagrad_update(param, grad, state, *, lr, lr_decay, weight_decay, eps, maximize=False):
    """One AdaGrad step on one (real) parameter tensor, in place. ``state``: ``step``, ``sum``."""
    state["step"] += 1
    t = state["step"].item()
    g = -grad if maximize else grad
    if weight_decay != 0:
        if g.is_sparse:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        g = g.add(param, alpha=weight_decay)  # g + lambda * theta
    lr_t = lr / (1 + (t - 1) * lr_decay)  # eta_t, the decayed learning rate
    G = state["sum"]
    if g.is_sparse:  # only the rows present in the gradient change
        _adagrad_sparse(param, g.coalesce(), G, lr_t, eps)
        return
    G.addcmul_(g, g)  # G = G + g^2
    std = G.sqrt().add_(eps)  # sqrt(G) + eps
    param.addcdiv_(g, std, value=-lr_t)  # theta = theta - eta_t * g / (sqrt(G) + eps)


def _adagrad_sparse(param, g, G, lr_t, eps):
    """The same update for a coalesced sparse gradient: touch only its non-zero rows."""
    indices, values = g._indices(), g._values()

    def sparse_like(v):
        return torch.sparse_coo_tensor(indices, v, g.size(), check_invariants=False)  # indices of a coalesced gradient

    G.add_(sparse_like(values.pow(2)))
    std_values = G.sparse_mask(g)._values().sqrt_().add_(eps)
    param.add_(sparse_like(values / std_values), alpha=-lr_t)


def adagrad_update_foreach(params, grads, sums, steps, *, lr, lr_decay, weight_decay, eps, maximize=False):
    """:func:`adagrad_update` on lists of real tensors of one device and dtype (``torch._foreach_*``)."""
    for step in steps:
        step += 1
    if maximize:
        grads = torch._foreach_neg(grads)
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    minus_lr_t = [-lr / (1 + (step.item() - 1) * lr_decay) for step in steps]
    torch._foreach_addcmul_(sums, grads, grads)
    std = torch._foreach_sqrt(sums)
    torch._foreach_add_(std, eps)
    torch._foreach_addcdiv_(params, grads, std, minus_lr_t)



class Adagrad(CourseOptimizer):
    """AdaGrad, written from scratch; same constructor, defaults and results as ``torch.optim.Adagrad``.

    ``foreach=None`` uses :func:`adagrad_update_foreach` when all parameters are on CUDA, the readable
    :func:`adagrad_update` otherwise. Complex parameters are updated as pairs of real numbers.
    ``fused`` and ``differentiable`` are not offered (``True`` raises ``UnsupportedOption``).
    """

    _sparse_gradients = True

    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        fused=None,
    ):
        check_unsupported("differentiable", differentiable)
        check_unsupported("fused", fused)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
        )
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    @staticmethod
    def _check_hyperparameters(group):
        check_lr(group["lr"])
        check_non_negative("lr_decay", group["lr_decay"])
        check_non_negative("weight_decay", group["weight_decay"])
        check_non_negative("initial_accumulator_value", group["initial_accumulator_value"])
        check_non_negative("eps", group["eps"])
        check_flag("maximize", group["maximize"])
        check_flag("foreach", group["foreach"], allow_none=True)

    def _init_state(self, p, initial_accumulator_value):
        state = self.state[p]
        if len(state) == 0:
            start = complex(initial_accumulator_value, initial_accumulator_value) if torch.is_complex(p) else initial_accumulator_value
            state["step"] = new_step_counter()
            state["sum"] = torch.full_like(p, start, memory_format=torch.preserve_format)

    def share_memory(self):
        """Put the accumulators in shared memory (for multi-process training), as torch.optim does."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    def _step_group(self, group, params):
        for p in params:  # parameters added after construction start here
            self._init_state(p, self.defaults["initial_accumulator_value"])
        hyper = dict(
            lr=as_scalar(group["lr"]),
            lr_decay=group["lr_decay"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )
        states = {p: self.state[p] for p in params}
        self._apply_update(group, params, states, ("sum",), adagrad_update, adagrad_update_foreach, hyper, complex_grad_first=True)
