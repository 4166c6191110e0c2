r"""Adam, its decoupled-weight-decay form AdamW, and its infinity-norm form AdaMax.

Drop-in replacements for ``torch.optim.Adam``, ``torch.optim.AdamW`` and ``torch.optim.Adamax``:
same arguments, same defaults, same numbers. Adam is Algorithm 1 of Kingma & Ba (2015). With
step size :math:`\alpha` (``lr``), decay rates :math:`\beta_1, \beta_2` (``betas``) and
:math:`\epsilon` (``eps``), one step on a tensor :math:`\theta` is

.. math::

    t &\leftarrow t + 1\\
    g_t &\leftarrow \nabla f_t(\theta_{t-1})\\
    m_t &\leftarrow \beta_1\,m_{t-1} + (1-\beta_1)\,g_t \qquad (m_0 = 0)\\
    v_t &\leftarrow \beta_2\,v_{t-1} + (1-\beta_2)\,g_t^2 \qquad (v_0 = 0)\\
    \hat m_t &\leftarrow m_t / (1-\beta_1^t)\\
    \hat v_t &\leftarrow v_t / (1-\beta_2^t)\\
    \theta_t &\leftarrow \theta_{t-1} - \alpha\,\hat m_t / (\sqrt{\hat v_t} + \epsilon)

Options, as in PyTorch:

* ``weight_decay`` :math:`\lambda` with ``decoupled_weight_decay=False`` (Adam) adds the gradient of
  the L2 penalty :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` to :math:`g_t`, so the penalty goes
  through :math:`m_t` and :math:`v_t` and is rescaled like any other gradient. With
  ``decoupled_weight_decay=True`` (AdamW, Loshchilov & Hutter 2019) the weights shrink directly,
  :math:`\theta \leftarrow \theta - \alpha\lambda\,\theta`, before the Adam step, and the moments
  never see :math:`\lambda`.
* ``amsgrad=True`` (Reddi, Kale & Kumar 2018) divides by the running maximum
  :math:`v^{\max}_t = \max(v^{\max}_{t-1}, v_t)` instead of :math:`v_t`, so a coordinate's step size
  can never grow back. PyTorch, and so this module, still bias-corrects it:
  :math:`\hat v_t = v^{\max}_t / (1-\beta_2^t)`; the paper's AMSGrad has no bias correction.
* ``maximize=True`` ascends: :math:`g_t \leftarrow -\nabla f_t`.

AdaMax (Kingma & Ba, section 7.1) replaces the second moment by an exponentially weighted infinity
norm, :math:`u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)`, which needs no bias correction, and steps
:math:`\theta_t = \theta_{t-1} - \frac{\alpha}{1-\beta_1^t}\,m_t / u_t`. (The paper has no
:math:`\epsilon`; PyTorch adds it inside the maximum so that :math:`u_t > 0`.)

:func:`adam_update` and :func:`adamax_update` are the readable per-tensor updates, written line by
line after the algorithms. :func:`adam_update_foreach` and :func:`adamax_update_foreach` do the same
arithmetic on lists of tensors with ``torch._foreach_*`` kernels. ``foreach=None`` picks the list form
when every parameter is on a CUDA device, as ``torch.optim`` does, and the readable form otherwise.
The state keys are PyTorch's (``step``, ``exp_avg`` for :math:`m`, ``exp_avg_sq`` for :math:`v`,
``max_exp_avg_sq`` for :math:`v^{\max}`, ``exp_inf`` for :math:`u`), so checkpoints move freely between
``torch.optim`` and this module. As in ``torch.optim``, a learning rate given as a tensor stays a 0-d
tensor in the scalar arithmetic and always takes the readable path (``foreach=True`` refuses it);
``betas`` given as tensors (both, and not with ``foreach=True``, as torch.optim requires) are used
through their values in the parameters' precision, whereas torch.optim keeps them as (float32) tensors
in its arithmetic: there the results agree to about 1e-8 relative, not to the last bit (torch's CPU
test inputs have no tensor betas; its CUDA ones pair them with ``capturable``, which we do not offer).
"""

from __future__ import annotations

import torch

from ._checks import UnsupportedOption, check_betas, check_flag, check_lr, check_non_negative, check_unsupported
from ._base import CourseOptimizer, as_scalar, new_step_counter, real, real_state

__all__ = [
    "Adam", "AdamW", "Adamax", "adam_update", "adam_update_foreach", "adam_update_fused", "adamax_update", "adamax_update_foreach",
]


# ---- Adam: the readable update, line by line after Algorithm 1 -------------------------------


def adam_update(
    param, grad, state, *, lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False
):
    """One Adam step on one (real) parameter tensor, in place.

    ``state`` holds ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with ``amsgrad``,
    ``max_exp_avg_sq`` (v_max). ``lr`` is the step size alpha.

    The bias corrections are applied as scalars: ``alpha / (1 - beta1^t)`` multiplies ``m_t`` and
    ``sqrt(1 - beta2^t)`` divides ``sqrt(v_t)``. That is Algorithm 1's last three lines exactly, without
    storing ``m_hat`` and ``v_hat`` (two fewer passes over the tensor), and it rounds in the same order as
    ``torch.optim.Adam``, so the two agree to the last bit.
    """
    alpha = lr
    state["step"] += 1  # t <- t + 1
    t = state["step"].item()
    g = -grad if maximize else grad  # g_t
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - alpha * weight_decay)  # AdamW: theta <- theta - alpha * lambda * theta
        else:
            g = g.add(param, alpha=weight_decay)  # Adam + L2: g_t <- g_t + lambda * theta
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m.lerp_(g, 1 - beta1)  # m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
    if amsgrad:
        v_max = state["max_exp_avg_sq"]
        torch.maximum(v_max, v, out=v_max)  # v_max_t = max(v_max_{t-1}, v_t)
        v = v_max
    bias_correction1 = 1 - beta1**t  # m_hat = m_t / bias_correction1
    bias_correction2 = 1 - beta2**t  # v_hat = v_t / bias_correction2
    sqrt_v_hat = v.sqrt() / bias_correction2**0.5  # sqrt(v_hat), without forming v_hat
    step_size = alpha / bias_correction1  # alpha * m_hat = step_size * m_t, without forming m_hat
    param.addcdiv_(m, sqrt_v_hat.add_(eps), value=-step_size)  # theta_t = theta_{t-1} - alpha * m_hat / (sqrt(v_hat) + eps)


def adam_update_foreach(
    params,
    grads,
    ms,
    vs,
    v_maxs,
    steps,
    *,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay=0.0,
    amsgrad=False,
    maximize=False,
    decoupled_weight_decay=False,
):
    """:func:`adam_update` on lists of real tensors of one device and dtype (``torch._foreach_*``).

    The bias corrections are folded into scalars: ``alpha / (1 - beta1^t)`` multiplies ``m`` and
    ``sqrt(1 - beta2^t)`` divides ``sqrt(v)``, which saves two passes over the tensors.
    ``v_maxs`` may be an empty list when ``amsgrad`` is off. The gradients are never modified.
    """
    for step in steps:
        step += 1
    ts = [step.item() for step in steps]
    if maximize:
        grads = torch._foreach_neg(grads)
    if weight_decay != 0:
        if decoupled_weight_decay:
            torch._foreach_mul_(params, 1 - lr * weight_decay)
        else:
            grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_lerp_(ms, grads, 1 - beta1)
    torch._foreach_mul_(vs, beta2)
    torch._foreach_addcmul_(vs, grads, grads, 1 - beta2)
    if amsgrad:
        torch._foreach_maximum_(v_maxs, vs)
        vs = v_maxs
    denom = torch._foreach_sqrt(vs)
    torch._foreach_div_(denom, [(1 - beta2**t) ** 0.5 for t in ts])  # sqrt(v_hat)
    torch._foreach_add_(denom, eps)
    torch._foreach_addcdiv_(params, ms, denom, [-lr / (1 - beta1**t) for t in ts])


# ---- Adam fused: the same arithmetic as one compiled loop per tensor -------------------------


def adam_kernel(param, grad, m, v, *, one_minus_beta1, beta2, one_minus_beta2, step_size, inv_bias_correction2_sqrt, eps):
    """The element-wise heart of :func:`adam_update`, with the bias corrections already folded into
    ``step_size = alpha / (1 - beta1^t)`` and ``inv_bias_correction2_sqrt = 1 / sqrt(1 - beta2^t)``
    (a multiplication per element instead of a division: on one core the loop is close enough to
    compute-bound for that to show, about 4% at 50M parameters), and
    ``1 - beta`` computed before rounding to the tensors' precision (as the eager update does: in
    float32, ``1 - 0.999`` computed after rounding 0.999 is off by 1e-5).

    Eagerly, each line is a pass over memory (about a dozen reads and writes of a tensor's size).
    ``torch.compile`` fuses them into one loop that reads ``param, grad, m, v`` once and writes
    ``param, m, v`` once: 28 bytes per float32 parameter, the least any Adam step can move."""
    m.lerp_(grad, one_minus_beta1)  # m_t
    v.mul_(beta2).addcmul_(grad, grad, value=one_minus_beta2)  # v_t
    denom = (v.sqrt() * inv_bias_correction2_sqrt).add_(eps)  # sqrt(v_hat) + eps
    param.addcdiv_(m, denom, value=-step_size)  # theta_t


_compiled_adam_kernel = None  # compiled on first use; False once compilation has failed


def _fused_kernel():
    """``torch.compile(adam_kernel)``, compiled once for every size (``dynamic=True``: the tensor's length
    and the scalars are arguments of the generated code, not constants), or ``None`` if this machine cannot
    compile (no C++ compiler, say): a warning says so once, and the readable update runs instead."""
    global _compiled_adam_kernel
    if _compiled_adam_kernel is None:
        try:
            _compiled_adam_kernel = torch.compile(adam_kernel, dynamic=True, fullgraph=True)
        except Exception as error:  # noqa: BLE001 - any failure means: no compiled path here
            _fused_unavailable(error)
    return _compiled_adam_kernel or None


def _fused_unavailable(error) -> None:
    global _compiled_adam_kernel
    import warnings

    _compiled_adam_kernel = False
    warnings.warn(
        f"Adam(fused=True): torch.compile is not available here, or failed ({type(error).__name__}: {str(error)[:200]}); "
        "using the readable per-tensor update instead",
        RuntimeWarning,
        stacklevel=3,
    )


def adam_update_fused(
    param, grad, state, *, lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False
):
    """:func:`adam_update` with its element-wise arithmetic in the compiled :func:`adam_kernel`.

    The options that change the gradient or the weights first (``maximize``, ``weight_decay``) run
    eagerly before the kernel; ``amsgrad`` is refused by the constructor. Falls back to
    :func:`adam_update` when compilation is unavailable. Results agree with ``torch.optim.Adam`` to
    float32 rounding (the compiled loop may contract ``a * b + c`` into one fused multiply-add), not
    always to the last bit."""
    kernel = _fused_kernel()
    if kernel is None:
        return adam_update(
            param, grad, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
        )
    state["step"] += 1
    t = state["step"].item()
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param.mul_(1 - lr * weight_decay)
        else:
            g = g.add(param, alpha=weight_decay)
    scalars = dict(
        one_minus_beta1=1 - beta1, beta2=beta2, one_minus_beta2=1 - beta2,
        step_size=lr / (1 - beta1**t), inv_bias_correction2_sqrt=(1 - beta2**t) ** -0.5, eps=eps,
    )
    # 0-d float64 tensors, not Python floats: torch.compile would bake each float into the code and
    # compile again at every step (step_size changes with t); a tensor is an argument of the loop
    scalars = {k: torch.tensor(float(value), dtype=torch.float32 if param.dtype != torch.float64 else torch.float64, device=param.device) for k, value in scalars.items()}
    flat = [x.view(-1) for x in (param, g, state["exp_avg"], state["exp_avg_sq"])]  # one shape: one compilation
    try:
        kernel(*flat, **scalars)
    except Exception as error:  # noqa: BLE001 - compilation happens at the first call
        state["step"] -= 1  # the kernel failed before touching the tensors: undo and take the readable path
        _fused_unavailable(error)
        adam_update(
            param, grad, state, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
        )


# ---- AdaMax ---------------------------------------------------------------------------------


def adamax_update(param, grad, state, *, lr, beta1, beta2, eps, weight_decay=0.0, maximize=False):
    """One AdaMax step on one (real) parameter tensor, in place. ``state``: ``step``, ``exp_avg`` (m),
    ``exp_inf`` (u)."""
    alpha = lr
    state["step"] += 1  # t <- t + 1
    t = state["step"].item()
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g.add(param, alpha=weight_decay)  # g_t <- g_t + lambda * theta
    m, u = state["exp_avg"], state["exp_inf"]
    m.lerp_(g, 1 - beta1)  # m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
    torch.maximum(u.mul_(beta2), g.abs().add_(eps), out=u)  # u_t = max(beta2 * u_{t-1}, |g_t| + eps)
    param.addcdiv_(m, u, value=-alpha / (1 - beta1**t))  # theta_t = theta_{t-1} - alpha / (1 - beta1^t) * m_t / u_t


def adamax_update_foreach(params, grads, ms, us, steps, *, lr, beta1, beta2, eps, weight_decay=0.0, maximize=False):
    """:func:`adamax_update` on lists of real tensors of one device and dtype (``torch._foreach_*``)."""
    for step in steps:
        step += 1
    ts = [step.item() for step in steps]
    if maximize:
        grads = torch._foreach_neg(grads)
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_lerp_(ms, grads, 1 - beta1)
    torch._foreach_mul_(us, beta2)
    abs_g = torch._foreach_abs(grads)
    torch._foreach_add_(abs_g, eps)
    torch._foreach_maximum_(us, abs_g)
    torch._foreach_addcdiv_(params, ms, us, [-lr / (1 - beta1**t) for t in ts])


# ---- the optimizer classes ------------------------------------------------------------------



class _AdamFamily(CourseOptimizer):
    """What Adam and Adamax share: checks, lazy state, the step loop over groups and paths."""

    _state_tensors: tuple[str, ...] = ()

    @staticmethod
    def _check_common(group):
        if isinstance(group["lr"], torch.Tensor) and group["foreach"]:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True; use foreach=None or False")
        check_lr(group["lr"])
        check_betas(group["betas"], group["foreach"])
        check_non_negative("eps", group["eps"])
        check_non_negative("weight_decay", group["weight_decay"])
        check_flag("maximize", group["maximize"])
        check_flag("foreach", group["foreach"], allow_none=True)

    def _init_state(self, p, group):
        state = self.state[p]
        if len(state) == 0:  # lazily, at a parameter's first step
            state["step"] = new_step_counter()
            for key in self._state_tensors_for(group):
                state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _state_tensors_for(self, group):
        return self._state_tensors

    def _step_group(self, group, params):
        states = {p: self._init_state(p, group) for p in params}
        lr = group["lr"]
        if isinstance(lr, torch.Tensor):  # kept a 0-d tensor, so the scalar arithmetic matches torch.optim's
            lr = lr.squeeze()
        beta1, beta2 = (float(as_scalar(b)) for b in group["betas"])
        hyper = dict(lr=lr, beta1=beta1, beta2=beta2, **self._extra_hyper(group))
        keys = self._state_tensors  # the foreach update takes every list, empty where a state is absent
        if group.get("fused"):  # Adam's compiled step, one loop per tensor (see adam_update_fused)
            hyper["lr"] = float(lr)
            for p in params:
                if torch.is_complex(p) or not (p.is_contiguous() and p.grad.is_contiguous()):
                    self._update(real(p), real(p.grad), real_state(states[p]) if torch.is_complex(p) else states[p], **hyper)
                else:
                    adam_update_fused(p, p.grad, states[p], **hyper)
            return
        # a tensor lr takes the readable path, as torch.optim does when capturable is off
        self._apply_update(
            group, params, states, keys, self._update, self._update_foreach, hyper, allow_foreach=not isinstance(lr, torch.Tensor)
        )


class Adam(_AdamFamily):
    """Adam (Kingma & Ba, Algorithm 1), written from scratch; same constructor, defaults and results as
    ``torch.optim.Adam``, including ``amsgrad`` and ``decoupled_weight_decay``.

    ``foreach=None`` uses :func:`adam_update_foreach` when all parameters are on CUDA, the readable
    :func:`adam_update` otherwise. ``fused=True`` uses the course's own fused step,
    :func:`adam_update_fused` (:func:`adam_kernel` compiled by ``torch.compile``; the readable update,
    with a warning, where compilation is unavailable); not with ``amsgrad`` or ``foreach=True``.
    ``capturable`` and ``differentiable`` are not offered (``True`` raises ``UnsupportedOption``).
    """

    _group_defaults = {"amsgrad": False, "maximize": False, "foreach": None, "decoupled_weight_decay": False, "fused": None}

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=False,
    ):
        check_unsupported("capturable", capturable)
        check_unsupported("differentiable", differentiable)
        defaults = dict(
            lr=lr,
            betas=tuple(betas) if isinstance(betas, list) else betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    @classmethod
    def _check_hyperparameters(cls, group):
        cls._check_common(group)
        check_flag("amsgrad", group["amsgrad"])
        check_flag("decoupled_weight_decay", group["decoupled_weight_decay"])
        check_flag("fused", group.get("fused"), allow_none=True)
        if group.get("fused"):
            if group["foreach"]:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
            if group["amsgrad"]:
                raise UnsupportedOption("fused=True is offered with amsgrad=False only; use fused=None for amsgrad")

    def _state_tensors_for(self, group):
        return self._state_tensors if group["amsgrad"] else self._state_tensors[:2]

    @staticmethod
    def _extra_hyper(group):
        return dict(
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            amsgrad=group["amsgrad"],
            maximize=group["maximize"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
        )

    _state_tensors = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")  # the last one with amsgrad only
    _update = staticmethod(adam_update)
    _update_foreach = staticmethod(adam_update_foreach)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, ``theta <- theta - lr * lambda * theta``
    before each Adam step. Same constructor and defaults as ``torch.optim.AdamW`` (``weight_decay=1e-2``); ``fused=True``
    as in :class:`Adam`; ``capturable`` and ``differentiable`` are not offered."""

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
        foreach=None,
        capturable=False,
        differentiable=False,
        fused=None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True  # as torch.optim.AdamW: loaded state stays decoupled


class Adamax(_AdamFamily):
    """AdaMax (Kingma & Ba, section 7.1), written from scratch; same constructor, defaults and results as
    ``torch.optim.Adamax`` (note its larger default ``lr=2e-3``). ``capturable`` and ``differentiable`` are
    not offered (``True`` raises ``UnsupportedOption``)."""

    _state_tensors = ("exp_avg", "exp_inf")

    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        capturable=False,
    ):
        check_unsupported("capturable", capturable)
        check_unsupported("differentiable", differentiable)
        defaults = dict(
            lr=lr,
            betas=tuple(betas) if isinstance(betas, list) else betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
        )
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    @classmethod
    def _check_hyperparameters(cls, group):
        cls._check_common(group)

    @staticmethod
    def _extra_hyper(group):
        return dict(eps=group["eps"], weight_decay=group["weight_decay"], maximize=group["maximize"])

    _update = staticmethod(adamax_update)
    _update_foreach = staticmethod(adamax_update_foreach)
