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
# # 3. Adaptive learning rates: AdaGrad, RMSprop, AdaDelta
#
# Chapters 1 and 2 used one learning rate for every parameter. The review's next step is to let
# each parameter have its own: AdaGrad scales each coordinate's step by the history of its
# gradients, and RMSprop and AdaDelta replace that ever-growing history by a running average so
# that the steps do not die out {cite}`ranjan2018efficient,ruder2016overview`. This chapter reads
# the three updates line by line, reads AdaGrad as a diagonal preconditioner, measures the
# effective learning rates they produce, finds a problem where AdaGrad is clearly best (rare
# features), races all the optimizers so far on the test surfaces and on a small network, and ends
# with a warning: the libraries the review cites do not all mean the same thing by the same name.
#
# **Learning objectives.** After this chapter you can
#
# 1. write the AdaGrad, RMSprop and AdaDelta updates and compute the effective step size of each
#    coordinate;
# 2. explain why AdaGrad's steps shrink like $1/\sqrt{t}$, and how a running average fixes it;
#    read AdaGrad as a diagonal preconditioner and say when a diagonal one helps;
# 3. say when per-coordinate rates pay off (sparse, rarely active features) and show it;
# 4. compare optimizers fairly: each with its own learning rate, tuned on a grid whose best point
#    is inside it and chosen on validation data, on the same problems, from more than one start;
# 5. translate an optimizer's settings between PyTorch, Keras, Caffe and Lasagne (on Theano), and
#    spot where their definitions differ enough to matter.

# %%
import copy
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from torch import nn

from effdnn_lib import device as dev
from effdnn_lib.data import load_digits
from effdnn_lib.exercises import ch03 as check
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.optim import SGD, Adadelta, Adagrad, RMSprop
from effdnn_lib.optim.adadelta import adadelta_update
from effdnn_lib.optim.adagrad import adagrad_update
from effdnn_lib.optim.rmsprop import rmsprop_update
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.progress import progress
from effdnn_lib.surfaces import SURFACES, IllConditionedQuadratic, optimize, plot_contours
from effdnn_lib.widgets import Choice, explorer

setup(seed=0, threads=1)

# %% [markdown]
# ## AdaGrad: a learning rate per coordinate
#
# AdaGrad {cite}`duchi2011adaptive` keeps, for every parameter, the sum of its squared gradients
# and divides the step by its square root:
#
# $$
# G_t = G_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{G_t} + \epsilon}\, g_t ,
# $$
#
# all elementwise. The fraction $\eta / (\sqrt{G_t} + \epsilon)$ is the coordinate's *effective
# learning rate*: small where gradients have been large or frequent, large where they have been
# small or rare. The course's `Adagrad` (a drop-in replacement for `torch.optim.Adagrad`, tested to
# give identical numbers) does this per tensor; `lr_decay` optionally shrinks $\eta$ further:

# %%
show_source(adagrad_update)

# %% [markdown]
# The price of a sum is that it never forgets. If a coordinate sees the same gradient $g$ at
# every step, then $G_t = t g^2$ and the step is $\eta g / \sqrt{t g^2} = \eta/\sqrt{t}$: it
# shrinks forever, whether or not the parameter is anywhere near a minimum.
#
# ### AdaGrad as a diagonal preconditioner
#
# Duchi, Hazan and Singer {cite}`duchi2011adaptive` state AdaGrad with matrices. Let
# $G_t = \sum_{s \le t} g_s g_s^\top$ be the sum of the outer products of the gradients so far.
# *Full-matrix* AdaGrad steps along
#
# $$
# \theta_t = \theta_{t-1} - \eta\, G_t^{-1/2}\, g_t
# $$
#
# (the paper adds $\delta I$ to $G_t^{1/2}$ before inverting it; below, the inverse is taken on the
# span of the gradients seen, which is the whole plane after two steps). A $d \times d$ matrix and
# its root cost $d^2$ memory and $d^3$ time, far too much for a network, so the algorithm everyone
# uses keeps only the diagonal of $G_t$, whose entries are the sums of squared gradients above:
#
# $$
# \theta_t = \theta_{t-1} - \eta\, \operatorname{diag}(G_t)^{-1/2}\, g_t ,
# $$
#
# which is the elementwise update of the previous cell with $\epsilon = 0$. What a preconditioner
# $P$ buys: on a quadratic $f = \tfrac12 \theta^\top H \theta$, the step $-\eta P g$ is gradient
# descent in the coordinates $\phi = P^{-1/2}\theta$, where the curvature is $P^{1/2} H P^{1/2}$;
# the ideal $P$ makes that the identity (condition number 1), and then one learning rate suits
# every direction. If the points an optimizer visits were spread evenly, $\theta \sim \mathcal
# N(0, I)$, the average outer product of the gradients $g = H\theta$ would be $E[g g^\top] = H^2$,
# so full-matrix AdaGrad's $G^{-1/2}$ would be proportional to $H^{-1}$, Newton's preconditioner.
# The diagonal version gets $\operatorname{diag}(H^2)^{-1/2}$ instead, which is $H^{-1}$ only when
# $H$ is diagonal: when the valley's axes are the coordinate axes. A quadratic with curvatures 1
# and 100, once along the axes and once rotated by 45 degrees:

# %%
def rotation(angle):
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s], [s, c]], dtype=torch.float64)


H_axes = torch.diag(torch.tensor([1.0, 100.0], dtype=torch.float64))
R45 = rotation(math.pi / 4)
H_rotated = R45 @ H_axes @ R45.T


def inverse_root(G, full):
    """G^{-1/2} (on the span of G's eigenvectors with non-negligible eigenvalues), or diag(G)^{-1/2}."""
    if not full:
        d = torch.diagonal(G)
        return torch.diag(torch.where(d > 0, d.clamp_min(1e-300).rsqrt(), 0.0))
    lam, U = torch.linalg.eigh(G)
    keep = lam > 1e-12 * lam.max()
    return U @ torch.diag(torch.where(keep, lam.clamp_min(1e-300).rsqrt(), 0.0)) @ U.T


def preconditioned_condition_number(H, P):
    """Condition number of P^{1/2} H P^{1/2}, the curvature that a step -lr * P g sees."""
    P_half = torch.linalg.cholesky(P)  # any square root gives the same eigenvalues
    lam = torch.linalg.eigvalsh(P_half.T @ H @ P_half)
    return (lam.max() / lam.min()).item()


print("condition number of the curvature, with P from G = E[g g^T] = H^2:")
print(f"{'quadratic':>10} {'no preconditioner':>18} {'diagonal AdaGrad':>17} {'full-matrix AdaGrad':>20}")
for name, H in (("axes", H_axes), ("rotated", H_rotated)):
    numbers = [preconditioned_condition_number(H, P) for P in (torch.eye(2, dtype=torch.float64), inverse_root(H @ H, False), inverse_root(H @ H, True))]
    print(f"{name:>10} " + " ".join(f"{k:>{w}.3g}" for k, w in zip(numbers, (18, 17, 20))))

# %% [markdown]
# The diagonal preconditioner straightens the axis-aligned valley completely (100 becomes 1) and
# does nothing for the rotated one: there both diagonal entries of $H^2$ are equal,
# $(1 + 100^2)/2$, so $P$ is a multiple of the identity and the condition number stays 100. The full
# matrix sees the rotation. Now the algorithms themselves, written with matrices (`full=False` is
# AdaGrad as the course's `Adagrad` runs it; the first check below makes sure of that), each with
# its own learning rate tuned on a log grid. The tuning rule, used for every comparison in this
# chapter: try a grid of learning rates spaced by half a decade (a factor $\sqrt{10}$), and as long
# as the best one is at an end of the grid, extend the grid past that end; the code asserts that
# the winner has a tried neighbour on each side. A run's score is the number of steps after which
# $f - f^*$ stays below $10^{-8}$; runs that never get there are ranked by their final $f - f^*$,
# after every run that does; ties go to the smaller learning rate.

# %%
HALF_DECADE = math.sqrt(10)


def log_grid(centre, n=5):
    """n learning rates spaced by half a decade around centre."""
    return [centre * HALF_DECADE ** (k - n // 2) for k in range(n)]


def tune_on_log_grid(score, lrs, max_extensions=10):
    """Evaluate score(lr) (lower is better) on a log grid; while the best lr is at an end, extend
    that end by half a decade. Ties go to the smallest lr. Returns the best lr and {lr: score}."""
    scores = {lr: score(lr) for lr in lrs}
    for _ in range(max_extensions + 1):
        grid = sorted(scores)
        best = min(grid, key=lambda lr: scores[lr])
        if best == grid[0]:
            scores[grid[0] / HALF_DECADE] = score(grid[0] / HALF_DECADE)
        elif best == grid[-1]:
            scores[grid[-1] * HALF_DECADE] = score(grid[-1] * HALF_DECADE)
        else:
            break
    else:
        raise RuntimeError(f"the best learning rate was still at an end of the grid after {max_extensions} extensions")
    assert grid[0] < best < grid[-1], "the best learning rate must have a tried neighbour on each side"
    return best, scores


TARGET = 1e-8


def steps_to_target(values, min_value=0.0):
    """Score of a run: (steps after which f - f* stays below TARGET, 0), or (inf, final f - f*)."""
    gaps = values - min_value
    if not bool(torch.isfinite(gaps).all()):
        return (math.inf, math.inf)
    if gaps[-1] < TARGET:
        above = (gaps >= TARGET).nonzero()
        return (above[-1].item() + 1 if len(above) else 0, 0.0)
    return (math.inf, gaps[-1].item())


def matrix_adagrad(H, theta_0, lr, steps, full):
    """AdaGrad on f = theta^T H theta / 2 with matrices: theta <- theta - lr * G^{-1/2} g (or diag(G))."""
    theta, G = theta_0.clone(), torch.zeros(2, 2, dtype=torch.float64)
    points = [theta]
    for _ in range(steps):
        g = H @ theta
        G = G + torch.outer(g, g)
        theta = theta - lr * inverse_root(G, full) @ g
        points.append(theta)
    return torch.stack(points)


def quadratic_values(H, points):
    return 0.5 * torch.einsum("ti,ij,tj->t", points, H, points)


theta_0, PRECONDITIONER_STEPS = torch.tensor([1.0, 0.5], dtype=torch.float64), 50
p = theta_0.clone()
library = Adagrad([p], lr=0.5, eps=0.0)
library_points = [p.clone()]
for _ in range(PRECONDITIONER_STEPS):
    p.grad = H_axes @ p
    library.step()
    library_points.append(p.clone())
gap = (torch.stack(library_points) - matrix_adagrad(H_axes, theta_0, 0.5, PRECONDITIONER_STEPS, full=False)).abs().max().item()
print(f"diagonal form vs effdnn_lib.optim.Adagrad, 50 steps, largest difference below 1e-12: {gap < 1e-12}")
for full in (False, True):
    on_axes = matrix_adagrad(H_axes, theta_0, 0.5, PRECONDITIONER_STEPS, full)
    on_rotated = matrix_adagrad(H_rotated, R45 @ theta_0, 0.5, PRECONDITIONER_STEPS, full)
    gap = (on_rotated - on_axes @ R45.T).abs().max().item()
    verdict = "the same path, rotated (difference < 1e-12)" if gap < 1e-12 else f"a different path (largest difference {gap:.3f})"
    print(f"{'full-matrix' if full else 'diagonal'} AdaGrad on the rotated problem from the rotated start: {verdict}")

print(f"\n{'quadratic':>10} {'method':>12} {'tuned lr':>9} {'steps to f < 1e-8, or f after 50 steps':>39}")
for name, H, start in (("axes", H_axes, theta_0), ("rotated", H_rotated, R45 @ theta_0)):
    for full in (False, True):
        score = lambda lr: steps_to_target(quadratic_values(H, matrix_adagrad(H, start, lr, PRECONDITIONER_STEPS, full)))
        lr, scores = tune_on_log_grid(score, log_grid(1.0))
        steps, final_gap = scores[lr]
        result = f"{steps} steps" if steps < math.inf else f"f = {final_gap:.3g}"
        print(f"{name:>10} {'full' if full else 'diagonal':>12} {lr:>9.3g} {result:>39}")

# %% [markdown]
# Both checks pass: the matrix form with a diagonal $G$ is the library's AdaGrad, and full-matrix
# AdaGrad is rotation-invariant (rotate the problem and the start, and it takes the same path,
# rotated), while the diagonal version takes a different path. With tuned learning rates, diagonal
# AdaGrad solves the axis-aligned quadratic in 5 steps, but on the rotated one it is still at
# $f = 0.141$ after 50; full-matrix AdaGrad needs 12 steps on either. Per-coordinate learning rates
# are a cheap preconditioner that only helps when the problem's scales live on the coordinates.
# (Adam, in chapter 4, also divides by per-coordinate averages: it is a diagonal preconditioner too.)
#
# ## RMSprop and AdaDelta: averages that forget
#
# RMSprop {cite}`tieleman2012rmsprop` replaces the sum by an exponentially weighted average with
# smoothing constant $\alpha$, so only the last $\approx 1/(1-\alpha)$ squared gradients count:
#
# $$
# v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \qquad \theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{v_t} + \epsilon}\, g_t .
# $$
#
# The lecture slide that introduced it {cite}`hinton2012lecture6e` uses $\alpha = 0.9$
# ("MeanSquare(w, t) = 0.9 MeanSquare(w, t-1) + 0.1 (dE/dw)^2"), and Ruder's overview reports
# Hinton's suggestion as $\alpha = 0.9$ with $\eta = 0.001$ {cite}`ruder2016overview`, the defaults
# Keras adopted; PyTorch's defaults, which the course's `RMSprop` copies and this chapter uses,
# are $\alpha = 0.99$ and $\eta = 0.01$.
#
# (`centered=True` divides by an estimate of the gradient's standard deviation instead, and
# `momentum` adds a buffer as in chapter 2.)

# %%
show_source(rmsprop_update)

# %% [markdown]
# AdaDelta {cite}`zeiler2012adadelta` keeps the same running average $E[g^2]$ and a second one,
# $E[\Delta^2]$, of its own past steps, and sets the step to the ratio of the two root mean
# squares:
#
# $$
# \Delta_t = \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\, g_t, \qquad \theta_t = \theta_{t-1} - \eta\,\Delta_t .
# $$
#
# Zeiler's argument is about units: if $\theta$ is in metres and the loss in, say, joules, then
# $g$ is in joules per metre and $\eta g$ is not a length unless $\eta$ carries the right units. The
# ratio above is in metres by construction, so no learning rate is needed; PyTorch keeps an
# $\eta$ anyway, 1.0 by default, which is exactly Zeiler's rule.

# %%
show_source(adadelta_update)

# %% [markdown]
# ### Effective step sizes, measured
#
# Feed one parameter the same gradient, $g = 1$, for 1,000 steps and record each step's size. The
# closed forms for comparison: AdaGrad's step is $\eta/\sqrt{t}$, and RMSprop's, with $v_t =
# (1 - \alpha^t) g^2$, is $\eta / \sqrt{1 - \alpha^t}$ (ignoring $\epsilon$). All three use
# PyTorch's default hyperparameters, with $\eta = 0.01$ for AdaGrad and RMSprop:

# %%
def step_sizes(make_optimizer, gradients):
    """Feed one parameter the given gradients in turn; return the size of every step taken."""
    theta = torch.zeros(1, dtype=torch.float64)
    optimizer = make_optimizer([theta])
    sizes = []
    for g in gradients:
        before = theta.item()
        theta.grad = torch.full((1,), float(g), dtype=torch.float64)
        optimizer.step()
        sizes.append(abs(theta.item() - before))
    return sizes


makers = {
    "AdaGrad": lambda p: Adagrad(p, lr=0.01),
    "RMSprop": lambda p: RMSprop(p, lr=0.01),
    "AdaDelta": lambda p: Adadelta(p),
}
constant = {name: step_sizes(make, [1.0] * 1000) for name, make in makers.items()}
print(f"{'step t':>6} {'AdaGrad':>10} {'0.01/sqrt(t)':>13} {'RMSprop':>10} {'0.01/sqrt(1-0.99^t)':>20} {'AdaDelta':>10}")
for t in (1, 2, 10, 100, 1000):
    print(f"{t:>6} {constant['AdaGrad'][t - 1]:>10.6f} {0.01 / math.sqrt(t):>13.6f} {constant['RMSprop'][t - 1]:>10.6f} "
          f"{0.01 / math.sqrt(1 - 0.99**t):>20.6f} {constant['AdaDelta'][t - 1]:>10.6f}")

# %% [markdown]
# Three different behaviours:
#
# * AdaGrad's steps follow $\eta/\sqrt t$ exactly: after 1,000 steps they are 32 times smaller
#   than at the start, although nothing about the problem has changed.
# * RMSprop's steps settle at $\eta$, but its *first* steps are far larger, 0.1 at $t = 1$, ten
#   times $\eta$: with $v_0 = 0$ the average is biased towards zero until it has seen
#   $\approx 1/(1-\alpha)$ gradients. Adam's bias correction (chapter 4) removes exactly this.
# * AdaDelta starts with tiny steps, $g\sqrt{\epsilon}/\sqrt{(1-\rho)g^2} = \sqrt{\epsilon/(1-\rho)} \approx 0.0032$, and lets them
#   grow, since each step feeds the numerator of the next: 0.0047 after 100 steps, 0.0106 after
#   1,000. It measures the scale of its own recent steps, not the distance to a minimum.
#
# The real weakness of AdaGrad shows when the gradients change scale. Feed 500 large gradients
# ($g = 10$) and then 1,000 small ones ($g = 0.1$), as when a network leaves a steep early region:

# %% mystnb={"image": {"alt": "Step size against the step t, log scales, for AdaGrad (blue), RMSprop (orange) and AdaDelta (green). Left, a constant gradient g = 1 for 1,000 steps: AdaGrad's steps fall along a straight line, as 0.01/sqrt(t); RMSprop's start ten times larger, at 0.1, and settle at 0.01; AdaDelta's start near 0.003 and grow. Right, g = 10 for 500 steps and then g = 0.1 (dotted line at the switch): after the switch AdaGrad's step drops below 1e-5 and stays flat, while RMSprop's and AdaDelta's drop and then climb back towards 0.01, AdaDelta's quickly and RMSprop's slowly."}}
regime_change = [10.0] * 500 + [0.1] * 1000
changing = {name: step_sizes(make, regime_change) for name, make in makers.items()}
print(f"{'':>9} {'step at t=500 (g=10)':>21} {'step at t=1500 (g=0.1)':>23}")
for name, sizes in changing.items():
    print(f"{name:>9} {sizes[499]:>21.6f} {sizes[-1]:>23.6f}")

fig, (ax_constant, ax_change) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
colours = {"AdaGrad": PALETTE["blue"], "RMSprop": PALETTE["orange"], "AdaDelta": PALETTE["green"]}
for name in makers:
    ax_constant.loglog(range(1, 1001), constant[name], color=colours[name], label=name)
    ax_change.semilogy(range(1, 1501), changing[name], color=colours[name], label=name)
ax_constant.set(xlabel="step t", ylabel="step size", title="constant gradient g = 1")
ax_change.axvline(500, color=PALETTE["black"], lw=0.8, ls=":")
ax_change.set(xlabel="step t", ylabel="step size", title="g = 10 for 500 steps, then g = 0.1")
ax_constant.legend()
plt.show()

# %% [markdown]
# After the switch, AdaGrad still divides by the memory of the large gradients: its step is
# $\eta \cdot 0.1 / \sqrt{500 \cdot 100 + 1000 \cdot 0.01} \approx 4.5 \times 10^{-6}$, and the
# parameter is effectively frozen. RMSprop does forget them, but slowly: the memory of $g^2 = 100$
# shrinks by $\alpha = 0.99$ per step, so it needs about $\ln(10^4)/0.01 \approx 900$ steps to fade below
# the new $g^2 = 0.01$; 1,000 steps after the switch its step is back near $\eta$ (0.0084, the figure
# shows the slow climb). AdaDelta's steps, set by its own past steps rather than by $\eta$, also
# recover (0.0095).
#
# ## Where AdaGrad shines: rare features
#
# AdaGrad was designed for problems where some features are rare but informative, such as words
# in text: "needles in haystacks" in its authors' words. A plain learning rate must be small
# enough for the frequent features, whose gradients arrive at every step, and is then far too
# small for a feature that appears in one example in two hundred. AdaGrad gives each feature a
# rate that reflects how much gradient it has actually received.
#
# A synthetic test: a linear model with 40 features, where feature $j$ is non-zero in a fraction
# of the examples that falls from 100 % (feature 0) to 0.5 % (feature 39); all true weights are 1.
# One pass of mini-batch training ($B = 10$) over 4,000 noisy examples, squared error. Each
# optimizer's learning rate is tuned with the rule above on the loss over a separate validation
# set of 4,000 examples, and the tuned run is then scored on a test set of 4,000 more (both
# noise-free, so that their loss measures the error of the weights). Three data sets (seeds 0, 1,
# 2), each tuned on its own:

# %%
n_features, n_examples = 40, 4000
frequency = torch.logspace(0, math.log10(0.005), n_features, dtype=torch.float64)
w_true = torch.ones(n_features, dtype=torch.float64)


def sparse_problem(seed):
    """Training (noisy), test and validation sets (noise-free) of the rare-features problem."""
    generator = torch.Generator().manual_seed(seed)

    def examples(n):
        active = torch.rand(n, n_features, generator=generator, dtype=torch.float64) < frequency
        return active * torch.randn(n, n_features, generator=generator, dtype=torch.float64)

    X, X_test = examples(n_examples), examples(n_examples)
    y = X @ w_true + 0.1 * torch.randn(n_examples, generator=generator, dtype=torch.float64)
    X_val = examples(n_examples)
    return {"X": X, "y": y, "X_val": X_val, "y_val": X_val @ w_true, "X_test": X_test, "y_test": X_test @ w_true}


def fit_sparse(make_optimizer, data, batch_size=10):
    """One epoch of mini-batch training; validation and test loss, mean weight error on the frequent and rare halves."""
    w = torch.zeros(n_features, dtype=torch.float64)
    optimizer = make_optimizer([w])
    for i in range(0, n_examples, batch_size):
        x, y = data["X"][i : i + batch_size], data["y"][i : i + batch_size]
        w.grad = x.T @ (x @ w - y) / len(y)
        optimizer.step()
    error = (w - w_true).abs()
    loss = {split: 0.5 * (data[f"X_{split}"] @ w - data[f"y_{split}"]).square().mean().item() for split in ("val", "test")}
    return {**loss, "frequent": error[:20].mean().item(), "rare": error[20:].mean().item(), "optimizer": optimizer, "w": w}


sparse_problems = [sparse_problem(seed) for seed in (0, 1, 2)]
X_sparse = sparse_problems[0]["X"]
print("seed 0: training examples in which features 0, 10, 20, 30, 39 are active:", (X_sparse != 0).sum(0)[[0, 10, 20, 30, 39]].tolist())

candidates = {"SGD": (SGD, 1.0), "AdaGrad": (Adagrad, 1.0), "RMSprop": (RMSprop, 0.01), "AdaDelta": (Adadelta, 10.0)}
sparse_results = {}
for name, (cls, centre) in candidates.items():
    sparse_results[name] = []
    for data in sparse_problems:
        runs = {}

        def validation_loss(lr):
            runs[lr] = fit_sparse(lambda p: cls(p, lr=lr), data)
            return runs[lr]["val"] if math.isfinite(runs[lr]["val"]) else math.inf

        lr, _ = tune_on_log_grid(validation_loss, log_grid(centre))
        sparse_results[name].append({"lr": lr, **runs[lr]})


def mean_and_range(values, digits):
    return f"{sum(values) / len(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


print(f"\n{'optimizer':>9} {'tuned lr, seeds 0/1/2':>22} {'test loss: mean (range)':>26} {'error, frequent half':>24} {'error, rare half':>24}")
for name, rs in sparse_results.items():
    lrs = "/".join(f"{r['lr']:.3g}" for r in rs)
    print(f"{name:>9} {lrs:>22} {mean_and_range([r['test'] for r in rs], 5):>26} "
          f"{mean_and_range([r['frequent'] for r in rs], 4):>24} {mean_and_range([r['rare'] for r in rs], 4):>24}")
for seed in range(3):
    ranking = sorted(sparse_results, key=lambda name: sparse_results[name][seed]["test"])
    print(f"seed {seed}: test loss from lowest to highest: {', '.join(ranking)}")

# %% [markdown]
# With every learning rate chosen on the validation split, AdaGrad reaches the lowest test loss on
# each of the three data sets (on average 0.00099, against 0.00375 for RMSprop, 0.00582 for SGD and
# 0.01167 for AdaDelta), and on average it learns both the frequent and the rare half of the
# weights best (mean error 0.0376 on the rare half, against 0.0479 for RMSprop, 0.0914 for SGD and
# 0.1815 for AdaDelta). Its effective rates show why: after the pass, the rarest features keep rates many times larger
# than the commonest one, because their accumulators hold only the few gradients they received
# (seed 0):

# %%
adagrad_seed0 = sparse_results["AdaGrad"][0]
state = adagrad_seed0["optimizer"].state[adagrad_seed0["w"]]
effective = adagrad_seed0["lr"] / (state["sum"].sqrt() + 1e-10)
for j in (0, 10, 20, 30, 39):
    print(f"feature {j:>2}: active in {int((X_sparse[:, j] != 0).sum()):>4} examples, AdaGrad's effective rate {effective[j].item():.4f}")

# %% [markdown]
# ## The optimizer race
#
# Now the optimizers of chapters 1 to 3 (Nesterov aside) on the five test surfaces. A fair race
# gives every optimizer its own best learning rate, tuned with the rule above: on each surface,
# each optimizer runs 150 steps per learning rate, starting from a grid of seven rates spaced by
# half a decade around a usual value and extended until the best rate is inside the grid. The
# score is again the number of steps after which $f - f^*$ stays below $10^{-8}$ (a fact about the
# algorithm that rounding cannot move, unlike the digits of an $f - f^*$ near $10^{-16}$), and for
# runs that never get there, the final $f - f^*$. Each surface is raced from two starts: its
# customary one (first row) and a second one, so that no conclusion rests on one starting point.
# (PyTorch's other defaults throughout; momentum 0.9, not tuned.)

# %%
RACERS = {
    "SGD": (lambda p, lr: SGD(p, lr=lr), 1e-2),
    "momentum": (lambda p, lr: SGD(p, lr=lr, momentum=0.9), 1e-2),
    "AdaGrad": (lambda p, lr: Adagrad(p, lr=lr), 1.0),
    "RMSprop": (lambda p, lr: RMSprop(p, lr=lr), 0.1),
    "AdaDelta": (lambda p, lr: Adadelta(p, lr=lr), 10.0),
}
SECOND_STARTS = {"quadratic": (-0.5, 1.0), "rosenbrock": (1.5, -0.5), "beale": (2.0, 0.2), "saddle": (-1.0, -1e-4), "himmelblau": (1.0, -4.0)}
RACE_STEPS = 150
RACER_COLOURS = dict(zip(RACERS, (PALETTE["blue"], PALETTE["orange"], PALETTE["green"], PALETTE["vermillion"], PALETTE["purple"])))


def tuned_race(surface, make, centre, start):
    """The tuned learning rate and its score on one surface from one start."""
    def score(lr):
        run = optimize(surface, lambda p: make(p, lr), start=start, n_steps=RACE_STEPS)
        return (math.inf, math.inf) if run.diverged else steps_to_target(run.values, surface.min_value)

    lr, scores = tune_on_log_grid(score, log_grid(centre, n=7))
    return lr, scores[lr]


race_lrs, race_scores = {}, {}
print(f"steps until f - f* stays below 1e-8, or (never within {RACE_STEPS} steps) the final f - f*; tuned lr in brackets")
print(f"{'surface':>10} {'start':>13} " + " ".join(f"{name:>18}" for name in RACERS))
for surface_name, s in progress(SURFACES.items(), desc="race"):
    for start in (s.start, SECOND_STARTS[surface_name]):
        cells = []
        for name, (make, centre) in RACERS.items():
            lr, (steps, final_gap) = tuned_race(s, make, centre, start)
            race_scores[surface_name, start, name] = (steps, final_gap)
            if start == s.start:
                race_lrs.setdefault(surface_name, {})[name] = lr
            result = f"{steps} step{'s' if steps != 1 else ''}" if steps < math.inf else f"{final_gap:.1e}"
            cells.append(f"{result} ({lr:.3g})")
        print(f"{surface_name:>10} {'(' + ', '.join(f'{x:g}' for x in start) + ')':>13} " + " ".join(f"{c:>18}" for c in cells))
stuck = optimize(SURFACES["saddle"], lambda p: SGD(p, lr=0.03), n_steps=RACE_STEPS)
print(f"\nSGD at lr 0.03 on the saddle: f - f* = {stuck.values[-1].item() - SURFACES['saddle'].min_value:.3f} after {RACE_STEPS} steps, "
      f"at distance {stuck.points[-1].norm().item():.3f} from the saddle point")
print(f"momentum 0.9 on a quadratic: f - f* shrinks at best by a factor 0.9 per step, 0.9^{RACE_STEPS} = {0.9 ** RACE_STEPS:.1e} over {RACE_STEPS} steps")

# %% [markdown]
# The first row of each surface starts from its customary point, the second from the other start.
# What the fair race shows:
#
# * on the **saddle**, every optimizer escapes once its rate is tuned: plain SGD at 0.316 needs 34
#   and 43 steps, since near the saddle its distance from the line $y = 0$ grows only by a factor
#   $1 + \eta$ per step. AdaGrad and RMSprop escape two to four times sooner (12 to 15 steps): they
#   divide the tiny gradient along the escape direction by its own size, so the step away from the
#   saddle is as long as any other. AdaDelta takes 129 and 89 steps;
# * on the axis-aligned **quadratic**, the diagonal preconditioner is exactly right: AdaGrad and
#   RMSprop need 5 steps from the second start, against 78 for SGD. From the customary start
#   $(1, 1)$ they need a single step, which is luck: their first step is $\eta$ (AdaGrad) or
#   $\eta/\sqrt{1-\alpha} = 10\eta$ (RMSprop) along every coordinate, whatever the gradient, and at
#   $\eta = 1$ and 0.1 that step lands on the minimum. SGD needs 85 steps, AdaDelta 92;
# * on the **Rosenbrock** valley nobody arrives in 150 steps, and the ranking depends on the start:
#   from the customary one momentum leads (0.50), ahead of RMSprop (1.0) and AdaGrad (1.1), with
#   AdaDelta (5.3) and SGD (5.5) far behind; from $(1.5, -0.5)$ AdaGrad leads (0.038), and momentum
#   is last (0.72);
# * on **Beale's** surface momentum is best from both starts ($4.0 \times 10^{-5}$ and
#   $9.4 \times 10^{-8}$) and AdaDelta worst (0.11 and 0.051);
# * on **Himmelblau's** surface RMSprop and AdaGrad are fastest from the origin (17 and 18 steps,
#   against 40 for SGD), but from $(1, -4)$ SGD is (26 steps, against 58 and 68).
#
# Momentum, at its untuned $\mu = 0.9$, never gets below $10^{-8}$ to stay: on a quadratic its
# error shrinks at best by $\sqrt{0.9}$ per step (chapter 2), so $f - f^*$ shrinks at best by a
# factor of about $1.4 \times 10^{-7}$ in 150 steps, and its results on the quadratic and the saddle
# ($3.4 \times 10^{-8}$ to $1.3 \times 10^{-7}$) are of that order. So no method wins everywhere, and
# several conclusions change with the starting point. A race on too narrow a grid says more about
# the grid than about the optimizers: a grid for SGD that stopped at 0.03 would have left it at
# the saddle point after 150 steps (the output above shows it).
#
# Race them yourself: pick a surface and scale all the tuned learning rates up or down together.
# The left panel shows the paths from the customary start, the right one $f - f^*$ over 150 steps;
# runs that diverge stop with a message below the figure. On the website the controls switch
# between precomputed views: the five surfaces, each at the tuned rates and at the two
# neighbouring rates of the tuning grid, a factor $\sqrt{10}$ smaller or larger (lr scale 0.316
# and 3.16); run the notebook for a continuous scale and any number of steps. Things to try:
#
# * Beale, lr scale 3.16: SGD and momentum diverge within a few steps, while AdaGrad, RMSprop and
#   AdaDelta do not. An adaptive method divides the gradient by a running measure of its own size,
#   so a large gradient does not make a large step; SGD's step grows with the gradient.
# * Quadratic, lr scale 1, then 0.316: at the tuned rates AdaGrad and RMSprop land on the minimum
#   in one step (the luck explained above); at the smaller rates they need tens of steps.
# * Rosenbrock, lr scale 1: momentum's path follows the curved floor of the valley, and its curve
#   is the only one still falling at step 150; the others have stalled.

# %% output_varies="widget" tags=["nbval-ignore-output"]
def race(surface_name="beale", lr_scale=1.0, steps=RACE_STEPS):
    s = SURFACES[surface_name]
    fig, (ax_path, ax_value) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
    plot_contours(ax_path, s)
    for name, (make, _) in RACERS.items():
        lr = race_lrs[surface_name][name] * lr_scale
        r = optimize(s, lambda p: make(p, lr), n_steps=steps)
        ax_path.plot(r.points[:, 0], r.points[:, 1], color=RACER_COLOURS[name], lw=1.2, label=name)
        ax_value.semilogy(range(len(r.values)), (r.values - s.min_value).clamp_min(1e-16), color=RACER_COLOURS[name], label=f"{name} (lr {lr:.3g})")
        if r.diverged:
            print(f"{name}: {r.message}")
    ax_path.plot(*s.start, marker="o", color="black", markersize=4)
    ax_value.set(xlabel="step", ylabel="f - f*", title=f"{s.name}: value above the minimum")
    ax_value.legend(fontsize=7)
    return fig


explorer(
    race,
    alt=lambda surface_name, lr_scale, steps: (
        f"Left: the paths of SGD, momentum, AdaGrad, RMSprop and AdaDelta on the {surface_name} surface, each at "
        f"lr scale = {lr_scale:.3g} times its tuned learning rate, from the customary start (black dot). "
        f"Right: f - f* of each against the step, over {steps} steps, log scale."),
    surface_name=Choice(list(SURFACES), "beale", "surface"),
    lr_scale=Choice([1 / HALF_DECADE, 1.0, HALF_DECADE], 1.0, "lr scale", labels=["0.316", "1", "3.16"],
                    live=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.1, description="lr scale", continuous_update=False)),
    steps=Choice([RACE_STEPS], RACE_STEPS, "steps",
                 live=widgets.IntSlider(value=RACE_STEPS, min=10, max=1000, step=10, description="steps", continuous_update=False)),
)

# %% [markdown]
# ## A small network on the digits
#
# The surfaces are two-dimensional; a network has thousands of parameters whose gradient scales
# differ by layer. A multi-layer perceptron with one hidden layer of 64 units, trained for 15
# epochs on the digits with mini-batches of 32, starting from the same weights for every
# optimizer. The learning rates are common choices for each method (AdaDelta at its default 1.0),
# not tuned: this is what a first try looks like. The training runs on the device that
# `effdnn_lib.device.get_device()` picks; the committed outputs are the CPU's.

# %%
device = dev.get_device()
digits = load_digits()
X_train, y_train = digits["train"].x.to(device), digits["train"].y.to(device)
X_test, y_test = digits["test"].x.to(device), digits["test"].y.to(device)
torch.manual_seed(0)
initial_model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)).to(device)
contenders = {
    "SGD, lr 0.1": lambda p: SGD(p, lr=0.1),
    "momentum 0.9, lr 0.05": lambda p: SGD(p, lr=0.05, momentum=0.9),
    "AdaGrad, lr 0.05": lambda p: Adagrad(p, lr=0.05),
    "RMSprop, lr 0.001": lambda p: RMSprop(p, lr=0.001),
    "AdaDelta, lr 1.0": lambda p: Adadelta(p, lr=1.0),
}


def train_mlp(make_optimizer, epochs=15, batch_size=32):
    model = copy.deepcopy(initial_model)
    optimizer = make_optimizer(model.parameters())
    order_generator = torch.Generator().manual_seed(0)
    losses, seconds = [], 0.0
    for _ in range(epochs):
        order = torch.randperm(len(y_train), generator=order_generator)
        start = time.perf_counter()
        for i in range(0, len(y_train), batch_size):
            batch = order[i : i + batch_size]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X_train[batch]), y_train[batch]).backward()
            optimizer.step()
        dev.synchronize(device)
        seconds += time.perf_counter() - start
        with torch.no_grad():
            losses.append(nn.functional.cross_entropy(model(X_train), y_train).item())
    with torch.no_grad():
        accuracy = (model(X_test).argmax(1) == y_test).float().mean().item()
    return {"losses": losses, "accuracy": accuracy, "seconds": seconds}


mlp_runs = {name: train_mlp(make) for name, make in progress(contenders.items(), desc="optimizers")}
print(f"{'optimizer':>22} {'loss, epoch 1':>14} {'loss, epoch 5':>14} {'loss, epoch 15':>15} {'test accuracy':>14}")
for name, r in mlp_runs.items():
    print(f"{name:>22} {r['losses'][0]:>14.4f} {r['losses'][4]:>14.4f} {r['losses'][-1]:>15.4f} {r['accuracy']:>14.4f}")

# %% output_varies="timings" tags=["nbval-ignore-output"]
for name, r in mlp_runs.items():
    print(f"{name:>22}: {r['seconds']:.2f} s for 15 epochs ({r['seconds'] / (15 * math.ceil(len(y_train) / 32)) * 1e6:.0f} us per step)")

# %% mystnb={"image": {"alt": "Training loss (log scale) against the epoch, 1 to 15, of the MLP 64-64-10 on the digits with mini-batches of 32, for five optimizers at common, untuned learning rates: SGD (lr 0.1, blue), momentum 0.9 (lr 0.05, orange), AdaGrad (lr 0.05, green), RMSprop (lr 0.001, vermillion) and AdaDelta (lr 1.0, purple). Momentum and AdaGrad fall fastest and end lowest, AdaDelta comes third, RMSprop is next and plain SGD ends highest."}}
fig, ax = plt.subplots(figsize=FIGSIZE)
for (name, r), colour in zip(mlp_runs.items(), RACER_COLOURS.values()):
    ax.semilogy(range(1, 16), r["losses"], marker=".", color=colour, label=name)
ax.set(xlabel="epoch", ylabel="training loss", title="MLP 64-64-10 on the digits, B = 32")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# All five reach a test accuracy between 97.3 % and 98.4 %, so on this easy problem the choice
# matters more for the training loss than for the accuracy. Momentum and AdaGrad fall fastest
# (0.0035 and 0.0042 after 15 epochs); plain SGD is the slowest (0.0377), and RMSprop at its common
# rate of 0.001 is cautious (0.0228). AdaDelta, with no learning rate to tune, comes third
# (0.0066). Per step, the adaptive methods do a few more elementwise operations than SGD; on a model
# this small the wall-clock difference is mostly fixed per-call overhead (see the timings above,
# which depend on the machine). For a model of a million parameters, `benchmarks/optim_step.py`
# times the optimizer step itself against `torch.optim`.
#
# ## Same name, different optimizer
#
# The review points to four libraries for these optimizers: Theano, Caffe, Keras and Lasagne
# {cite}`ranjan2018efficient`. Their documentation and code define the "same" methods in
# different ways; a setting copied from one to another can mean something else. The main
# differences, from each library's documented update rules (Keras as of its version 2, which
# the review links):
#
# | | PyTorch | Keras 2 | Caffe | Lasagne (on Theano) |
# |---|---|---|---|---|
# | momentum | $b \leftarrow \mu b + g$; $\theta \leftarrow \theta - \eta b$ (**lr outside**) | $v \leftarrow \mu v - \eta g$; $\theta \leftarrow \theta + v$ (**lr inside**) | as Keras | as Keras |
# | Nesterov | step along $g + \mu b$ | $\theta \leftarrow \theta + \mu v - \eta g$ | gradient at $\theta + \mu v$ (documented form) | as Keras |
# | dampening | $b \leftarrow \mu b + (1-\tau) g$, not on the first step | none | none | none |
# | AdaGrad | $\eta g/(\sqrt{G} + \epsilon)$, $\eta = 0.01$, $\epsilon = 10^{-10}$ | same form, $\eta = 0.01$, $\epsilon = 10^{-7}$ | same form, $\delta = 10^{-8}$ | $\eta g/\sqrt{G + \epsilon}$ (**eps inside**), $\eta = 1$, $\epsilon = 10^{-6}$ |
# | RMSprop | $\eta g/(\sqrt{v} + \epsilon)$, $\eta = 0.01$, $\alpha = 0.99$, $\epsilon = 10^{-8}$ | same form, $\eta = 0.001$, $\rho = 0.9$, $\epsilon = 10^{-7}$ | same form, decay 0.99, $\delta = 10^{-8}$ | $\eta g/\sqrt{v + \epsilon}$ (**eps inside**), $\eta = 1$, $\rho = 0.9$, $\epsilon = 10^{-6}$ |
# | AdaDelta | $\eta = 1$, $\rho = 0.9$, $\epsilon = 10^{-6}$ | $\eta = 1$, $\rho = 0.95$, $\epsilon = 10^{-7}$ | $\eta$ = `base_lr` (must be set), $\rho$ is called `momentum`, $\delta = 10^{-8}$ | $\eta = 1$, $\rho = 0.95$, $\epsilon = 10^{-6}$ |
#
# Theano itself ships no optimizers: its tutorials write each update by hand as a pair
# (shared variable, new expression), usually plain SGD, and libraries such as Lasagne build the
# others on top. (Later Keras versions on TensorFlow 2 changed several defaults, for instance
# AdaDelta's learning rate to 0.001.) Where do the differences matter? Four numerical checks.
#
# **1. Where $\epsilon$ sits.** The first RMSprop step, when $v_1 = (1-\rho)g^2$, for gradients of
# different sizes, with each library's default settings:

# %%
def first_rmsprop_step(g, lr, decay, eps, eps_inside):
    v = (1 - decay) * g**2
    return lr * g / math.sqrt(v + eps) if eps_inside else lr * g / (math.sqrt(v) + eps)


library_rmsprop = {
    "PyTorch": dict(lr=0.01, decay=0.99, eps=1e-8, eps_inside=False),
    "Keras 2": dict(lr=0.001, decay=0.9, eps=1e-7, eps_inside=False),
    "Caffe (lr 0.01)": dict(lr=0.01, decay=0.99, eps=1e-8, eps_inside=False),
    "Lasagne": dict(lr=1.0, decay=0.9, eps=1e-6, eps_inside=True),
}
print(f"{'gradient g':>10} " + " ".join(f"{name:>16}" for name in library_rmsprop))
for g in (1.0, 1e-2, 1e-4, 1e-6):
    print(f"{g:>10g} " + " ".join(f"{first_rmsprop_step(g, **cfg):>16.3e}" for cfg in library_rmsprop.values()))
torch_step = step_sizes(lambda p: RMSprop(p), [1e-4])[0]
print(f"check: the course's RMSprop takes a first step of {torch_step:.3e} for g = 1e-4, as the PyTorch column says")

# %% [markdown]
# With $\epsilon$ outside the root, the first step is $\eta/\sqrt{1-\rho}$ whatever the gradient's
# size, down to gradients near $\epsilon$. With $\epsilon$ inside, as in Lasagne, gradients smaller
# than about $\sqrt{\epsilon/(1-\rho)} \approx 3 \times 10^{-3}$ get proportionally smaller steps:
# at $g = 10^{-4}$ the step is 32 times below its large-gradient value, and at $g = 10^{-6}$ more
# than three thousand times. An $\epsilon$ inside the root (Lasagne's $10^{-6}$) therefore acts as a
# noise floor; outside it (PyTorch's $10^{-8}$) it is a mere guard against division by zero.
#
# **2. The learning rate inside or outside the velocity.** With a constant learning rate the
# PyTorch form and the Keras/Caffe/Lasagne form are the same method ($v = -\eta b$). They part
# when the learning rate changes. On the quadratic with $\kappa = 10$, with $\eta = 0.05$ dropped to
# $0.005$ after 20 steps and momentum 0.9:

# %%
q10 = IllConditionedQuadratic(10)
theta_torch = torch.tensor([1.0, 1.0], dtype=torch.float64)
optimizer = SGD([theta_torch], lr=0.05, momentum=0.9)
schedule = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[20], gamma=0.1)
theta_keras, velocity = torch.tensor([1.0, 1.0], dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
gaps, steps_after_drop = [], {}
for t in range(1, 41):
    lr_now = optimizer.param_groups[0]["lr"]
    before_torch, before_keras = theta_torch.clone(), theta_keras.clone()
    theta_torch.grad = q10.grad(theta_torch)
    optimizer.step()
    schedule.step()
    velocity = 0.9 * velocity - lr_now * q10.grad(theta_keras)  # Keras / Caffe / Lasagne
    theta_keras = theta_keras + velocity
    gaps.append((theta_torch - theta_keras).abs().max().item())
    if t in (20, 21):
        steps_after_drop[t] = {"PyTorch": (theta_torch - before_torch).norm().item(), "Keras": (theta_keras - before_keras).norm().item()}
print(f"largest difference in the first 20 steps below 1e-12: {max(gaps[:20]) < 1e-12}; in steps 21-40: {max(gaps[20:]):.4f}")
for t, lengths in steps_after_drop.items():
    print(f"length of step {t}: PyTorch {lengths['PyTorch']:.5f}, Keras form {lengths['Keras']:.5f}")

# %% [markdown]
# Up to the drop the two agree to rounding error. At the drop, PyTorch's next step shrinks from
# 0.226 to 0.0087, because the new rate multiplies the whole accumulated buffer; the
# Keras/Caffe/Lasagne velocity already contains the old rate, so its first step after the drop is
# almost as long as before (0.190 against 0.226) and the change takes effect over about
# $1/(1-\mu) = 10$ steps. Learning-rate
# schedules tuned in one library therefore behave differently in the other.
#
# **3. Dampening and the first step.** PyTorch's `dampening` $\tau$ scales new gradients by
# $(1 - \tau)$, but its buffer starts at the first gradient undamped. With $\tau = \mu = 0.9$ and a
# constant gradient 1, an exponentially weighted average would give $0.1, 0.19, 0.271, \dots$:

# %%
theta = torch.zeros(1, dtype=torch.float64)
optimizer = SGD([theta], lr=0.0, momentum=0.9, dampening=0.9)
buffers = []
for _ in range(3):
    theta.grad = torch.ones(1, dtype=torch.float64)
    optimizer.step()
    buffers.append(optimizer.state[theta]["momentum_buffer"].item())
print("PyTorch buffer after steps 1, 2, 3:", ", ".join(f"{b:.4f}" for b in buffers))

# %% [markdown]
# The buffer starts at 1.0 and stays there: the first gradient enters with full weight, so the
# dampened buffer begins ten times larger than an average started from zero. None of the other
# three libraries has this option.
#
# **4. AdaDelta's learning rate.** Zeiler's method has no learning rate; PyTorch, Keras 2 and
# Lasagne multiply by one that defaults to 1.0, which changes nothing, Caffe requires one
# (`base_lr`), and Keras on TensorFlow 2 defaulted to 0.001. The same 300 steps on the quadratic
# with $\kappa = 10$, from $(1, 1)$:

# %%
for lr in (1.0, 0.001):
    r = optimize(q10, lambda p: Adadelta(p, lr=lr), start=(1.0, 1.0), n_steps=300)
    print(f"Adadelta(lr={lr:g}): f = {r.values[-1].item():.4e} after 300 steps (f = {r.values[0].item():.1f} at the start)")
print(f"first AdaDelta step for g = 1: PyTorch defaults {step_sizes(lambda p: Adadelta(p), [1.0])[0]:.5f}, "
      f"Keras 2 defaults (rho 0.95, eps 1e-7) {math.sqrt(1e-7) / math.sqrt(0.05 + 1e-7):.5f}")

# %% [markdown]
# With a learning rate of 0.001 AdaDelta barely moves in 300 steps: a port that keeps the
# hyperparameter names but not their defaults silently trains a thousand times slower. Even the
# defaults that look alike differ: the first step under Keras 2's $\rho$ and $\epsilon$ is less than
# half PyTorch's.
#
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** AdaGrad with $\eta = 0.1$ and $\epsilon = 0$ receives the gradient $g = 0.5$ at
# every step. How large is its 100th step?

# %%
your_answer = None  # replace with your number
check.adagrad_step_after(your_answer, t=100, gradient=0.5, lr=0.1)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# G = 100 * 0.25 = 25, so the step is 0.1 * 0.5 / 5 = 0.01: lr / sqrt(t), whatever g is.
solution = 0.1 / math.sqrt(100)
check.adagrad_step_after(solution, t=100, gradient=0.5, lr=0.1)

# %% [markdown]
# **Exercise 2.** RMSprop with $\alpha = 0.9$ receives a constant gradient. After how many steps
# does its average $v_t$ first reach 99 % of $g^2$?

# %%
your_answer = None
check.rmsprop_warm_up_steps(your_answer, alpha=0.9, fraction=0.99)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# v_t = (1 - 0.9^t) g^2 >= 0.99 g^2 once 0.9^t <= 0.01, i.e. t >= log(0.01) / log(0.9) = 43.7.
solution = math.ceil(math.log(0.01) / math.log(0.9))
check.rmsprop_warm_up_steps(solution, alpha=0.9, fraction=0.99)

# %% [markdown]
# **Exercise 3.** How large is AdaDelta's very first step for a gradient $g = 1$ with PyTorch's
# defaults ($\rho = 0.9$, $\epsilon = 10^{-6}$, $\eta = 1$)?

# %%
your_answer = None
check.adadelta_first_step(your_answer, gradient=1.0, rho=0.9, eps=1e-6)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# E[g^2] = 0.1 and E[Delta^2] = 0, so Delta = sqrt(1e-6) / sqrt(0.1 + 1e-6) * 1.
solution = math.sqrt(1e-6) / math.sqrt(0.1 + 1e-6)
check.adadelta_first_step(solution, gradient=1.0, rho=0.9, eps=1e-6)

# %% [markdown]
# **Exercise 4 (open).** Re-run the rare-features experiment with the frequent half of the
# features scaled up by a factor of 10. Which optimizers are hurt, and why is AdaGrad not?
#
# ## Summary
#
# * AdaGrad divides each coordinate's step by the root of its summed squared gradients: rare or
#   small-gradient coordinates get large rates, and every rate shrinks like $1/\sqrt t$.
# * RMSprop and AdaDelta use running averages instead, so the rates recover when gradients shrink;
#   RMSprop's first steps overshoot by $1/\sqrt{1-\alpha^t}$ (the bias Adam corrects), and AdaDelta
#   needs no learning rate but starts with steps of size $\sqrt{\epsilon/(1-\rho)} \approx 3\sqrt\epsilon$.
# * AdaGrad is a diagonal preconditioner, $\operatorname{diag}(G_t)^{-1/2}$ with $G_t = \sum g g^\top$:
#   it equalises the curvatures of a valley aligned with the axes and cannot help a rotated one,
#   which full-matrix AdaGrad, at $d^2$ memory, handles.
# * Compare optimizers each with its own learning rate, tuned on a grid whose best point is inside
#   it (the code asserts it) and chosen on validation data. Tuned so, AdaGrad wins the
#   rare-features problem on every seed; AdaGrad and RMSprop escape the saddle two to four times
#   sooner than SGD (which escapes too) and solve the axis-aligned quadratic in a few steps;
#   momentum wins on Beale's surface; on Rosenbrock's and Himmelblau's the winner changes with the
#   start. No optimizer wins everywhere.
# * The same name can hide different definitions: $\epsilon$ inside or outside the root, the
#   learning rate inside or outside the velocity, dampening, and defaults that differ by a factor
#   of a thousand.
#
# ## References
#
# {cite}`ranjan2018efficient` (section II-A), {cite}`ruder2016overview`, {cite}`duchi2011adaptive`
# (AdaGrad, full-matrix and diagonal), {cite}`tieleman2012rmsprop,hinton2012lecture6e` (RMSprop), {cite}`zeiler2012adadelta` (AdaDelta),
# {cite}`kingma2015adam` (bias correction, chapter 4); the libraries compared:
# {cite}`paszke2019pytorch,chollet2015keras,jia2014caffe,dieleman2015lasagne,theano2016theano`.
