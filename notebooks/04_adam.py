# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Adam: from Algorithm 1 to AdamW
#
# The review this course follows singles out one optimizer and prints its pseudocode in full:
# Adam, "adaptive moment estimation", Algorithm 1 of Kingma & Ba
# {cite}`ranjan2018efficient,kingma2015adam`. Both present it the same way: Adam combines the
# advantages of two methods of chapter 3, **AdaGrad** {cite}`duchi2011adaptive`, which works well
# with sparse gradients, and **RMSProp** {cite}`tieleman2012rmsprop`, which works well on-line and
# on non-stationary objectives (the review adds: on objectives made noisy by dropout). From
# RMSProp, Adam takes the exponential moving average of the squared gradient, which lets each
# coordinate's step size follow an objective that changes. With $\beta_2$ close to 1 and a bias
# correction, that average also behaves like AdaGrad's sum of squared gradients, the ingredient that
# makes AdaGrad good with sparse gradients: in a limit, Kingma & Ba show, Adam *is* AdaGrad. It
# adds a moving average of the gradient itself, like momentum (chapter 2), and divides the one by
# the square root of the other, so every coordinate moves by a step of roughly the same size
# whatever the scale of its gradient.
#
# **Roadmap.** The chapter has two parts.
#
# * **Part I: Adam.** Algorithm 1 line by line beside the code; the defaults; the bias correction,
#   derived and checked on simulated gradients; Kingma & Ba's reduction of Adam to AdaGrad; the
#   invariance of the steps to the scale of the gradient; the "efficient" form and how large a
#   step can be; what happens without the correction; and Kingma & Ba's comparisons with the
#   other optimizers of this course, shrunk to a laptop.
# * **Part II: its variants.** AdaMax, from the same paper; AMSGrad {cite}`reddi2018convergence`,
#   for a failure of Adam's forgetting; AdamW {cite}`loshchilov2019decoupled`, for weight decay done
#   right.
#
# A widget, exercises and a summary close the chapter.
#
# **Learning objectives.** After this chapter you can
#
# 1. read Kingma & Ba's Algorithm 1 line by line and map every line to code, and say what Adam
#    takes from AdaGrad and from RMSProp;
# 2. derive why the moving averages $m_t$ and $v_t$ are biased towards zero, and check the
#    bias correction on simulated gradients;
# 3. reduce Adam to AdaGrad as Kingma & Ba's section 5 does, and show that its steps do not
#    change when the gradients are scaled;
# 4. rewrite the update in its "efficient" form, and say when a step can be larger than $\alpha$;
# 5. compare Adam with SGD + Nesterov momentum, AdaGrad, RMSProp and AdaDelta in the spirit of
#    Kingma & Ba's experiments, and say what a small problem can and cannot show;
# 6. explain what AdaMax, AMSGrad and AdamW change, and show on a small problem what each fixes.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from effdnn_lib.data import load_digits
from effdnn_lib.device import get_device
from effdnn_lib.exercises import ch04 as check
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.optim import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, RMSprop
from effdnn_lib.optim.adam import adam_update, adamax_update
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.progress import progress
from effdnn_lib.widgets import Choice, explorer

setup(seed=0, threads=1)

# %% [markdown]
# # Part I: Adam
#
# ## Algorithm 1, line by line
#
# Algorithm 1 needs a step size $\alpha$, two decay rates $\beta_1, \beta_2 \in [0, 1)$, a small
# $\epsilon$ and a stochastic objective $f_t(\theta)$ (the loss on the $t$-th mini-batch). It starts
# from $m_0 = 0$, $v_0 = 0$, $t = 0$ and repeats, until $\theta$ has converged:
#
# | Algorithm 1 | in the code below |
# |---|---|
# | $t \leftarrow t + 1$ | `t = state["t"] = state.get("t", 0) + 1` |
# | $g_t \leftarrow \nabla_\theta f_t(\theta_{t-1})$ | `theta.grad`, filled in by `loss.backward()` |
# | $m_t \leftarrow \beta_1 m_{t-1} + (1-\beta_1)\, g_t$ | `m = beta1 * m + (1 - beta1) * g` |
# | $v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2$ | `v = beta2 * v + (1 - beta2) * g**2` |
# | $\hat m_t \leftarrow m_t / (1-\beta_1^t)$ | `m_hat = m / (1 - beta1**t)` |
# | $\hat v_t \leftarrow v_t / (1-\beta_2^t)$ | `v_hat = v / (1 - beta2**t)` |
# | $\theta_t \leftarrow \theta_{t-1} - \alpha\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)$ | `theta = theta - alpha * m_hat / (v_hat**0.5 + eps)` |
#
# All operations act coordinate by coordinate: $g_t^2$ is the elementwise square, and each
# parameter has its own $m$ and $v$. The function `algorithm1_update` is the loop body as printed
# (it works on floats, NumPy arrays and tensors alike); `algorithm1_step` applies it to every
# tensor of a model. The switch `bias_correction` is not in the paper: it lets us remove the two
# correction lines later in the chapter and see what they are for.

# %%
def algorithm1_update(theta, g, m, v, t, alpha=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True):
    """The body of Algorithm 1's loop at step t, given g_t: the new theta, m and v (floats, arrays or tensors)."""
    m = beta1 * m + (1 - beta1) * g  # update the biased first moment estimate
    v = beta2 * v + (1 - beta2) * g**2  # update the biased second raw moment estimate
    m_hat = m / (1 - beta1**t) if bias_correction else m  # bias-corrected first moment estimate
    v_hat = v / (1 - beta2**t) if bias_correction else v  # bias-corrected second raw moment estimate
    theta = theta - alpha * m_hat / (v_hat**0.5 + eps)  # update the parameters
    return theta, m, v


def algorithm1_step(params, state, **hyperparameters):
    """One step on every tensor in ``params`` (gradients in ``.grad``); ``state`` (start with {}) carries t, m, v."""
    t = state["t"] = state.get("t", 0) + 1  # t <- t + 1, shared by all tensors
    with torch.no_grad():
        for i, theta in enumerate(params):
            m, v = state.get(("m", i), 0.0), state.get(("v", i), 0.0)  # m_0 = 0, v_0 = 0
            new_theta, state[("m", i)], state[("v", i)] = algorithm1_update(theta, theta.grad, m, v, t, **hyperparameters)
            theta.copy_(new_theta)


# %% [markdown]
# The course library has its own `Adam` in `effdnn_lib.optim`, a drop-in replacement for
# `torch.optim.Adam` written from scratch. Train the same small network for 200 steps three times:
# with the algorithm as printed, with the library, and with PyTorch.

# %%
def regression_problem(seed=0):
    """A small tanh network and a smooth target, in float64, for exact comparisons."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    x = torch.randn(64, 8, dtype=torch.float64)
    return model, x, torch.sin(x.sum(dim=1, keepdim=True))


def train_regression(make_step, steps=200):
    """Final parameters (flattened) after ``steps`` full-batch steps; ``make_step(params)`` returns a step function."""
    model, x, y = regression_problem()
    step = make_step(list(model.parameters()))
    for _ in range(steps):
        model.zero_grad()
        F.mse_loss(model(x), y).backward()
        step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def textbook(params):
    state = {}  # carries t, m and v from one step to the next
    return lambda: algorithm1_step(params, state, alpha=0.01)


theta_book = train_regression(textbook)
theta_ours = train_regression(lambda params: Adam(params, lr=0.01).step)
theta_torch = train_regression(lambda params: torch.optim.Adam(params, lr=0.01).step)
print(f"Algorithm 1 as printed vs effdnn_lib.optim.Adam, 200 steps: largest difference below 1e-12: {(theta_book - theta_ours).abs().max().item() < 1e-12}")
print(f"effdnn_lib.optim.Adam vs torch.optim.Adam: identical to the last bit: {torch.equal(theta_ours, theta_torch)}")

# %% [markdown]
# The library's update is the same algorithm, arranged for speed and for PyTorch's rounding. It
# changes $m$ and $v$ in place (`m.lerp_(g, 1 - beta1)` computes $\beta_1 m + (1-\beta_1) g$ in one
# pass), and it never stores $\hat m_t$ and $\hat v_t$: the two bias corrections are scalars, so
# they are folded into the step size $\alpha / (1-\beta_1^t)$ and into a division of
# $\sqrt{v_t}$ by $\sqrt{1-\beta_2^t}$. That saves two passes over every tensor, and rounds in the
# same order as `torch.optim.Adam`, which is why the two agree to the last bit while the printed
# algorithm agrees to better than $10^{-12}$. The options weight decay and AMSGrad are explained
# further down (`maximize` simply flips the gradient's sign, to climb instead of descend);
# `tests/test_optim_adam.py` checks the library against `torch.optim` over 400 hyperparameter
# combinations across Adam, AdamW and Adamax, and against a NumPy transcription of Algorithm 1.

# %%
show_source(adam_update)

# %% [markdown]
# **The defaults.** Kingma & Ba propose $\alpha = 0.001$, $\beta_1 = 0.9$, $\beta_2 = 0.999$ and
# $\epsilon = 10^{-8}$, the values the review quotes {cite}`ranjan2018efficient` and PyTorch uses.
# An exponential moving average with decay $\beta$ gives weight $(1-\beta)\beta^k$ to the
# gradient $k$ steps back, so it remembers about $1/(1-\beta)$ steps:

# %%
for name, beta in (("beta1", 0.9), ("beta2", 0.999)):
    horizon = 1 / (1 - beta)
    t_99 = math.ceil(math.log(0.01) / math.log(beta))
    print(f"{name} = {beta}: remembers about {horizon:,.0f} steps; 1 - {name}^t exceeds 0.99 from t = {t_99:,}")

# %% [markdown]
# So $m_t$ follows the last ten or so gradients: long enough to average out some noise, short
# enough to turn when the landscape turns. $v_t$ averages over a thousand squared gradients: the
# denominator is a slowly changing estimate of each coordinate's gradient scale, and a steady
# denominator means a steady step size. Because the step is (roughly) bounded by $\alpha$, as
# measured below, $\alpha$ sets how far a parameter may move per step, in the parameter's own
# units: $10^{-3}$ changes a weight of order 0.1 to 1 by a percent or less. $\epsilon$ only guards
# against dividing by zero; it is far below a typical $\sqrt{\hat v_t}$, but not below every
# gradient, as Exercise 1 shows. The second line also shows the price of $\beta_2 = 0.999$: without
# a correction, the estimate $v_t$ would stay noticeably too small for thousands of steps.

# %% [markdown]
# ## Why the moving averages need a correction
#
# Both moving averages start at zero, so in the first steps they are pulled towards zero. Unroll
# the recursion for $v_t$ (the one for $m_t$ is the same with $\beta_1$ and $g_i$):
#
# $$
# v_t = (1-\beta_2) \sum_{i=1}^{t} \beta_2^{\,t-i}\, g_i^2 .
# $$
#
# Take expectations. If the squared gradient's mean is the same at every step, $\mathbb{E}[g_i^2]
# = \mathbb{E}[g^2]$, the weights form a geometric series:
#
# $$
# \mathbb{E}[v_t] = \mathbb{E}[g^2]\,(1-\beta_2)\sum_{k=0}^{t-1}\beta_2^{\,k} + \zeta
#                 = \mathbb{E}[g^2]\,(1-\beta_2^{\,t}) + \zeta ,
# $$
#
# where $\zeta = 0$ for stationary gradients, and stays small when the mean drifts slowly,
# because old gradients get exponentially small weights. So $v_t$ underestimates $\mathbb{E}[g^2]$
# by exactly the factor $1-\beta_2^{\,t}$, and $\hat v_t = v_t / (1-\beta_2^{\,t})$ is unbiased;
# likewise $\hat m_t = m_t/(1-\beta_1^{\,t})$ for $\mathbb{E}[g]$. The weights of $\hat v_t$ sum to
# one from the first step on.
#
# Now numerically: 2,000 independent streams of gradients $g_t \sim \mathcal N(0.5, 1)$, so
# $\mathbb{E}[g] = 0.5$ and $\mathbb{E}[g^2] = 1.25$, averaged across the streams at each $t$.

# %%
def simulate_moments(mu, sigma, beta1=0.9, beta2=0.999, steps=5000, n_streams=2000, seed=0):
    """Average of m_t, m_hat_t, v_t, v_hat_t over many independent streams g_t ~ N(mu, sigma^2)."""
    gen = torch.Generator().manual_seed(seed)
    m = torch.zeros(n_streams, dtype=torch.float64)
    v = torch.zeros(n_streams, dtype=torch.float64)
    rows = torch.empty(steps, 4, dtype=torch.float64)
    for t in range(1, steps + 1):
        g = mu + sigma * torch.randn(n_streams, generator=gen, dtype=torch.float64)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        rows[t - 1] = torch.stack([m.mean(), m.mean() / (1 - beta1**t), v.mean(), v.mean() / (1 - beta2**t)])
    return rows  # columns: m_t, m_hat_t, v_t, v_hat_t


mu, sigma = 0.5, 1.0
moments = simulate_moments(mu, sigma)
print(f"truth: E[g] = {mu:.4f}, E[g^2] = {mu**2 + sigma**2:.4f}")
print(f"{'t':>5} {'mean m_t':>9} {'mean m_hat':>11} {'mean v_t':>9} {'mean v_hat':>11}")
for t in (1, 10, 100, 1000, 5000):
    m_t, m_hat, v_t, v_hat = moments[t - 1].tolist()
    print(f"{t:>5} {m_t:>9.4f} {m_hat:>11.4f} {v_t:>9.4f} {v_hat:>11.4f}")

# %% mystnb={"image": {"alt": "Means over 2,000 gradient streams with g ~ N(0.5, 1) against the step t (log scale). Left, the first moment: the raw m_t (vermillion) starts near 0.05 and climbs to the truth, 0.5 (dashed line), within about 50 steps, while the corrected m-hat_t (blue) is close to the truth from the first step. Right, the second moment: the raw v_t starts near 0 and reaches the truth, 1.25, only after thousands of steps, while the corrected v-hat_t stays on it throughout."}}
t_axis = np.arange(1, len(moments) + 1)
fig, (ax_m, ax_v) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
for ax, (raw, corrected), truth, symbol in ((ax_m, (0, 1), mu, "m"), (ax_v, (2, 3), mu**2 + sigma**2, "v")):
    ax.plot(t_axis, moments[:, raw], color=PALETTE["vermillion"], label=rf"${symbol}_t$ (raw)")
    ax.plot(t_axis, moments[:, corrected], color=PALETTE["blue"], label=rf"$\hat {symbol}_t$ (corrected)")
    ax.axhline(truth, color=PALETTE["black"], ls="--", lw=1, label="truth")
    ax.set_xscale("log")
    ax.set_xlabel("step t")
    ax.legend()
ax_m.set_title(r"first moment, $\beta_1 = 0.9$ (mean of 2,000 streams)")
ax_v.set_title(r"second moment, $\beta_2 = 0.999$")
plt.show()

# %% [markdown]
# At $t = 1$ the raw averages are $m_1 \approx 0.05$, a tenth of the truth, and
# $v_1 \approx 0.0012$, a thousandth of it: exactly the factors $1-\beta_1 = 0.1$ and
# $1-\beta_2 = 0.001$. $m_t$ catches up within about 50 steps, but $v_t$ is still only at 0.79 of
# 1.25 after 1,000 steps ($1 - 0.999^{1000} = 0.63$). The corrected estimates are on target from
# the first step (within the sampling noise of 2,000 streams). Without the correction, the update
# $m_t/\sqrt{v_t}$ would be too large in the early steps: at $t = 1$ by the factor
# $(1-\beta_1)/\sqrt{1-\beta_2} \approx 3.2$. A section below shows what that does to training.
#
# ## Adam in the limit: AdaGrad
#
# Kingma & Ba's section 5 makes the kinship with AdaGrad exact. AdaGrad (chapter 3), with step size
# $\alpha$ and no $\epsilon$, moves each coordinate by $\alpha\, g_t / \sqrt{\sum_{i=1}^t g_i^2}$.
# Take Adam with $\beta_1 = 0$, so that $\hat m_t = g_t$, and look at the corrected second moment:
#
# $$
# \hat v_t = \frac{1-\beta_2}{1-\beta_2^{\,t}} \sum_{i=1}^{t} \beta_2^{\,t-i}\, g_i^2
# \;\xrightarrow{\;\beta_2 \to 1\;}\; \frac1t \sum_{i=1}^{t} g_i^2 ,
# $$
#
# because each weight $(1-\beta_2)\beta_2^{\,t-i}/(1-\beta_2^{\,t})$ tends to $1/t$. Replace
# $\alpha$ by the annealed $\alpha_t = \alpha/\sqrt t$ and let $\epsilon \to 0$: Adam's step becomes
#
# $$
# \frac{\alpha}{\sqrt t}\cdot\frac{g_t}{\sqrt{\tfrac1t \sum_{i=1}^t g_i^2}} = \alpha\,\frac{g_t}{\sqrt{\sum_{i=1}^t g_i^2}} ,
# $$
#
# AdaGrad's. The limit can even be reached in finitely many steps: let $\beta_2$ change with $t$,
# $1-\beta_{2,t} = 1/t$. Then $v_t = (1 - \tfrac1t)\, v_{t-1} + \tfrac1t\, g_t^2$ is the running mean
# of the $g_i^2$, exactly, and needs no correction (the correction factor for a varying $\beta_2$,
# $1 - \prod_{i \le t} \beta_{2,i}$, is exactly 1, since $\beta_{2,1} = 0$). The cell runs
# `algorithm1_step` from the top of the chapter in these two ways on the small network of the first
# experiment (200 steps, $\alpha = 0.01$, $\epsilon = 0$, float64) beside the library's `Adagrad`
# with $\epsilon = 0$. Float64 rounds at about $10^{-16}$ per operation; 200 steps of a smooth
# training run leave two formulations of one algorithm far below $10^{-12}$ of each other, and any
# real difference shows up orders of magnitude higher, as the fixed-$\beta_2$ runs do.

# %%
def adam_as_adagrad(params, one_minus_beta2=None, alpha=0.01, bias_correction=True):
    """A step function: Algorithm 1 with beta1 = 0, eps = 0 and step size alpha / sqrt(t); beta2 fixed at
    1 - one_minus_beta2, or (None) varying as 1 - 1/t, the running mean, which needs no correction."""
    state = {}

    def step():
        t = state.get("t", 0) + 1  # the step algorithm1_step is about to take
        if one_minus_beta2 is None:
            beta2, correct = 1 - 1 / t, False
        else:
            beta2, correct = 1 - one_minus_beta2, bias_correction
        algorithm1_step(params, state, alpha=alpha / math.sqrt(t), beta1=0.0, beta2=beta2, eps=0.0, bias_correction=correct)

    return step


theta_start = torch.cat([p.detach().flatten() for p in regression_problem()[0].parameters()])
theta_adagrad = train_regression(lambda params: Adagrad(params, lr=0.01, eps=0.0).step)
moved = (theta_adagrad - theta_start).abs().max().item()  # how far AdaGrad moved the parameters
theta_limit = train_regression(adam_as_adagrad)
print(f"Adam with beta1 = 0, 1 - beta2_t = 1/t, alpha_t = 0.01/sqrt(t), eps = 0 vs effdnn_lib.optim.Adagrad(lr=0.01, eps=0),")
print(f"  200 steps: largest difference below 1e-12: {(theta_limit - theta_adagrad).abs().max().item() < 1e-12}")
print(f"\n{'fixed 1 - beta2':>15} {'largest gap to AdaGrad / its largest move':>42} {'first step / AdaGrad first step, uncorrected':>45}")
for one_minus_beta2 in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
    gap = (train_regression(lambda params: adam_as_adagrad(params, one_minus_beta2)) - theta_adagrad).abs().max().item()
    first_uncorrected = train_regression(lambda params: adam_as_adagrad(params, one_minus_beta2, bias_correction=False), steps=1)
    first_adagrad = train_regression(lambda params: Adagrad(params, lr=0.01, eps=0.0).step, steps=1)
    ratio = ((first_uncorrected - theta_start).abs().max() / (first_adagrad - theta_start).abs().max()).item()
    print(f"{one_minus_beta2:>15g} {gap / moved:>42.2e} {ratio:>45.1f}")

# %% [markdown]
# The varying $\beta_2$ reproduces AdaGrad to rounding. With a fixed $\beta_2$ the gap shrinks in
# proportion to $1-\beta_2$, from 0.477 of AdaGrad's largest move at $1 - \beta_2 = 0.1$ to
# $1.13 \times 10^{-5}$ at $10^{-6}$: in the limit $\beta_2 \to 1$, Adam is AdaGrad. The last column
# is Kingma & Ba's warning in the same section: the correspondence holds only *with* the bias
# correction. Without it, $v_1 = (1-\beta_2)\, g_1^2$, and the first step is $1/\sqrt{1-\beta_2}$
# times AdaGrad's, 1000 times at $1-\beta_2 = 10^{-6}$, and without bound in the limit.
#
# So AdaGrad and RMSProp are two ends of one family. A $\beta_2$ near 1 remembers every squared
# gradient, as AdaGrad does, which is what a rare gradient needs (its coordinate's $\hat v_t$
# stays small, so it moves a lot when it does get a gradient); a smaller $\beta_2$ forgets, as
# RMSProp does, so the step size can follow an objective whose gradient scale drifts. Adam's
# default, $\beta_2 = 0.999$, sits near the AdaGrad end with a memory of a thousand steps, and the
# bias correction is what makes that end usable from the first step.
#
# ## The step does not depend on the scale of the gradient
#
# Kingma & Ba (section 2.1) point out a second property: multiply every gradient by a constant
# $c > 0$, and $\hat m_t$ grows by $c$, $\hat v_t$ by $c^2$, so the step
# $\alpha\,\hat m_t/\sqrt{\hat v_t}$ does not change. Only $\epsilon$ breaks the symmetry: the step
# is $\alpha\,\hat m_t/(\sqrt{\hat v_t} + \epsilon)$, and scaling changes it by the relative amount
# $\epsilon\,(1 - 1/c)/(\sqrt{\hat v_t} + \epsilon/c) < \epsilon/\sqrt{\hat v_t}$. The cell feeds
# `algorithm1_update` 1,000 steps of 100 gradient streams $g_t \sim \mathcal N(0.5, 1)$, and the same
# streams times 1,000, in float64; then it repeats this with gradients a hundred million times
# smaller, of the size of $\epsilon$.

# %%
def adam_deltas(g, eps=1e-8):
    """Algorithm 1's update Delta_t at every step of the gradient streams g (steps x n), and sqrt(v_hat_t)."""
    m, v = 0.0, 0.0
    deltas, root_v_hat = torch.empty_like(g), torch.empty_like(g)
    for t in range(1, len(g) + 1):
        delta, m, v = algorithm1_update(0.0, g[t - 1], m, v, t, eps=eps)  # from theta = 0, the new theta is the update
        deltas[t - 1], root_v_hat[t - 1] = delta, (v / (1 - 0.999**t)).sqrt()
    return deltas, root_v_hat


gen = torch.Generator().manual_seed(5)
g = 0.5 + torch.randn(1000, 100, generator=gen, dtype=torch.float64)
c, alpha = 1000.0, 1e-3  # the scale factor; algorithm1_update's default step size
for size in (1.0, 1e-8):
    for eps in (1e-8, 0.0):
        base, root_v_hat = adam_deltas(size * g, eps)
        scaled, _ = adam_deltas(c * size * g, eps)
        change = (scaled - base).abs()
        largest = change.max().item() / alpha
        shown = "< 1e-12" if largest < 1e-12 else f"{largest:.2e}"
        within = bool((change <= base.abs() * eps / root_v_hat + 1e-12 * alpha).all())
        print(f"gradients of size {size:g}, eps = {eps:g}: steps up to {base.abs().max().item() / alpha:.2f} alpha; largest change of a "
              f"step when the gradients are scaled by {c:g}: {shown} alpha; within |step| eps / sqrt(v_hat): {within}")
print(f"SGD's steps, lr * g, grow by the same factor: {c:g}")

# %% [markdown]
# For gradients of ordinary size and $\epsilon = 0$, a thousandfold larger gradient leaves every step
# unchanged to rounding (the change is below $10^{-12}\,\alpha$, where float64 rounding sits near
# $10^{-16}\,\alpha$), while SGD's steps would grow a thousandfold. With $\epsilon = 10^{-8}$ the
# steps change by at most $5.3 \times 10^{-5}\,\alpha$, and only where $\sqrt{\hat v_t}$ happened
# to be tiny (the first step of a stream whose first gradient was near zero); every change stays
# within the bound above. When the gradients are as small as $\epsilon$, though, $\epsilon$ takes
# over: the unscaled steps are shrunk, and scaling the gradients changes a step by up to
# $0.935\,\alpha$. So Adam needs no retuning of $\alpha$ when a loss is multiplied by a constant,
# and coordinates whose gradients differ by orders of magnitude get steps of the same size, as long
# as their gradients stay well above $\epsilon$.
#
# ## The efficient form, and how large a step can be
#
# Kingma & Ba note that the last three lines can be computed more cheaply, with one scalar step
# size per step and no corrected tensors:
#
# $$
# \alpha_t = \alpha\,\frac{\sqrt{1-\beta_2^{\,t}}}{1-\beta_1^{\,t}}, \qquad
# \theta_t \leftarrow \theta_{t-1} - \alpha_t\,\frac{m_t}{\sqrt{v_t} + \hat\epsilon} .
# $$
#
# Substituting $\hat m_t$ and $\hat v_t$ into the plain update shows when the two agree:
#
# $$
# \alpha\,\frac{m_t/(1-\beta_1^{\,t})}{\sqrt{v_t}/\sqrt{1-\beta_2^{\,t}} + \epsilon}
# = \alpha\,\frac{\sqrt{1-\beta_2^{\,t}}}{1-\beta_1^{\,t}}\cdot
#   \frac{m_t}{\sqrt{v_t} + \epsilon\sqrt{1-\beta_2^{\,t}}} ,
# $$
#
# so exactly when $\hat\epsilon = \epsilon\sqrt{1-\beta_2^{\,t}}$. With a fixed $\hat\epsilon =
# \epsilon$, the efficient form adds a relatively larger $\epsilon$ in the early steps. The
# function below computes the update $\Delta_t$ of every step both ways, on gradient streams of
# typical size (1) and of tiny size ($10^{-7}$, comparable to $\epsilon$).

# %%
def step_sizes(g, alpha=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, form="plain"):
    """The update alpha * m_hat / (sqrt(v_hat) + eps) at every step of the gradient stream g (steps x n),
    in the plain form of Algorithm 1 or in the efficient form with eps_hat fixed or rescaled."""
    m, v = torch.zeros_like(g[0]), torch.zeros_like(g[0])
    out = torch.empty_like(g)
    for t in range(1, len(g) + 1):
        m = beta1 * m + (1 - beta1) * g[t - 1]
        v = beta2 * v + (1 - beta2) * g[t - 1] ** 2
        if form == "plain":
            out[t - 1] = alpha * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + eps)
        else:
            alpha_t = alpha * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            eps_hat = eps * math.sqrt(1 - beta2**t) if form == "efficient, rescaled eps" else eps
            out[t - 1] = alpha_t * m / (v.sqrt() + eps_hat)
    return out


gen = torch.Generator().manual_seed(1)
for scale in (1.0, 1e-7):
    g = scale * torch.randn(1000, 100, generator=gen, dtype=torch.float64)
    plain = step_sizes(g)
    for form in ("efficient, rescaled eps", "efficient, fixed eps"):
        rel = ((step_sizes(g, form=form) - plain).abs() / plain.abs()).max().item()
        verdict = "equal to float64 rounding (below 1e-12)" if rel < 1e-12 else f"{rel:.1e}"
        print(f"gradients of size {scale:g}, {form:<23}: largest relative difference from the plain form {verdict}")

# %% [markdown]
# Up to rounding, the efficient form with $\hat\epsilon = \epsilon\sqrt{1-\beta_2^{\,t}}$ *is*
# Algorithm 1: in float64, whose rounding is about $10^{-16}$ per operation, a thousand steps
# leave the two within $10^{-12}$ of each other, while a real difference of the algorithm shows up
# many orders of magnitude higher. With a fixed $\hat\epsilon$ it is a slightly different algorithm: the largest
# relative difference is $5 \times 10^{-4}$ for gradients of size 1 (in coordinates whose gradient
# happened to be tiny in the first steps), and 96% for gradients of size $10^{-7}$. PyTorch and the
# course library compute the plain form; the library's `adam_update` above uses the same scalar
# folding for speed, but keeps $\epsilon$ where Algorithm 1 puts it.
#
# **How large is a step?** Write the update as $\Delta_t = \alpha\,\hat m_t/\sqrt{\hat v_t}$ (taking
# $\epsilon = 0$). Kingma & Ba argue that $|\Delta_t| \le \alpha$ in common cases, because
# $|\mathbb{E}[g]|/\sqrt{\mathbb{E}[g^2]} \le 1$, with one exception: in the most severe case of
# sparsity, a gradient that was zero at every step before the current one, the step can reach
# $\alpha\,(1-\beta_1)/\sqrt{1-\beta_2}$, which is $3.16\,\alpha$ for the defaults. So $\alpha$ acts
# like a trust region. The two averages use different weights, though, so the argument is only
# approximate. The library's `Adam` can measure it: each coordinate of a parameter is an
# independent one-dimensional problem, so a parameter with many coordinates runs many gradient
# streams at once, and $|\Delta_t|/\alpha$ is read off after every step.

# %%
def largest_step_ratio(streams, optimizer_class=Adam, lr=1e-3, **hyperparameters):
    """Run the optimizer on independent coordinates fed the gradient streams (steps x n): |Delta_t| / lr."""
    theta = torch.zeros(streams.shape[1], dtype=torch.float64)
    opt = optimizer_class([theta], lr=lr, **hyperparameters)
    ratios = torch.empty_like(streams)
    for t in range(len(streams)):
        before = theta.clone()
        theta.grad = streams[t]
        opt.step()
        ratios[t] = (theta - before).abs() / lr
    return ratios


T, n = 2000, 200
beta1, beta2 = 0.9, 0.999
gen = torch.Generator().manual_seed(2)
spike = torch.zeros(T, 1, dtype=torch.float64)
spike[-1] = 1.0
torch.manual_seed(2)
streams = {
    "constant g = 1": torch.ones(T, n, dtype=torch.float64),
    "Gaussian, mean 0, sd 1": torch.randn(T, n, generator=gen, dtype=torch.float64),
    "Gaussian, mean 1, sd 1": 1 + torch.randn(T, n, generator=gen, dtype=torch.float64),
    "heavy tails (Student t, 2 dof)": torch.distributions.StudentT(2.0).sample((T, n)).double(),
    "sparse (1% of steps)": (torch.rand(T, n, generator=gen, dtype=torch.float64) < 0.01) * torch.randn(T, n, generator=gen, dtype=torch.float64),
    f"lone gradient at t = {T}": spike,
    "growing by beta2/beta1 per step": ((beta2 / beta1) ** torch.arange(T, dtype=torch.float64)).unsqueeze(1),
    "shrinking by beta2 per step": (beta2 ** torch.arange(T, dtype=torch.float64)).unsqueeze(1),
}
all_ratios = largest_step_ratio(torch.cat(list(streams.values()), dim=1), betas=(beta1, beta2))
columns = np.cumsum([0] + [s.shape[1] for s in streams.values()])
ratio_of = {name: all_ratios[:, columns[i] : columns[i + 1]] for i, name in enumerate(streams)}

print(f"paper's bound for the sparse case, (1 - beta1) / sqrt(1 - beta2) = {(1 - beta1) / math.sqrt(1 - beta2):.4f}")
print(f"Cauchy-Schwarz limit, (1 - beta1) / sqrt((1 - beta2) (1 - beta1^2 / beta2)) = {(1 - beta1) / math.sqrt((1 - beta2) * (1 - beta1**2 / beta2)):.4f}")
print(f"{'gradient stream':<36} {'largest |step| / alpha':>22}")
for name, r in ratio_of.items():
    print(f"{name:<36} {r.max().item():>22.4f}")

# %% mystnb={"image": {"alt": "The size of Adam's step in units of alpha, |Delta_t| / alpha, against the step t (log scale) for one coordinate of three gradient streams: Gaussian with mean 1 and sd 1 (blue) stays near 1, mostly a little below it; sparse gradients on 1% of the steps (orange) give no step most of the time and spikes above 1 but below the dotted line; gradients growing by beta2/beta1 per step (vermillion) rise steadily to nearly 7. The dashed line marks alpha, the dotted one the paper's bound for the sparse case, alpha (1 - beta1) / sqrt(1 - beta2), about 3.16 alpha, which only the growing stream crosses."}}
fig, ax = plt.subplots(figsize=FIGSIZE)
for name, colour in (("Gaussian, mean 1, sd 1", PALETTE["blue"]), ("sparse (1% of steps)", PALETTE["orange"]), ("growing by beta2/beta1 per step", PALETTE["vermillion"])):
    ax.plot(np.arange(1, T + 1), ratio_of[name][:, 0], color=colour, lw=1, label=name)
ax.axhline(1.0, color=PALETTE["black"], ls="--", lw=1, label=r"$\alpha$")
ax.axhline((1 - beta1) / math.sqrt(1 - beta2), color=PALETTE["black"], ls=":", lw=1, label=r"$\alpha(1-\beta_1)/\sqrt{1-\beta_2}$")
ax.set_xscale("log")
ax.set_xlabel("step t")
ax.set_ylabel(r"$|\Delta_t| / \alpha$")
ax.set_title("The size of Adam's steps, one coordinate of each stream")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The first step is always exactly $\alpha$ (then $\hat m_1 = g_1$ and $\hat v_1 = g_1^2$), and a
# constant gradient keeps it there. Beyond that, the bound holds only roughly:
#
# * **Dense, noisy gradients** exceed $\alpha$ a little: 1.17$\alpha$ for zero-mean noise and
#   1.40$\alpha$ for mean 1 and noise 1. $\hat m_t$ remembers about 10 steps and $\hat v_t$ about
#   1,000, so a run of larger-than-usual gradients raises the numerator before the denominator.
# * **Sparse and heavy-tailed gradients** approach the paper's exceptional bound: 2.58$\alpha$ and
#   2.79$\alpha$; a lone gradient after 1,999 zeros gives 2.94$\alpha$, which is
#   $\alpha\,\frac{1-\beta_1}{1-\beta_1^t}\sqrt{\frac{1-\beta_2^t}{1-\beta_2}}$ at $t = 2000$ (it
#   tends to 3.16$\alpha$ as $t$ grows; the tests check this closed form).
# * **Growing gradients** break even that bound. If $|g_t|$ grows by $\beta_2/\beta_1 \approx 1.11$
#   per step, the step reaches 6.76$\alpha$: the ratio of the two averages is then as large as
#   the Cauchy-Schwarz inequality allows, $\frac{1-\beta_1}{\sqrt{(1-\beta_2)(1-\beta_1^2/\beta_2)}}
#   = 7.27$ for long runs. Gradients that grow this fast usually mean that training is already
#   blowing up, which is where an oversized step does most harm.
#
# So $\alpha$ is the typical step, and a few times $\alpha$ the largest one seen in ordinary use.
#
# ## Without bias correction, $\beta_2$ close to 1 hurts
#
# Kingma & Ba's section 6.4 trains a variational autoencoder with and without the two correction
# lines, for $\beta_2 \in \{0.99, 0.999, 0.9999\}$ and a range of step sizes, and finds that without
# correction a $\beta_2$ close to 1 makes training unstable, above all in the first epochs. The
# reason is the factor by which the uncorrected step exceeds the corrected one for a constant
# gradient, $(1-\beta_1^{\,t})/\sqrt{1-\beta_2^{\,t}}$:

# %%
for b2 in (0.99, 0.999, 0.9999):
    factors = [(1 - 0.9**t) / math.sqrt(1 - b2**t) for t in (1, 10, 100, 1000)]
    print(f"beta2 = {b2}: uncorrected / corrected step at t = 1, 10, 100, 1000: " + ", ".join(f"{f:.2f}" for f in factors))

# %% [markdown]
# With $\beta_2 = 0.9999$ the first hundred steps are ten to twenty times larger than intended,
# and still three times larger after a thousand steps. To reproduce the experiment on a small
# scale, train a tanh autoencoder (64-32-8-32-64) to reconstruct the digits, for five step sizes
# $\alpha$ and the three $\beta_2$, with and without correction: 30 runs. Training 15 small networks
# one after the other would cost 15 times the Python overhead; instead their weights are
# *stacked* into one tensor per layer, of shape (15, $n_\text{in}$, $n_\text{out}$), and one
# batched matrix product (`torch.baddbmm`) runs all of them on the same mini-batch. Adam acts
# elementwise, so `algorithm1_step` can take $\alpha$ and $\beta_2$ as tensors of shape (15, 1, 1),
# one value per network; the networks share nothing else.

# %%
def stacked_autoencoders(n_models, widths=(64, 32, 8, 32, 64), seed=0):
    """n_models copies of one tanh autoencoder, stacked along a first axis: weights (n_models, n_in, n_out)."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        bound = 1 / math.sqrt(n_in)  # PyTorch's default initialisation range for nn.Linear
        for shape in ((n_in, n_out), (1, n_out)):
            w = (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * bound
            params.append(w.expand(n_models, *shape).clone().requires_grad_())
    return params


def autoencode(params, x):
    h = x.expand(params[0].shape[0], -1, -1)
    for layer in range(0, len(params), 2):
        h = torch.baddbmm(params[layer + 1], h, params[layer])  # h W + b, for every model at once
        if layer < len(params) - 2:
            h = torch.tanh(h)
    return h


def train_autoencoders(x, alphas, beta2s, bias_correction, epochs=(10, 20), beta1=0.9, batch_size=128, seed=0):
    """Reconstruction loss (full training set) after each number of epochs in ``epochs``, for every
    (alpha, beta2) pair at once: one stacked model per pair, all fed the same mini-batches."""
    alpha = torch.tensor(alphas, dtype=x.dtype).repeat(len(beta2s)).view(-1, 1, 1)
    beta2 = torch.tensor(beta2s, dtype=x.dtype).repeat_interleave(len(alphas)).view(-1, 1, 1)
    params, state = stacked_autoencoders(len(alpha), seed=seed), {}
    gen = torch.Generator().manual_seed(seed + 1)
    losses = {}
    for epoch in progress(range(1, max(epochs) + 1), desc="epochs"):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x) - batch_size + 1, batch_size):
            xb = x[order[start : start + batch_size]]
            loss_per_model = ((autoencode(params, xb) - xb) ** 2).mean(dim=(1, 2))
            for p in params:
                p.grad = None
            loss_per_model.sum().backward()  # the models share nothing, so each gets its own gradient
            algorithm1_step(params, state, alpha=alpha, beta1=beta1, beta2=beta2, bias_correction=bias_correction)
        if epoch in epochs:
            with torch.no_grad():
                losses[epoch] = ((autoencode(params, x) - x) ** 2).mean(dim=(1, 2)).view(len(beta2s), len(alphas))
    return losses


digits = load_digits()
x_digits = digits["train"].x.double()  # float64: the losses below are facts about Adam, not about rounding
alphas = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
beta2s = [0.99, 0.999, 0.9999]
ae_losses = {bc: train_autoencoders(x_digits, alphas, beta2s, bias_correction=bc) for bc in (True, False)}

# %% mystnb={"image": {"alt": "Reconstruction loss of the tanh autoencoder on the digits training set against the step size alpha (0.001 to 0.1, log scale), after 10 epochs (left) and 20 epochs (right), for beta2 = 0.99 (blue), 0.999 (orange) and 0.9999 (vermillion), with bias correction (solid lines) and without (dashed). The three solid curves lie on top of each other, lowest at alpha = 0.03. The dashed curves move apart as beta2 approaches 1: their lowest point shifts to smaller step sizes, and at large step sizes they rise steeply, above 0.6 at alpha = 0.1 for beta2 = 0.999 and 0.9999."}}
fig, axes = plt.subplots(1, 2, figsize=FIGSIZE_WIDE, sharey=True)
colours = (PALETTE["blue"], PALETTE["orange"], PALETTE["vermillion"])
for ax, epoch in zip(axes, (10, 20)):
    for bc, style in ((True, "-"), (False, "--")):
        for j, (b2, colour) in enumerate(zip(beta2s, colours)):
            label = rf"$\beta_2$ = {b2}" + (", corrected" if bc else ", uncorrected")
            ax.plot(alphas, ae_losses[bc][epoch][j], ls=style, marker="o", markersize=3, color=colour, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(r"step size $\alpha$")
    ax.set_title(f"after {epoch} epochs")
axes[0].set_ylabel("reconstruction loss (training set)")
axes[1].legend(fontsize=7)
plt.show()

print(f"{'beta2':>7} {'correction':>10} {'best loss, 10 ep.':>18} {'at alpha':>9} {'best, 20 ep.':>13} {'at alpha':>9}")
for j, b2 in enumerate(beta2s):
    for bc in (True, False):
        l10, l20 = ae_losses[bc][10][j], ae_losses[bc][20][j]
        print(
            f"{b2:>7} {'on' if bc else 'off':>10} {l10.min().item():>18.3f} {alphas[l10.argmin()]:>9g} "
            f"{l20.min().item():>13.3f} {alphas[l20.argmin()]:>9g}"
        )
at_largest = {bc: ae_losses[bc][20][:, -1] for bc in (True, False)}  # alpha = 0.1, after 20 epochs
print(f"\nalpha = 0.1, 20 epochs, with correction: " + ", ".join(f"{loss:.2f}" for loss in at_largest[True].tolist()))
print(f"without correction, beta2 = 0.999 and 0.9999 both end above 0.6: {bool((at_largest[False][1:] > 0.6).all())}")

# %% [markdown]
# With the correction (solid lines) the three curves lie on top of each other: $\beta_2$ hardly
# matters, and the best step size is $\alpha = 0.03$ for all three (loss 0.445 to 0.446 after 10
# epochs, 0.377 to 0.380 after 20). Without it (dashed), the curves move apart as $\beta_2 \to 1$:
#
# * the best step size shrinks (after 10 epochs: 0.01, 0.01 and 0.003 for $\beta_2$ = 0.99, 0.999,
#   0.9999), because the uncorrected early steps are 2 to 20 times too large, and the step size
#   that works for those is too small later (in the figure, at the smallest $\alpha$ the
#   uncorrected runs even look better: their effective step is larger);
# * the best loss reached is worse (0.397 to 0.402 against 0.377 to 0.380 after 20 epochs);
# * at large step sizes training degrades badly: at $\alpha = 0.1$ the loss after 20 epochs ends
#   above 0.6 for $\beta_2$ = 0.999 and 0.9999, against 0.46 to 0.47 with correction. (Runs that
#   unstable are chaotic, as chapter 1 shows, so for them the notebook prints only a bound that
#   another machine's rounding cannot change.)
#
# This is the pattern of Kingma & Ba's Figure 4, on a far smaller model. The correction costs two
# scalar divisions per step, and it is what makes a $\beta_2$ close to 1 usable; Kingma & Ba argue
# that sparse gradients need one, since a long memory is what keeps rare gradients in $v_t$.
#
# ## Kingma & Ba's comparisons on a CPU budget
#
# Kingma & Ba compare Adam with the optimizers of chapters 2 and 3 on MNIST: L2-regularised
# logistic regression (their section 6.1, against SGD with Nesterov momentum and AdaGrad) and a
# network with two hidden layers of 1,000 ReLUs trained with dropout (section 6.2, against AdaGrad,
# RMSProp, SGD with Nesterov momentum and AdaDelta), mini-batches of 128, each optimizer with its
# best hyperparameters from a search. Here the same comparison runs on the digits (1,348 training
# images of 8 x 8 pixels): logistic regression with an L2 term of $10^{-3}$, and an MLP with two
# hidden layers of 64 ReLUs, dropout 0.2 on the inputs and 0.5 on the hidden layers; mini-batches
# of 128, 10 epochs (110 steps). All five optimizers come from `effdnn_lib.optim`; each gets eight
# learning rates about 3x apart, and the one with the lowest final training loss (measured without
# dropout) is kept.
#
# The eight networks of one optimizer are again trained side by side. This time each network keeps
# its own tensors, which form one parameter group with its own learning rate, and only the forward
# pass stacks them (`torch.stack`, then `torch.baddbmm`); autograd hands each tensor its own
# gradient, so every network gets exactly its optimizer's update. The optimizers use their
# `foreach=True` path (the library's multi-tensor kernels, tested equal to the readable one). This
# part runs on the device that `get_device()` selects.

# %%
device = get_device()
data = {k: split.to(device) for k, split in load_digits().items() if len(split)}


def stacked_networks(n_models, widths, seed=0):
    """n_models copies of one network's initial weights (nn.Linear's initialisation), each a list
    [W1, b1, W2, b2, ...] of its own tensors, with W of shape (n_in, n_out)."""
    torch.manual_seed(seed)
    layers = [nn.Linear(n_in, n_out) for n_in, n_out in zip(widths[:-1], widths[1:])]
    initial = [t for layer in layers for t in (layer.weight.detach().T, layer.bias.detach())]
    return [[t.to(device).clone().requires_grad_() for t in initial] for _ in range(n_models)]


def stacked_forward(models, x, dropout, training):
    """Every network on the same inputs at once: (n_models, batch, n_classes) logits. ``dropout`` gives the
    drop probability before each layer (0 for none); each network draws its own dropout masks."""
    h = x.expand(len(models), -1, -1)
    n_layers = len(models[0]) // 2
    for layer in range(n_layers):
        if training and dropout[layer] > 0:  # inverted dropout, written out (3x faster on a CPU than F.dropout)
            keep = 1 - dropout[layer]
            h = h * (torch.rand_like(h) < keep) / keep
        W = torch.stack([m[2 * layer] for m in models])
        b = torch.stack([m[2 * layer + 1] for m in models]).unsqueeze(1)
        h = torch.baddbmm(b, h, W)
        if layer < n_layers - 1:
            h = torch.relu(h)
    return h


def objective(models, logits, y, l2):
    """Each network's mean cross-entropy plus (l2 / 2) * (sum of its squared weights, biases excluded)."""
    n = len(models)
    loss = F.cross_entropy(logits.reshape(n * len(y), -1), y.repeat(n), reduction="none").view(n, -1).mean(dim=1)
    if l2 > 0:
        loss = loss + l2 / 2 * torch.stack([sum((W**2).sum() for W in m[0::2]) for m in models])
    return loss


def train_side_by_side(widths, dropout, l2, make_optimizer, lrs, epochs=10, batch_size=128, seed=0):
    """One network per learning rate, trained side by side on the same mini-batches. Each network's tensors
    form their own parameter group with their own lr, so each gets exactly its optimizer's update.
    Returns the training loss averaged over each epoch (epochs x networks, with dropout on), and at the end
    the training loss without dropout and the test accuracy of each network."""
    models = stacked_networks(len(lrs), widths, seed)
    opt = make_optimizer([{"params": m, "lr": lr} for m, lr in zip(models, lrs)])
    train, gen = data["train"], torch.Generator().manual_seed(seed)
    curves = torch.zeros(epochs, len(lrs))
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=gen).to(device)
        for start in range(0, len(train), batch_size):
            idx = order[start : start + batch_size]
            logits = stacked_forward(models, train.x[idx], dropout, training=True)
            loss_per_network = objective(models, logits, train.y[idx], l2)
            opt.zero_grad()
            loss_per_network.sum().backward()  # the networks share nothing: each gets its own gradient
            opt.step()
            curves[epoch] += loss_per_network.detach().cpu() * len(idx) / len(train)
    with torch.no_grad():  # at the end, without dropout: the loss on the whole training set, the test accuracy
        final_loss = objective(models, stacked_forward(models, train.x, dropout, training=False), train.y, l2).cpu()
        predictions = stacked_forward(models, data["test"].x, dropout, training=False).argmax(dim=2)
        accuracy = (predictions == data["test"].y).float().mean(dim=1).cpu()
    return curves, final_loss, accuracy


TASKS = {  # Kingma & Ba 6.1 and 6.2, shrunk: widths, dropout before each layer, L2 coefficient
    "logistic regression": ([64, 10], (0.0,), 1e-3),
    "MLP with dropout": ([64, 64, 64, 10], (0.2, 0.5, 0.5), 0.0),
}
OPTIMIZERS = {  # name: (constructor for parameter groups, smallest learning rate tried)
    "SGD + Nesterov": (lambda groups: SGD(groups, momentum=0.9, nesterov=True, foreach=True), 0.01),
    "AdaGrad": (lambda groups: Adagrad(groups, foreach=True), 1e-3),
    "RMSProp": (lambda groups: RMSprop(groups, foreach=True), 1e-4),
    "AdaDelta": (lambda groups: Adadelta(groups, foreach=True), 0.1),
    "Adam": (lambda groups: Adam(groups, foreach=True), 1e-3),
}
HALF_DECADES = [1, 3, 10, 30, 100, 300, 1000, 3000]  # eight learning rates per optimizer, about 3x apart
results = {}
for task, (widths, dropout, l2) in TASKS.items():
    for name, (make_optimizer, smallest) in progress(OPTIMIZERS.items(), desc=task):
        lrs = [round(smallest * k, 10) for k in HALF_DECADES]
        curves, final_loss, accuracy = train_side_by_side(widths, dropout, l2, make_optimizer, lrs)
        finite = torch.isfinite(curves).all(dim=0) & torch.isfinite(final_loss)
        best = int(torch.where(finite, final_loss, torch.tensor(float("inf"))).argmin())  # lowest final training loss
        results[task, name] = {
            "lr": lrs[best],
            "at_edge": best in (0, len(lrs) - 1),
            "curve": curves[:, best].tolist(),
            "final_loss": final_loss[best].item(),
            "accuracy": accuracy[best].item(),
            "diverged": [lr for lr, ok in zip(lrs, finite.tolist()) if not ok],
        }

# %% mystnb={"image": {"alt": "Training loss per epoch (log scale, averaged over the epoch with dropout on) against the epoch, 1 to 10, for the five optimizers at their best learning rates: SGD + Nesterov (black, dotted), AdaGrad (orange), RMSProp (sky blue), AdaDelta (green) and Adam (vermillion). Left, logistic regression on the digits: all fall to about 0.1 by epoch 10, AdaDelta highest throughout and Adam slower than SGD + Nesterov, AdaGrad and RMSProp in the early epochs. Right, the MLP with dropout: SGD + Nesterov stays highest, and the four adaptive methods end close together."}}
STYLES = {  # colour, marker and line style per optimizer, so that curves on top of each other stay visible
    "SGD + Nesterov": (PALETTE["black"], "o", ":"),
    "AdaGrad": (PALETTE["orange"], "s", "--"),
    "RMSProp": (PALETTE["sky"], "^", "-."),
    "AdaDelta": (PALETTE["green"], "D", (0, (5, 2, 1, 2, 1, 2))),
    "Adam": (PALETTE["vermillion"], "x", "-"),
}
fig, axes = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
for ax, task in zip(axes, ("logistic regression", "MLP with dropout")):
    for name in OPTIMIZERS:
        r = results[task, name]
        colour, marker, style = STYLES[name]
        ax.plot(range(1, len(r["curve"]) + 1), r["curve"], color=colour, marker=marker, markersize=5, ls=style,
                markerfacecolor="none", label=f"{name} (lr {r['lr']:g})")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title(f"digits, {task}")
    ax.legend(fontsize=7)
plt.show()

print(f"{'':<36} {'best':>6} {'epoch training loss':^23} {'final loss':>11} {'test':>7}")
print(f"{'task':<20} {'optimizer':<15} {'lr':>6} {'ep. 1':>7} {'ep. 3':>7} {'ep. 10':>7} {'no dropout':>11} {'acc.':>7}  diverged at")
for (task, name), r in results.items():
    c, edge = r["curve"], "*" if r["at_edge"] else " "
    diverged = ", ".join(f"{lr:g}" for lr in r["diverged"]) or "-"
    print(f"{task:<20} {name:<15} {r['lr']:>5g}{edge} {c[0]:>7.4f} {c[2]:>7.4f} {c[-1]:>7.4f} {r['final_loss']:>11.4f} {r['accuracy']:>7.4f}  {diverged}")
if any(r["at_edge"] for r in results.values()):
    print("* the best learning rate is at an end of the grid")

# %% [markdown]
# What carries over from the paper, and what does not:
#
# * **Logistic regression.** Kingma & Ba found Adam about as fast as SGD with Nesterov momentum.
#   Here too Adam ends level with SGD + Nesterov (final loss 0.091 against 0.087) and AdaGrad
#   (0.092), with RMSProp and AdaDelta a little behind (0.098 and 0.100); epoch by epoch, though,
#   Adam starts slower than SGD + Nesterov, AdaGrad and RMSProp (see the epoch-3 column), so at this
#   scale its speed advantage does not show. On a convex problem this
#   small, the ranking depends mostly on where each optimizer's best learning rate falls on the grid.
# * **MLP with dropout.** Adam reaches the lowest training loss (0.072 without dropout), as in the
#   paper's Figure 2, then AdaDelta (0.079), then RMSProp, SGD + Nesterov and AdaGrad (0.091 to
#   0.097). The gaps are small.
# * **What the small scale changes.** 10 epochs of 11 steps are the very *beginning* of training in
#   the paper's plots, and this is one seed, so close calls could go either way. Test accuracy is
#   94.9% to 96.2% for every optimizer: a few of the 449 test images, not a ranking. With 64 inputs
#   and a few thousand weights, every method finds a good solution quickly; Adam's selling points
#   (a scale per coordinate, robustness to sparse and noisy gradients, defaults that often work)
#   matter more on large, badly scaled models, which a laptop chapter cannot train.
#   Two lessons do carry over: every optimizer needed its learning rate tuned (the best values
#   range from 0.003 to 10), and SGD + Nesterov diverged at its three largest rates on the MLP,
#   while none of the adaptive methods diverged at any rate tried.

# %% [markdown]
# # Part II: Adam's variants
#
# Part I followed Algorithm 1 as Kingma & Ba published it. Three variants change one line each:
# AdaMax replaces the square root of $v_t$ by a maximum, AMSGrad keeps the largest $v_t$ seen, and
# AdamW takes weight decay out of the gradient.
#
# ## AdaMax: the infinity norm
#
# Adam scales the update by the $L^2$ norm of past gradients, $\sqrt{v_t}$. Kingma & Ba (their
# section 7.1) generalise this to an $L^p$ norm, $v_t = \beta_2^{\,p} v_{t-1} + (1-\beta_2^{\,p})|g_t|^p$,
# and let $p \to \infty$. The factor $(1-\beta_2^{\,p})^{1/p}$ tends to 1, and the limit of
# $v_t^{1/p}$ is a simple recursion:
#
# $$
# u_t = \lim_{p\to\infty} \Big(\sum_{i=1}^t \beta_2^{\,p(t-i)} |g_i|^p\Big)^{1/p}
#     = \max\big(\beta_2 u_{t-1},\, |g_t|\big), \qquad
# \theta_t \leftarrow \theta_{t-1} - \frac{\alpha}{1-\beta_1^{\,t}}\,\frac{m_t}{u_t} .
# $$
#
# A maximum cannot be pulled towards zero by its initial value in the way an average is, so
# $u_t$ needs no bias correction; only $m_t$ keeps its $1/(1-\beta_1^{\,t})$. PyTorch (and the
# library) write $u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)$, so that $u_t > 0$; the default
# step size is $\alpha = 0.002$.

# %%
show_source(adamax_update)

# %%
adamax_ratios = largest_step_ratio(torch.cat(list(streams.values()), dim=1), optimizer_class=Adamax, betas=(beta1, beta2))
print(f"AdaMax's limit, for gradients shrinking by beta2 per step: (1 - beta1) / (1 - beta1 / beta2) = {(1 - beta1) / (1 - beta1 / beta2):.4f}")
print(f"{'gradient stream':<36} {'Adam':>8} {'AdaMax':>8}   (largest |step| / alpha)")
for i, name in enumerate(streams):
    print(f"{name:<36} {ratio_of[name].max().item():>8.4f} {adamax_ratios[:, columns[i] : columns[i + 1]].max().item():>8.4f}")
theta_adamax = train_regression(lambda params: Adamax(params, lr=0.01).step)
theta_adamax_torch = train_regression(lambda params: torch.optim.Adamax(params, lr=0.01).step)
print(f"effdnn_lib.optim.Adamax vs torch.optim.Adamax: identical to the last bit: {torch.equal(theta_adamax, theta_adamax_torch)}")

# %% [markdown]
# Since $u_t \ge |g_i|\,\beta_2^{\,t-i}$ for every past gradient, the step of AdaMax has a tighter
# bound than Adam's: $|\Delta_t| \le \alpha$, up to a factor of at most
# $(1-\beta_1)/(1-\beta_1/\beta_2) = 1.009$, approached by gradients that shrink by the factor $\beta_2$
# at every step (then every past gradient ties for the maximum $u_t$). On the streams above, that
# stream gives AdaMax's largest step, $1.0091\,\alpha$; all others stay within $1.0003\,\alpha$,
# where Adam reached $6.8\,\alpha$. The other side of the coin: the first gradient after a long
# silence moves AdaMax by only $(1-\beta_1)\,\alpha = 0.1\,\alpha$ (there $m_t = (1-\beta_1) g_t$ and
# $u_t = |g_t|$), where Adam moved $2.9\,\alpha$.
#
# ## AMSGrad: when Adam forgets a rare, large gradient
#
# Adam's $v_t$ forgets. Reddi, Kale & Kumar {cite}`reddi2018convergence` showed that this can stop
# Adam from converging at all, even on a one-dimensional convex problem. Their synthetic example is
# an online problem on $x \in [-1, 1]$ with linear losses
#
# $$
# f_t(x) = \begin{cases} 1010\,x & t \bmod 101 = 1 \\ -10\,x & \text{otherwise,} \end{cases}
# $$
#
# a large gradient once every 101 steps and a small one of the opposite sign in between. Over one
# period the gradients add up to $1010 - 100 \cdot 10 = +10$, so the best fixed point is $x = -1$.
# Adam, with $\beta_1 = 0.9$, $\beta_2 = 0.99$ and the step size $\alpha/\sqrt t$ that the
# convergence theory uses, instead drifts to $x = +1$. Its normalisation caps the effect of the one
# large gradient at a few $\alpha$, however large the gradient; and between two large gradients
# $v_t$ shrinks by $\beta_2^{100}$, so the steps of the small gradients grow again. Together the
# hundred small steps outweigh the capped large one, although the large gradient is 101 times
# larger.
#
# AMSGrad's fix is one line: divide by the running maximum $v^{\max}_t = \max(v^{\max}_{t-1}, v_t)$
# instead of $v_t$, so that a coordinate's effective step size $\alpha/\sqrt{\hat v_t}$ never grows
# back after a large gradient (`amsgrad=True` in the library's `adam_update` above). PyTorch
# bias-corrects the maximum ($\hat v_t = v^{\max}_t/(1-\beta_2^{\,t})$); the paper's AMSGrad has no
# bias correction. The simulation runs 50,000 steps, too many for a tensor library's per-step
# overhead on one number, so it is written with plain Python floats; the first cell checks it
# against the library's `Adam` (with a `LambdaLR` schedule for $\alpha/\sqrt t$ and clamping to
# $[-1, 1]$).

# %%
def online_problem(amsgrad, steps, alpha=1.0, beta1=0.9, beta2=0.99, eps=1e-8, every=1):
    """Reddi et al.'s online problem: f_t(x) = 1010 x if t mod 101 = 1, else -10 x, for x in [-1, 1];
    Adam (or AMSGrad) with step size alpha / sqrt(t), in plain Python floats. Returns x every ``every`` steps."""
    x, m, v, v_max, path = 0.0, 0.0, 0.0, 0.0, []
    for t in range(1, steps + 1):
        g = 1010.0 if t % 101 == 1 else -10.0
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)  # AMSGrad's running maximum
        v_hat = (v_max if amsgrad else v) / (1 - beta2**t)  # as PyTorch: the maximum, then bias-corrected
        x = x - alpha / math.sqrt(t) * (m / (1 - beta1**t)) / (math.sqrt(v_hat) + eps)
        x = min(1.0, max(-1.0, x))  # project back onto the feasible set [-1, 1]
        if t % every == 0:
            path.append(x)
    return path


def online_problem_with_library(amsgrad, steps, alpha=1.0, betas=(0.9, 0.99)):
    """The same run with effdnn_lib.optim.Adam, a LambdaLR schedule for alpha / sqrt(t), and clamping."""
    x = torch.zeros(1, dtype=torch.float64)
    opt = Adam([x], lr=alpha, betas=betas, amsgrad=amsgrad)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 / math.sqrt(k + 1))
    path = []
    for t in range(1, steps + 1):
        x.grad = torch.full((1,), 1010.0 if t % 101 == 1 else -10.0, dtype=torch.float64)
        opt.step()
        schedule.step()
        x.clamp_(-1.0, 1.0)
        path.append(x.item())
    return path


for amsgrad in (False, True):
    gap = max(abs(a - b) for a, b in zip(online_problem(amsgrad, 2000), online_problem_with_library(amsgrad, 2000)))
    print(f"{'AMSGrad' if amsgrad else 'Adam':>7}: plain-Python run vs effdnn_lib.optim.Adam over 2,000 steps, largest difference below 1e-9: {gap < 1e-9}")

# %% mystnb={"image": {"alt": "The point x against the step t, over 50,000 steps, on Reddi et al.'s online problem on the interval [-1, 1] with beta1 = 0.9 and beta2 = 0.99: Adam (vermillion) climbs within the first few thousand steps to near x = +1, the worst point, and stays there; AMSGrad (blue) stays negative and creeps down towards the best point, x = -1 (dashed line), which it nearly reaches by the end."}}
steps, every = 50_000, 50
paths = {name: online_problem(name == "AMSGrad", steps, every=every) for name in ("Adam", "AMSGrad")}
print("The best fixed point is x = -1 (the average gradient, (1010 - 100 * 10) / 101, is positive).")
print(f"Between two large gradients v_t shrinks by beta2^100 = {0.99**100:.4f}; AMSGrad's maximum does not shrink.")
for name, path in paths.items():
    print(f"{name:>7}: x after 1,000 steps {path[1000 // every - 1]:+.4f}, after 10,000 {path[10_000 // every - 1]:+.4f}, after 50,000 {path[-1]:+.4f}")

fig, ax = plt.subplots(figsize=FIGSIZE)
t_points = np.arange(1, len(paths["Adam"]) + 1) * every
ax.plot(t_points, paths["Adam"], color=PALETTE["vermillion"], label="Adam")
ax.plot(t_points, paths["AMSGrad"], color=PALETTE["blue"], label="AMSGrad")
ax.axhline(-1, color=PALETTE["black"], ls="--", lw=1, label="best x")
ax.set_xlabel("step t")
ax.set_ylabel("x")
ax.set_title(r"Reddi et al.'s online problem, $\beta_1 = 0.9$, $\beta_2 = 0.99$")
ax.legend()
plt.show()

# %% [markdown]
# Adam heads for the wrong end: $x \approx +0.99$ after 10,000 and after 50,000 steps, the worst
# point of the interval. AMSGrad moves towards the best point, $x = -0.80$ after 10,000 steps and
# $-0.99$ after 50,000. The problem is built to be hard, but its ingredient is common: rare, large,
# informative gradients (a rare class, a rare word) whose influence Adam forgets within
# $1/(1-\beta_2)$ steps.
#
# ## AdamW: weight decay is not an L2 term
#
# Weight decay shrinks the weights a little at every step. With plain SGD it makes no difference
# whether one shrinks them directly, $\theta \leftarrow (1-\alpha\lambda)\theta$, or adds the L2
# penalty $\frac\lambda2\|\theta\|^2$ to the loss, whose gradient is $\lambda\theta$: the update
# $\theta - \alpha(g + \lambda\theta)$ is the same (up to rounding, as the first cell checks with
# the library's `SGD`). Loshchilov & Hutter {cite}`loshchilov2019decoupled` pointed out that this
# equivalence breaks for adaptive methods. Adam with `weight_decay` $= \lambda$ adds
# $\lambda\theta$ to the gradient, so the penalty's gradient then goes through $m_t$ and $v_t$
# and is divided by $\sqrt{\hat v_t}$ like everything else. AdamW *decouples* it: it shrinks the
# weights by $(1 - \alpha\lambda)$ directly and runs Adam on the loss gradient alone (the two
# `weight_decay` branches of `adam_update` above). That is PyTorch's `AdamW`, and ours; in
# Loshchilov & Hutter's Algorithm 2 the factor is $(1 - \eta_t\lambda)$, with $\eta_t$ the schedule
# multiplier alone, so their $\lambda$ does not scale with $\alpha$.
#
# What changes? Take weights that start at 1 and whose loss gradient is pure noise of a given
# size (zero: no loss gradient at all), so that only the regularisation pulls them towards zero.
# 500 weights per noise level, 1,000 steps, $\alpha = 0.01$, $\lambda = 0.1$:

# %%
torch.manual_seed(3)
x_lr, y_lr = torch.randn(64, 8, dtype=torch.float64), torch.randn(64, dtype=torch.float64)
lam, alpha_sgd = 0.1, 0.05


def sgd_run(decoupled, steps=200):
    w = torch.zeros(8, dtype=torch.float64, requires_grad=True)
    opt = SGD([w], lr=alpha_sgd, weight_decay=0.0 if decoupled else lam)
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(x_lr @ w, y_lr).backward()
        if decoupled:
            with torch.no_grad():
                w.mul_(1 - alpha_sgd * lam)  # shrink the weights directly, then take the plain step
        opt.step()
    return w.detach()


print(f"SGD: L2 term vs decoupled decay, largest difference after 200 steps below 1e-12: {(sgd_run(False) - sgd_run(True)).abs().max().item() < 1e-12}")

# %%
def decay_experiment(optimizer_class, noise_levels, lr=0.01, weight_decay=0.1, steps=1000, n=500, seed=4):
    """Weights that start at 1 and whose loss gradient is pure noise of the given size (0: no loss gradient
    at all); returns the mean weight of each group after ``steps`` steps."""
    gen = torch.Generator().manual_seed(seed)
    sizes = torch.tensor(noise_levels, dtype=torch.float64).repeat_interleave(n)
    theta = torch.ones(len(sizes), dtype=torch.float64)
    opt = optimizer_class([theta], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        theta.grad = sizes * torch.randn(len(sizes), generator=gen, dtype=torch.float64)
        opt.step()
    return theta.view(len(noise_levels), n).mean(dim=1)


noise_levels = [0.0, 0.1, 1.0, 10.0]
mean_l2 = decay_experiment(Adam, noise_levels)
mean_decoupled = decay_experiment(AdamW, noise_levels)
print(f"weight decay 0.1, lr 0.01, 1,000 steps: (1 - lr * weight_decay)^1000 = {(1 - 0.01 * 0.1) ** 1000:.4f}")
print(f"{'gradient noise sd':>18} {'Adam + L2: mean weight':>23} {'AdamW: mean weight':>19}")
for s, a, b in zip(noise_levels, mean_l2.tolist(), mean_decoupled.tolist()):
    print(f"{s:>18g} {round(a, 4) + 0.0:>23.4f} {round(b, 4) + 0.0:>19.4f}")  # + 0.0 turns -0.0 into 0.0

# %% [markdown]
# AdamW shrinks every weight alike: the mean weight is close to $(1-\alpha\lambda)^{1000} = 0.368$
# whatever the noise (the small deviations are the noise itself). Adam with an L2 term decays
# weights at a rate that depends on their gradient history:
#
# * a weight with **no loss gradient** sees only $g = \lambda\theta$, which Adam divides by its own
#   size: it moves by about $\alpha$ per step whatever $\lambda$ is (Exercise 5), and has reached 0;
# * a weight with **large, noisy gradients** has a large $\sqrt{\hat v_t}$, so its penalty gradient
#   is divided by a large number: with noise of size 10 the mean weight is still 0.89.
#
# So with Adam + L2 the weights with the largest gradient variance are regularised least, and the
# same $\lambda$ means a different amount of regularisation for every weight. With AdamW, $\lambda$
# means what it means for SGD: a fixed fraction $\alpha\lambda$ of each weight removed per step.
# (PyTorch's `AdamW` defaults to $\lambda = 0.01$, `Adam` to 0.)

# %% [markdown]
# ## Explore: $\beta_1$, $\beta_2$ and bias correction
#
# Adam on a noisy two-dimensional quadratic, $f(\theta) = (\theta_1^2 + 20\,\theta_2^2)/2$, with
# Gaussian noise added to every gradient, $\alpha = 0.05$ and 300 steps (`algorithm1_update` from the
# top of the chapter), starting at $(-2, 1)$. The left panel shows the path, the right one each
# coordinate's step in units of $\alpha$. On the website the controls switch between precomputed
# views: $\beta_1$ = 0 or 0.9, $\beta_2$ = 0.99, 0.999 or 0.9999, the bias correction on or off,
# and gradient noise of standard deviation 0.5 or 2; run the notebook for continuous sliders.
# Things to try:
#
# * At $\beta_1 = 0.9$, switch the bias correction off: with $\beta_2 = 0.99$ the first steps grow to about twice
#   $\alpha$, with 0.999 to five or six times, with 0.9999 to more than ten times, and the path
#   swings ever further past the minimum (the uncorrected factors printed in the section above).
#   With the correction on, no step exceeds $\alpha$ by more than a hair.
# * Set $\beta_1 = 0$ (RMSProp with a bias correction): without the average of the gradients,
#   the steps near the minimum keep jumping to about $\alpha$ and beyond, where with
#   $\beta_1 = 0.9$ they shrink to a fraction of it.
# * At $\beta_1 = 0.9$, raise the noise from 0.5 to 2: four times the noise, and the steps near
#   the minimum still shrink well below $\alpha$, since $\hat m_t$ averages the noise towards zero
#   while $\hat v_t$ measures its size. That is Adam's automatic annealing; SGD's steps would grow
#   with the noise.

# %% output_varies="widget" tags=["nbval-ignore-output"]
CURVATURES = np.array([1.0, 20.0])  # f(theta) = (theta_1^2 + 20 theta_2^2) / 2


def explore(beta1=0.9, beta2=0.999, bias_correction=True, noise=0.5, alpha=0.05, steps=300):
    rng = np.random.default_rng(0)
    theta, m, v = np.array([-2.0, 1.0]), 0.0, 0.0
    path, ratios = [theta], []
    for t in range(1, steps + 1):
        g = CURVATURES * theta + noise * rng.standard_normal(2)  # a noisy gradient
        new_theta, m, v = algorithm1_update(theta, g, m, v, t, alpha, beta1, beta2, 1e-8, bias_correction)
        ratios.append(np.abs(new_theta - theta) / alpha)
        theta = new_theta
        path.append(theta)
    path, ratios = np.array(path), np.array(ratios)
    fig, (ax_path, ax_step) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
    grid = np.linspace(-2.5, 2.5, 200)
    X, Y = np.meshgrid(grid, grid)
    ax_path.contour(X, Y, 0.5 * (CURVATURES[0] * X**2 + CURVATURES[1] * Y**2), levels=np.geomspace(0.01, 60, 12), colors="0.7", linewidths=0.6)
    ax_path.plot(path[:, 0], path[:, 1], marker=".", markersize=2, lw=0.8, color=PALETTE["vermillion"])
    ax_path.plot(0, 0, marker="*", color="black", markersize=10)
    ax_path.set(xlim=(-2.5, 2.5), ylim=(-2.5, 2.5), xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", title=f"{steps} noisy steps")
    for i, colour in enumerate((PALETTE["blue"], PALETTE["orange"])):
        ax_step.plot(np.arange(1, steps + 1), ratios[:, i], lw=1, color=colour, label=rf"$|\Delta\theta_{i + 1}| / \alpha$")
    ax_step.axhline(1.0, color=PALETTE["black"], ls="--", lw=1)
    ax_step.set(xscale="log", xlabel="step t", title="step size in units of alpha")
    ax_step.legend(fontsize=8)
    print(f"distance to the minimum after {steps} steps: {np.linalg.norm(path[-1]):.4f}; largest step / alpha: {ratios.max():.2f}")
    return fig


explorer(
    explore,
    alt=lambda beta1, beta2, bias_correction, noise: (
        f"Left: the path of 300 steps of Adam (beta1 = {beta1:g}, beta2 = {beta2:g}, bias correction "
        f"{'on' if bias_correction else 'off'}, alpha = 0.05) on the quadratic with curvatures 1 and 20, with gradient "
        f"noise of standard deviation {noise:g}, starting at (-2, 1); a star marks the minimum at the origin. Right: each "
        f"coordinate's step in units of alpha against the step number (log scale), with a dashed line at 1."),
    beta1=Choice([0.0, 0.9], 0.9, "beta1",
                 live=widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="beta1", continuous_update=False)),
    beta2=Choice([0.99, 0.999, 0.9999], 0.999, "beta2",
                 live=widgets.SelectionSlider(options=[0.9, 0.99, 0.999, 0.9999], value=0.999, description="beta2", continuous_update=False)),
    bias_correction=Choice([True, False], True, "bias correction", live=widgets.Checkbox(value=True, description="bias correction")),
    noise=Choice([0.5, 2.0], 0.5, "noise sd",
                 live=widgets.FloatSlider(value=0.5, min=0.0, max=3.0, step=0.1, description="noise sd", continuous_update=False)),
)

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** Take one Adam step (default betas, $\epsilon = 10^{-8}$) with $\alpha = 0.01$
# from $\theta_0 = (1, -2, 0.5)$ with the gradient $g_1 = (0.3, -4, 10^{-9})$. What is $\theta_1$?
# (Watch the third coordinate.)

# %%
your_answer = None  # replace with a list of three numbers
check.first_adam_step(your_answer, theta0=[1.0, -2.0, 0.5], grad=[0.3, -4.0, 1e-9], lr=0.01)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# At t = 1, m_hat = g and v_hat = g^2, so the step is alpha * g / (|g| + eps): almost
# alpha * sign(g), except where |g| is comparable to eps (the third coordinate moves only about alpha / 11).
theta0, g1, alpha = np.array([1.0, -2.0, 0.5]), np.array([0.3, -4.0, 1e-9]), 0.01
solution = theta0 - alpha * g1 / (np.abs(g1) + 1e-8)
check.first_adam_step(solution, theta0=[1.0, -2.0, 0.5], grad=[0.3, -4.0, 1e-9], lr=0.01)
print(solution.round(6))

# %% [markdown]
# **Exercise 2.** Write AdaMax's step as a function
# `my_adamax_step(theta, g, m, u, t, alpha, beta1, beta2, eps)` that returns the new
# `(theta, m, u)` for NumPy arrays, in PyTorch's form ($u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)$).
# The self-check runs it for 50 steps beside `effdnn_lib.optim.Adamax`.

# %%
my_adamax_step = None  # replace with your function
check.adamax_step_function(my_adamax_step)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The first moment as in Adam, the exponentially weighted infinity norm, and only the first
# moment's bias correction.
def solution_adamax_step(theta, g, m, u, t, alpha, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    u = np.maximum(beta2 * u, np.abs(g) + eps)
    theta = theta - alpha / (1 - beta1**t) * m / u
    return theta, m, u


check.adamax_step_function(solution_adamax_step)

# %% [markdown]
# **Exercise 3.** The gradient is $g = 2$ at every step. What is the *uncorrected* second moment
# $v_{10}$ with $\beta_2 = 0.999$? How far is it from $g^2$, and what does dividing by
# $1 - \beta_2^{10}$ give?

# %%
your_answer = None
check.raw_second_moment(your_answer, grad=2.0, beta2=0.999, t=10)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# v_t = (1 - beta2) g^2 (1 + beta2 + ... + beta2^(t-1)) = (1 - beta2^t) g^2: about 1% of g^2 = 4.
# Dividing by 1 - beta2^t gives back exactly 4.
solution = (1 - 0.999**10) * 2.0**2
check.raw_second_moment(solution, grad=2.0, beta2=0.999, t=10)
print(f"v_10 = {solution:.6f}, corrected {solution / (1 - 0.999**10):.6f}")

# %% [markdown]
# **Exercise 4.** A weight starts at $2$ and its loss gradient is zero. What is it after 100 steps
# of AdamW with $\alpha = 0.01$ and weight decay $\lambda = 0.1$?

# %%
your_answer = None
check.adamw_pure_decay(your_answer, theta0=2.0, lr=0.01, weight_decay=0.1, steps=100)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# m and v stay zero, so only the decoupled decay acts: theta_100 = 2 (1 - alpha lambda)^100.
solution = 2.0 * (1 - 0.01 * 0.1) ** 100
check.adamw_pure_decay(solution, theta0=2.0, lr=0.01, weight_decay=0.1, steps=100)
print(f"{solution:.6f}")

# %% [markdown]
# **Exercise 5.** The same weight, now with Adam and an L2 term (`Adam(weight_decay=0.1)`):
# estimate it after 100 steps (to within 0.15). Does your estimate depend on $\lambda$?

# %%
your_answer = None
check.adam_l2_pure_decay(your_answer, theta0=2.0, lr=0.01, weight_decay=0.1, steps=100)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The gradient is g = lambda * theta, and Adam divides it by its own size, so each step moves
# the weight by about alpha towards zero, whatever lambda is: 2 - 100 * 0.01 = 1.0. (The exact value is
# a little higher, because v_hat remembers the larger gradients of the earlier, larger weight.)
solution = 2.0 - 100 * 0.01
check.adam_l2_pure_decay(solution, theta0=2.0, lr=0.01, weight_decay=0.1, steps=100)

# %% [markdown]
# ## Summary
#
# * **Part I.** Adam keeps a moving average $m_t$ of the gradient (momentum) and $v_t$ of its square
#   (RMSProp), and steps by $\alpha\,\hat m_t/(\sqrt{\hat v_t} + \epsilon)$, coordinate by
#   coordinate. Kingma & Ba, and the review, present it as combining AdaGrad's strength on sparse
#   gradients with RMSProp's on non-stationary objectives. The library's `Adam` and `Adamax`
#   reproduce `torch.optim` to the last bit (AdamW too, in the tests).
# * Both averages start at zero and underestimate their targets by exactly $1-\beta^t$; dividing by
#   it makes them unbiased from the first step. Without it, a $\beta_2$ near 1 makes the early steps
#   up to 20 times too large, shifts the best step size and hurts training at large step sizes.
# * With $\beta_1 = 0$, $\beta_2 \to 1$, $\alpha_t = \alpha/\sqrt t$ and $\epsilon \to 0$, Adam's
#   bias-corrected step becomes AdaGrad's: exactly (below $10^{-12}$ in float64) with
#   $1 - \beta_{2,t} = 1/t$, and with a gap proportional to $1-\beta_2$ for a fixed $\beta_2$; without
#   the correction the first step grows without bound instead. The steps do not change when the
#   gradients are scaled by a constant, up to the effect of $\epsilon$.
# * The efficient form $\alpha_t = \alpha\sqrt{1-\beta_2^t}/(1-\beta_1^t)$ is the same algorithm
#   when $\epsilon$ is rescaled. Steps are about $\alpha$ in common cases, up to about $3\alpha$ for
#   sparse or heavy-tailed gradients, and more when gradients grow geometrically.
# * On small problems Adam is as good as well-tuned SGD with Nesterov momentum and the other
#   adaptive methods, and reached the lowest training loss on the dropout MLP; the differences are
#   small, and every optimizer still needs its learning rate tuned.
# * **Part II.** AdaMax replaces $\sqrt{v_t}$ by a decaying maximum and keeps its steps within about $\alpha$. AMSGrad
#   keeps the maximum of $v_t$ and so does not forget rare large gradients; on Reddi et al.'s problem
#   Adam goes to the worst point and AMSGrad to the best. AdamW decays all weights alike, where
#   Adam + L2 regularises weights with large gradients least.
#
# ## References
#
# {cite}`ranjan2018efficient` (section II-A, Algorithm 1), {cite}`kingma2015adam` (Adam, the bias
# correction, AdaMax, the experiments of sections 6.1, 6.2 and 6.4), {cite}`reddi2018convergence`
# (AMSGrad and the online problem), {cite}`loshchilov2019decoupled` (AdamW),
# {cite}`srivastava2014dropout` (dropout), and for the other optimizers {cite}`duchi2011adaptive`
# (AdaGrad), {cite}`tieleman2012rmsprop` (RMSProp), {cite}`zeiler2012adadelta` (AdaDelta),
# {cite}`nesterov1983method,sutskever2013importance` (Nesterov momentum); the survey
# {cite}`ruder2016overview` puts them side by side. The full list is on the website's
# Bibliography page.
