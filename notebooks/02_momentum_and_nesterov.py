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
# # 2. Momentum and Nesterov
#
# Chapter 0 showed gradient descent with momentum needing a twentieth of the steps of plain
# gradient descent on an ill-conditioned quadratic. The review describes momentum as an
# exponentially weighted average of the gradients that damps oscillations and speeds up
# convergence {cite}`ranjan2018efficient,ruder2016overview`. This chapter makes both halves of
# that sentence precise: it checks the averaging numerically, then derives the convergence rate
# of momentum on a quadratic in closed form, compares it with the measured rate, and reads the
# best step size and momentum off the condition number
# {cite}`polyak1964some,goh2017momentum`. Nesterov's variant {cite}`nesterov1983method` follows,
# in Sutskever et al.'s form {cite}`sutskever2013importance`, which PyTorch reparameterises, with
# the tuning and the guarantee of Nesterov's textbook {cite}`nesterov2004introductory`.
#
# **Learning objectives.** After this chapter you can
#
# 1. write SGD's momentum buffer as a weighted sum of past gradients and say what it does to the
#    mean and the noise of the step;
# 2. show that PyTorch's momentum update is Polyak's heavy-ball method at a constant learning
#    rate, and what changes when the learning rate changes;
# 3. compute the convergence rate of gradient descent and of momentum on a quadratic from a
#    $2 \times 2$ matrix, and the best step size and momentum from the condition number $\kappa$;
# 4. explain Nesterov's look-ahead, and why PyTorch's formula, which never evaluates a gradient
#    at a look-ahead point, is the same method;
# 5. tell what momentum does beyond lengthening the step, by comparing methods at an equal
#    effective step $\eta/(1-\mu)$.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from effdnn_lib.exercises import ch02 as check
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.optim import SGD
from effdnn_lib.optim.sgd import sgd_update
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.surfaces import SURFACES, IllConditionedQuadratic, Rosenbrock, optimize, plot_contours
from effdnn_lib.widgets import Choice, explorer

setup(seed=0, threads=1)

# %% [markdown]
# The experiments here run on two-dimensional surfaces, where a GPU has nothing to offer: this
# chapter stays on the CPU.
#
# ## Momentum averages the gradients
#
# With momentum $\mu$ (and no dampening), SGD keeps a buffer $b$ and steps along it:
#
# $$
# b_t = \mu\, b_{t-1} + g_t, \qquad \theta_t = \theta_{t-1} - \eta\, b_t .
# $$
#
# Unrolling the recursion from $b_0 = 0$ gives $b_t = \sum_{k=1}^{t} \mu^{t-k} g_k$: every past
# gradient still counts, with a weight that shrinks by $\mu$ per step, so the last
# $\approx 1/(1-\mu)$ gradients dominate. Two consequences follow directly:
#
# * if the gradient is constant, $b_t = g\,(1-\mu^t)/(1-\mu) \to g/(1-\mu)$: along a consistent
#   direction the step grows up to $1/(1-\mu)$ times, ten times for $\mu = 0.9$;
# * if the gradients are noisy, $(1-\mu)\, b_t$ is their exponentially weighted average: its mean
#   is the mean gradient and, for independent noise of spread $\sigma$, its spread shrinks to
#   $\sigma\sqrt{(1-\mu)/(1+\mu)}$.
#
# The course's SGD (a drop-in replacement for `torch.optim.SGD`) does exactly this; the buffer
# lines are in the middle:

# %%
show_source(sgd_update)

# %% [markdown]
# Both predictions, checked on the optimizer itself. First a constant gradient $g = 1$ with
# $\mu = 0.9$; then noisy gradients $g = 1 + \text{noise}$ ($\sigma = 1$) fed to 2,000 independent
# coordinates for 1,000 steps, so that the spread can be measured across coordinates:

# %%
theta = torch.zeros(1, dtype=torch.float64)
optimizer = SGD([theta], lr=0.0, momentum=0.9)
print(f"{'step t':>6} {'buffer b_t':>11} {'(1 - 0.9^t) / 0.1':>18}")
for t in range(1, 51):
    theta.grad = torch.ones(1, dtype=torch.float64)
    optimizer.step()
    if t in (1, 2, 5, 10, 50):
        print(f"{t:>6} {optimizer.state[theta]['momentum_buffer'].item():>11.6f} {(1 - 0.9**t) / 0.1:>18.6f}")

generator = torch.Generator().manual_seed(0)
print(f"\n{'mu':>5} {'mean of (1-mu) b':>17} {'spread':>7} {'predicted spread':>17}")
for mu in (0.5, 0.9, 0.99):
    theta = torch.zeros(2000, dtype=torch.float64)
    optimizer = SGD([theta], lr=0.0, momentum=mu)
    for _ in range(1000):
        theta.grad = 1 + torch.randn(2000, generator=generator, dtype=torch.float64)
        optimizer.step()
    average = (1 - mu) * optimizer.state[theta]["momentum_buffer"]
    print(f"{mu:>5} {average.mean().item():>17.4f} {average.std().item():>7.4f} {math.sqrt((1 - mu) / (1 + mu)):>17.4f}")

# %% [markdown]
# The buffer matches the closed form to every printed digit. The averaged gradient keeps the mean
# (1.00 to 1.01) while its noise falls to 0.59, 0.23 and 0.07 of the raw noise, close to
# the predicted 0.58, 0.23 and 0.07.
#
# ### The heavy ball
#
# Subtract two consecutive updates: $\theta_t - \theta_{t-1} = -\eta b_t = \mu(-\eta b_{t-1}) -
# \eta g_t$, that is
#
# $$
# \theta_{t+1} = \theta_t - \eta\,\nabla f(\theta_t) + \mu\,(\theta_t - \theta_{t-1}).
# $$
#
# This is Polyak's *heavy-ball* method {cite}`polyak1964some`: a ball rolling in the landscape
# keeps a fraction $\mu$ of its previous displacement. Run both forms on the Rosenbrock surface and
# compare the paths:

# %%
rosenbrock = Rosenbrock()
lr, mu, steps = 1e-3, 0.9, 300
run = optimize(rosenbrock, lambda p: SGD(p, lr=lr, momentum=mu), n_steps=steps)

previous = current = torch.tensor(rosenbrock.start, dtype=torch.float64)
heavy_ball = [current]
for _ in range(steps):
    previous, current = current, current - lr * rosenbrock.grad(current) + mu * (current - previous)
    heavy_ball.append(current)
gap = (run.points - torch.stack(heavy_ball)).abs().max().item()
print(f"SGD(momentum=0.9) and the heavy-ball recursion agree to 1e-12 over {steps} steps: {gap < 1e-12}")

# %% [markdown]
# The subtraction used one $\eta$ for both updates. With a schedule, PyTorch multiplies the whole
# buffer by the learning rate *of the current step*, $\theta_t = \theta_{t-1} - \eta_t b_t$, and
# the same subtraction gives
#
# $$
# \theta_{t+1} = \theta_t - \eta_t\,\nabla f(\theta_t) + \mu\,\frac{\eta_t}{\eta_{t-1}}\,(\theta_t - \theta_{t-1}):
# $$
#
# a heavy ball whose momentum on the displacement is $\mu\,\eta_t/\eta_{t-1}$, not $\mu$. When the
# learning rate drops tenfold, the displacement built up so far is cut tenfold at once; in the
# heavy ball (and in Sutskever et al.'s form, where $\eta$ multiplies only the new gradient) it
# keeps its full weight and fades at the rate $\mu$. PyTorch's momentum is the heavy ball only at
# a constant learning rate. A check with the step size cut from $10^{-3}$ to $10^{-4}$ after 150
# steps:

# %%
def lr_at(t):
    return 1e-3 if t < 150 else 1e-4


theta = torch.tensor(rosenbrock.start, dtype=torch.float64)
optimizer = SGD([theta], lr=lr_at(0), momentum=mu)
pytorch_form = [theta.clone()]
for t in range(steps):
    optimizer.param_groups[0]["lr"] = lr_at(t)
    theta.grad = rosenbrock.grad(theta)
    optimizer.step()
    pytorch_form.append(theta.clone())
pytorch_form = torch.stack(pytorch_form)


def heavy_ball_path(momentum_of_step):
    """theta_{t+1} = theta_t - lr_t grad f(theta_t) + momentum_of_step(t) (theta_t - theta_{t-1})."""
    previous = current = torch.tensor(rosenbrock.start, dtype=torch.float64)
    path = [current]
    for t in range(steps):
        previous, current = current, current - lr_at(t) * rosenbrock.grad(current) + momentum_of_step(t) * (current - previous)
        path.append(current)
    return torch.stack(path)


fixed = (pytorch_form - heavy_ball_path(lambda t: mu)).abs().max().item()
rescaled = (pytorch_form - heavy_ball_path(lambda t: mu * lr_at(t) / lr_at(t - 1) if t > 0 else mu)).abs().max().item()
print(f"with the schedule: heavy ball with momentum mu agrees to 1e-12: {fixed < 1e-12} (largest gap {fixed:.3g})")
print(f"with the schedule: heavy ball with momentum mu * lr_t / lr_(t-1) agrees to 1e-12: {rescaled < 1e-12}")

# %% [markdown]
# ## Why momentum helps: the quadratic, exactly
#
# On the quadratic $f(\theta) = \tfrac12 \sum_i h_i \theta_i^2$ each coordinate moves on its own,
# with gradient $h_i \theta_i$. For one curvature $h$ the heavy ball is a linear recursion in two
# consecutive iterates:
#
# $$
# \begin{pmatrix}\theta_{t+1}\\ \theta_t\end{pmatrix} = M(h)\begin{pmatrix}\theta_t\\ \theta_{t-1}\end{pmatrix},
# \qquad M(h) = \begin{pmatrix} 1 + \mu - \eta h & -\mu \\ 1 & 0 \end{pmatrix}.
# $$
#
# After many steps the error shrinks by the **spectral radius** $\rho(M(h))$, the largest
# eigenvalue modulus, per step. The method converges as fast as its slowest coordinate, so its
# rate is $\rho = \max_h \rho(M(h))$, over the curvatures from the smallest, $h_{\min}$, to the
# largest, $L$ ($\mu$ is the momentum here). Three facts follow from the
# eigenvalues of $M$:
#
# * **gradient descent** ($\mu = 0$) has $\rho = \max(|1 - \eta h_{\min}|, |1 - \eta L|)$, best at
#   $\eta = 2/(h_{\min} + L)$, where $\rho = (\kappa - 1)/(\kappa + 1)$ with $\kappa = L/h_{\min}$;
# * when $(1 + \mu - \eta h)^2 < 4\mu$ the eigenvalues are complex, the coordinate oscillates, and
#   its rate is exactly $\sqrt{\mu}$, whatever $h$;
# * **the best heavy ball** puts both extreme curvatures at the edge of that oscillating regime:
#   $\eta = 4/(\sqrt{L} + \sqrt{h_{\min}})^2$ and $\mu = \big((\sqrt\kappa - 1)/(\sqrt\kappa + 1)\big)^2$, with
#   $\rho = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$ {cite}`polyak1964some,goh2017momentum`.
#
# The difference is $\kappa$ against $\sqrt\kappa$: at $\kappa = 100$, gradient descent removes
# about 2 % of the error per step and the heavy ball about 18 %. In code, the predicted rate is
# one eigenvalue computation per curvature; the measured rate is the slope of $\log\lVert\theta_t
# \rVert$ over the second half of a long run of the course's `SGD`:

# %%
def iteration_matrix(lr, momentum, h, nesterov=False):
    """M(h): maps (theta_t, theta_{t-1}) to (theta_{t+1}, theta_t) on a quadratic with curvature h."""
    if nesterov:
        return np.array([[(1 + momentum) * (1 - lr * h), -momentum * (1 - lr * h)], [1.0, 0.0]])
    return np.array([[1 + momentum - lr * h, -momentum], [1.0, 0.0]])


def predicted_rate(lr, momentum, curvatures, nesterov=False):
    """The slowest coordinate's factor per step: max over curvatures of M(h)'s spectral radius."""
    return max(np.abs(np.linalg.eigvals(iteration_matrix(lr, momentum, h, nesterov))).max() for h in curvatures)


def measured_rate(quadratic, lr, momentum, nesterov=False, max_steps=3000):
    """exp(slope) of log ||theta_t|| over the second half of a run, stopped before underflow."""
    run = optimize(quadratic, lambda p: SGD(p, lr=lr, momentum=momentum, nesterov=nesterov), start=(1.0, 1.0), n_steps=max_steps)
    norms = run.points.norm(dim=1).numpy()
    norms = norms[: max(10, int(np.argmax(norms < 1e-280)) or len(norms))]
    t = np.arange(len(norms))
    half = len(norms) // 2
    slope = np.polyfit(t[half:], np.log(norms[half:]), 1)[0]
    steps_to_1e6 = int(np.argmax(norms < 1e-6 * norms[0])) if (norms < 1e-6 * norms[0]).any() else None
    return math.exp(slope), steps_to_1e6


def tunings(q):
    """The classic best-constant settings (lr, momentum, nesterov) for a quadratic q.

    (q.mu is the smallest curvature, h_min in the text; q.L the largest.)
    """
    sk = math.sqrt(q.kappa)
    return {
        "gradient descent": (2 / (q.mu + q.L), 0.0, False),
        "heavy ball": (4 / (math.sqrt(q.L) + math.sqrt(q.mu)) ** 2, ((sk - 1) / (sk + 1)) ** 2, False),
        "Nesterov": (1 / q.L, (sk - 1) / (sk + 1), True),
    }


rates = {}
print(f"{'kappa':>6} {'method':>17} {'lr':>8} {'momentum':>9} {'predicted rate':>15} {'measured':>9} {'steps to 1e-6':>14}")
for kappa in (10, 100, 1000):
    q = IllConditionedQuadratic(kappa)
    for name, (lr_q, mu_q, _) in tunings(q).items():
        if name == "Nesterov":
            continue  # after the next section
        predicted = predicted_rate(lr_q, mu_q, q.curvatures.tolist())
        measured, steps_to_1e6 = measured_rate(q, lr_q, mu_q)
        rates[(kappa, name)] = (predicted, measured, steps_to_1e6)
        print(f"{kappa:>6} {name:>17} {lr_q:>8.5f} {mu_q:>9.4f} {predicted:>15.5f} {measured:>9.5f} {str(steps_to_1e6):>14}")

# %% [markdown]
# Prediction and measurement agree: to every printed digit for gradient descent, and to within
# 0.002 for the heavy ball, whose measured rates are slightly worse than predicted. That gap is real and
# expected: at the best tuning the two eigenvalues of $M$ coincide, and then the error behaves
# like $t\,\rho^t$ rather than $\rho^t$; the factor $t$ tilts the fitted slope a little, more so
# for short runs (the $\kappa = 10$ run is stopped at $10^{-280}$, which at its rate takes about a
# thousand steps). The step counts tell the practical story: at $\kappa = 1000$ the heavy ball
# reaches $10^{-6}$ in a few hundred steps, while gradient descent has not got there within the
# 3,000 steps of the run.
#
# Is the textbook tuning really the best? A grid search over the step size and the momentum for
# $\kappa = 100$, on the predicted rate:

# %% mystnb={"image": {"alt": "Heat map of the predicted rate of the heavy ball on the quadratic with condition number 100, over the step size (0 to 0.06) and the momentum (0 to 0.9), lower is faster. The fast region is a narrow ridge rising to the right; the star marking the formula's optimum sits on its edge, at a step size beyond the dashed line of the best gradient-descent step."}}
q100 = IllConditionedQuadratic(100)
lr_grid = np.linspace(0.002, 0.06, 146)
mu_grid = np.linspace(0.0, 0.98, 99)


def rate_grid(curvatures, lrs, mus):
    """Predicted heavy-ball rates on a grid, from the closed-form roots of the 2x2 characteristic polynomial."""
    LR, MU = np.meshgrid(lrs, mus)
    worst = np.zeros_like(LR)
    for h in curvatures:
        a = 1 + MU - LR * h  # the eigenvalues solve z^2 - a z + mu = 0
        root = np.sqrt(a.astype(complex) ** 2 - 4 * MU)
        worst = np.maximum(worst, np.maximum(np.abs((a + root) / 2), np.abs((a - root) / 2)))
    return worst


grid = rate_grid(q100.curvatures.tolist(), lr_grid, mu_grid)
i, j = np.unravel_index(np.argmin(grid), grid.shape)
best_lr, best_mu, _ = tunings(q100)["heavy ball"]
print(f"grid minimum: lr = {lr_grid[j]:.4f}, momentum = {mu_grid[i]:.2f}, rate {grid[i, j]:.4f}")
print(f"formula:      lr = {best_lr:.4f}, momentum = {best_mu:.2f}, rate {predicted_rate(best_lr, best_mu, [1, 100]):.4f}")

fig, ax = plt.subplots(figsize=FIGSIZE)
image = ax.pcolormesh(lr_grid, mu_grid, np.minimum(grid, 1.0), cmap="viridis_r", shading="auto")
rate_lines = ax.contour(lr_grid, mu_grid, grid, levels=[0.85, 0.9, 0.95, 0.99], colors="white", linewidths=0.7)
ax.clabel(rate_lines, inline=True, fontsize=7, fmt=lambda rate: f"{rate:g}")
ax.plot(best_lr, best_mu, marker="*", color=PALETTE["vermillion"], markersize=14, label="formula's optimum")
ax.axvline(2 / (q100.mu + q100.L), color=PALETTE["orange"], ls="--", lw=1, label="best gradient-descent step")
fig.colorbar(image, ax=ax, label="rate (capped at 1)")
ax.set(xlabel="step size lr", ylabel="momentum", title=r"Predicted rate, $\kappa$ = 100 (lower is faster)")
ax.legend(loc="lower left", fontsize=8)
plt.show()

# %% [markdown]
# (The white lines are labelled with the rate they trace.) The grid's best point lies within one
# grid cell of the formula's optimum, which is better still
# (0.8182 against the grid's 0.8246: the optimum is a sharp corner between grid points). The
# picture shows its shape: the fast region is a narrow ridge. With momentum the best step size is larger than gradient descent could ever
# use (its limit is $2/L = 0.02$; momentum stays stable up to $2(1+\mu)/L$), and too much
# momentum is as bad as too little: above the ridge the rate is $\sqrt\mu$, ever closer to 1.
#
# ## Nesterov's look-ahead
#
# The heavy ball computes the gradient where the ball *is*, then adds momentum. Nesterov's
# accelerated gradient {cite}`nesterov1983method` first moves with the momentum and evaluates
# the gradient *there*, so a step that is about to overshoot is corrected before it is taken.
# In the form of Sutskever et al. {cite}`sutskever2013importance`:
#
# $$
# v_{t+1} = \mu\, v_t - \eta\, \nabla f(\theta_t + \mu v_t), \qquad \theta_{t+1} = \theta_t + v_{t+1}.
# $$
#
# PyTorch's `nesterov=True` looks different: it never evaluates a gradient anywhere but at its own
# parameters, and steps along $g_t + \mu b_t$ instead of $b_t$. The two are the same method with
# a change of variable: PyTorch's parameters are the *look-ahead point*
# $\phi_t = \theta_t + \mu v_t$ (substituting $v_t = -\eta b_t$ into the recursion above gives
# $\phi_{t+1} = \phi_t - \eta\,(g_{t+1} + \mu b_{t+1})$ with $g_{t+1} = \nabla f(\phi_t)$). A
# numerical check on the Rosenbrock surface:

# %%
run = optimize(rosenbrock, lambda p: SGD(p, lr=lr, momentum=mu, nesterov=True), n_steps=steps)
theta = torch.tensor(rosenbrock.start, dtype=torch.float64)
v = torch.zeros(2, dtype=torch.float64)
look_ahead = [theta + mu * v]
for _ in range(steps):
    v = mu * v - lr * rosenbrock.grad(theta + mu * v)
    theta = theta + v
    look_ahead.append(theta + mu * v)
gap = (run.points - torch.stack(look_ahead)).abs().max().item()
print(f"SGD(nesterov=True) follows theta + mu * v of the look-ahead form to 1e-12 over {steps} steps: {gap < 1e-12}")

# %% [markdown]
# On the quadratic, Nesterov's method is again a linear recursion: with $y_t = \theta_t +
# \mu(\theta_t - \theta_{t-1})$ and $\theta_{t+1} = y_t - \eta h y_t$, the matrix is
# $\begin{pmatrix}(1+\mu)(1-\eta h) & -\mu(1-\eta h)\\ 1 & 0\end{pmatrix}$. Its classic tuning for
# strongly convex functions, $\eta = 1/L$ and $\mu = (\sqrt L - \sqrt{h_{\min}})/(\sqrt L +
# \sqrt{h_{\min}}) = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$, is the constant-step scheme of Nesterov's
# textbook {cite}`nesterov2004introductory` (section 2.2); on a quadratic it gives
# $\rho = 1 - 1/\sqrt\kappa$: the same $\sqrt\kappa$ scaling as the heavy ball, with a somewhat
# larger constant.

# %%
print(f"{'kappa':>6} {'method':>17} {'lr':>8} {'momentum':>9} {'predicted rate':>15} {'measured':>9} {'steps to 1e-6':>14} {'1 - 1/sqrt(kappa)':>18}")
for kappa in (10, 100, 1000):
    q = IllConditionedQuadratic(kappa)
    lr_n, mu_n, _ = tunings(q)["Nesterov"]
    predicted = predicted_rate(lr_n, mu_n, q.curvatures.tolist(), nesterov=True)
    measured, steps_n = measured_rate(q, lr_n, mu_n, nesterov=True)
    rates[(kappa, "Nesterov")] = (predicted, measured, steps_n)
    print(f"{kappa:>6} {'Nesterov':>17} {lr_n:>8.5f} {mu_n:>9.4f} {predicted:>15.5f} {measured:>9.5f} {str(steps_n):>14} {1 - 1 / math.sqrt(kappa):>18.5f}")

# %% [markdown]
# The predicted rates equal $1 - 1/\sqrt\kappa$ and the measured ones follow (again slightly
# slower, for the same double-eigenvalue reason). Against the best heavy ball, Nesterov with this
# tuning needs more steps on a quadratic (42, 154 and 507 against 27, 93 and 315), but far fewer
# than gradient descent (69, 691, and more than 3,000).
#
# ### Off the quadratic: a guarantee, and a counterexample
#
# Nesterov's advantage is robustness. His textbook proves that with this tuning the gap
# $f(\theta_t) - f^*$ shrinks like $(1 - 1/\sqrt\kappa)^t$ (times a constant set by the start) on
# *every* smooth, strongly convex function whose curvature lies between $h_{\min}$ and $L$, not
# just on quadratics {cite}`nesterov2004introductory`. The heavy ball has no such guarantee: its
# tuning comes from the quadratic alone, and Lessard, Recht and Packard {cite}`lessard2016analysis`
# give a one-dimensional convex function with curvature between 1 and 25 on which the heavy ball,
# tuned for $\kappa = 25$, does not converge. Its gradient is $25\theta$ below 1, $\theta + 24$
# between 1 and 2, and $25\theta - 24$ above (three quadratic pieces joined smoothly, minimum at 0).
# Both methods, with their textbook tunings for $h_{\min} = 1$ and $L = 25$, from $\theta = 3.3$:

# %%
def piecewise_gradient(theta):
    """Gradient of Lessard, Recht & Packard's counterexample: curvature 25, then 1, then 25."""
    return 25 * theta if theta < 1 else (theta + 24 if theta < 2 else 25 * theta - 24)


L_pw, h_pw = 25.0, 1.0
sk = math.sqrt(L_pw / h_pw)
lr_hb, mu_hb = 4 / (math.sqrt(L_pw) + math.sqrt(h_pw)) ** 2, ((sk - 1) / (sk + 1)) ** 2  # the quadratic-optimal heavy ball
lr_nag, mu_nag = 1 / L_pw, (sk - 1) / (sk + 1)  # Nesterov's constant-step scheme
theta_hb = previous_hb = theta_nag = previous_nag = 3.3
hb_path = []
for t in range(1006):
    previous_hb, theta_hb = theta_hb, theta_hb - lr_hb * piecewise_gradient(theta_hb) + mu_hb * (theta_hb - previous_hb)
    look_ahead_point = theta_nag + mu_nag * (theta_nag - previous_nag)
    previous_nag, theta_nag = theta_nag, look_ahead_point - lr_nag * piecewise_gradient(look_ahead_point)
    hb_path.append(theta_hb)
print(f"heavy ball (lr = {lr_hb:.4f}, momentum = {mu_hb:.4f}), steps 1001 to 1006: " + ", ".join(f"{x:.4f}" for x in hb_path[-6:]))
print(f"Nesterov (lr = {lr_nag:.4f}, momentum = {mu_nag:.4f}): |theta| after 1006 steps below 1e-12: {abs(theta_nag) < 1e-12}")

# %% [markdown]
# After a thousand steps the heavy ball still circles through the same three points (2.1159,
# 0.6465, -1.8024, and again), a cycle of period three that it never leaves; Nesterov's method, on
# the same function from the same start, has converged. On quadratics
# the heavy ball is the faster of the two; on everything else, only Nesterov's rate is guaranteed.
#
# ## Trajectories on the test surfaces
#
# Off the quadratic there are no closed forms, but the same mechanics show. On each surface the
# three methods run 300 steps from the surface's customary start with the *same* step size
# ($10^{-3}$, or $10^{-2}$ on the gentle saddle), and momentum 0.9 where they have one:

# %% mystnb={"image": {"alt": "Paths of 300 steps on two contour plots. Left, the Rosenbrock valley: gradient descent (wide blue line) ends close to its start, while momentum 0.9 and Nesterov 0.9 (thin orange and green lines) follow the curved floor of the valley to near its minimum at (1, 1). Right, the saddle: started near the ridge y = 0, gradient descent stops at the saddle point, and the Nesterov path turns off the ridge to the minimum at (0, 1)."}}
methods = {"gradient descent": dict(momentum=0.0), "momentum 0.9": dict(momentum=0.9), "Nesterov 0.9": dict(momentum=0.9, nesterov=True)}
colours = dict(zip(methods, (PALETTE["blue"], PALETTE["orange"], PALETTE["green"])))
surface_runs = {}
print(f"{'surface':>11} " + " ".join(f"{m:>24}" for m in methods))
step_sizes = {"rosenbrock": 1e-3, "beale": 1e-3, "saddle": 1e-2, "himmelblau": 1e-3}
for name, step_size in step_sizes.items():
    s = SURFACES[name]
    row = []
    for method, options in methods.items():
        r = optimize(s, lambda p: SGD(p, lr=step_size, **options), n_steps=300)
        surface_runs[(name, method)] = r
        gap = r.values[-1].item() - s.min_value  # below 1e-10 the digits are float64 rounding's, not the method's
        row.append(r.message[:24] if r.diverged else ("f - f* < 1e-10" if gap < 1e-10 else f"f - f* = {gap:.2e}"))
    print(f"{name:>11} " + " ".join(f"{cell:>24}" for cell in row))

fig, axes = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
for ax, name in zip(axes, ("rosenbrock", "saddle")):
    plot_contours(ax, SURFACES[name], label_every=4)  # every fourth line labelled with its f - f*
    for method, width in zip(methods, (3.5, 1.2, 1.2)):  # gradient descent drawn wide, underneath
        pts = surface_runs[(name, method)].points
        ax.plot(pts[:, 0], pts[:, 1], color=colours[method], lw=width, label=method)
        ax.plot(*pts[-1], marker="s", color=colours[method], markersize=5)
    ax.plot(*SURFACES[name].start, marker="o", color="black", markersize=4)
axes[0].legend(loc="lower right", fontsize=8)
plt.show()

# %% [markdown]
# On the Rosenbrock valley plain gradient descent is still crawling along the valley floor after
# 300 steps ($f - f^* = 5.05$; squares mark where each run ends), while both momentum methods have
# swung down into the valley and followed it most of the way to the minimum at $(1, 1)$ ($0.034$
# and $0.011$). On the saddle surface, started just off the ridge $y = 0$, gradient
# descent slides to the saddle point and stalls there: $f - f^* = 0.254$ means $f \approx 0$, the
# saddle's value, because the gradient nearly vanishes and the escape along $y$ starts from
# $y = 10^{-3}$. With momentum the ball keeps rolling and reaches a minimum at $(0, \pm 1)$. On
# Beale's surface momentum gains two orders of magnitude; on Himmelblau's function, started in a
# wide, well-conditioned basin, all three converge to $(3, 2)$ and momentum only polishes digits. (A gap below $10^{-10}$ is
# printed as such: its digits would be those of float64 rounding, which differ between CPUs. The
# numbers on the contour lines are their values of $f - f^*$.)
#
# ### The same comparison at an equal effective step
#
# The comparison above gives every method the same $\eta$, but along a direction where the
# gradient changes slowly, momentum multiplies the step by $1/(1-\mu)$, ten for $\mu = 0.9$: part
# of its lead may just be a longer step. Two ways to equalise the *effective* step
# $\eta/(1-\mu)$: gradient descent with ten times the step, and the momentum methods with a tenth
# of it.

# %%
effective = {
    "GD at lr / (1 - 0.9)": lambda step_size: dict(lr=step_size / (1 - 0.9)),
    "momentum at lr (1 - 0.9)": lambda step_size: dict(lr=step_size * (1 - 0.9), momentum=0.9),
    "Nesterov at lr (1 - 0.9)": lambda step_size: dict(lr=step_size * (1 - 0.9), momentum=0.9, nesterov=True),
}
print(f"{'surface':>11} " + " ".join(f"{m:>26}" for m in effective))
for name, step_size in step_sizes.items():
    s = SURFACES[name]
    row = []
    for method, options in effective.items():
        r = optimize(s, lambda p: SGD(p, **options(step_size)), n_steps=300)
        gap = r.values[-1].item() - s.min_value
        row.append(r.message[:26] if r.diverged else ("f - f* < 1e-10" if gap < 1e-10 else f"f - f* = {gap:.2e}"))
    print(f"{name:>11} " + " ".join(f"{cell:>26}" for cell in row))

# %% [markdown]
# Read the two tables together. At a tenth of the step, momentum and Nesterov end close to where
# gradient descent ends at the full step on the Rosenbrock surface (5.06 and 5.08 against 5.05)
# and on the saddle (0.252 and 0.253 against 0.254), somewhat behind it on Beale's surface (0.712
# and 0.700 against 0.624), and ahead of it on Himmelblau's ($2.08 \times 10^{-8}$ and
# $1.15 \times 10^{-7}$ against $5.01 \times 10^{-6}$). Conversely, gradient descent given the full
# effective step matches momentum on Beale's surface (0.00747 against 0.00701), on the saddle and
# on Himmelblau's function (both below $10^{-10}$). On the gentle surfaces, then, most of what
# momentum gained in the first table is the longer step. The exception is the one that matters: on the Rosenbrock valley gradient
# descent *cannot* take the longer step. Its steep walls make ten times $10^{-3}$ unstable, and the
# run diverges within a few steps, while momentum at $10^{-3}$ travels with the long effective
# step along the gently sloping floor and keeps the short one across the steep walls, where the
# gradient changes sign from step to step and the buffer averages it away. That is the
# ill-conditioned case the quadratic analysis was about: the largest stable step is set by the
# steepest curvature, the progress by the flattest.
#
# ## Explore: step size and momentum
#
# Pick a condition number, a step size (as a multiple of $1/L$) and a momentum. The left panel
# shows the first 60 steps on the quadratic; the right panel the distance to the minimum over 300
# steps (log scale) against the predicted rate $\rho^t$. On the website the controls switch between
# views precomputed for $\kappa = 100$; run the notebook for continuous sliders and the other
# condition numbers. Things to try:
#
# * With momentum 0, step from lr × L = 1.9 to 2.1: gradient descent crosses its $2/L$ limit and
#   the distance grows instead of shrinking.
# * Keep lr × L = 2.1 and raise the momentum to 0.67: the same step converges again. The heavy
#   ball's limit is $2(1+\mu)/L$, not $2/L$.
# * At the best setting (lr × L = 3.3, momentum 0.67), raise the momentum to 0.9: the path spirals
#   and the rate gets worse. That is the ridge of the heat map above, crossed from below.
# * Switch Nesterov on at each setting and compare the predicted $\rho$ in the legend.

# %% output_varies="widget" tags=["nbval-ignore-output"]
def explore(kappa=100, lr_times_L=3.3, momentum=0.67, nesterov=False):
    q = IllConditionedQuadratic(kappa)
    q.bounds = ((-1.5, 1.5), (-3.0, 3.0))  # room for the first swings along the steep axis
    lr = lr_times_L / q.L
    rho = predicted_rate(lr, momentum, q.curvatures.tolist(), nesterov)
    r = optimize(q, lambda p: SGD(p, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0), start=(1.0, 1.0), n_steps=300)
    fig, (ax_path, ax_rate) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
    plot_contours(ax_path, q, label_every=4)
    pts = r.points[: 60 + 1]  # the first 60 steps
    ax_path.plot(pts[:, 0], pts[:, 1], marker=".", markersize=3, color=PALETTE["vermillion"], lw=1)
    norms = r.points.norm(dim=1)
    ax_rate.semilogy(range(len(norms)), norms, color=PALETTE["blue"], label="measured distance")
    ax_rate.semilogy(range(len(norms)), norms[0].item() * rho ** np.arange(len(norms)), color=PALETTE["black"], ls="--", label=rf"predicted $\rho^t$, $\rho$ = {rho:.4f}")
    ax_rate.set(xlabel="step t", ylabel=r"$\|\theta_t\|$", title="distance to the minimum")
    ax_rate.legend(fontsize=8)
    if rho >= 1:
        print(f"Predicted to diverge: the rate {rho:.4f} is not below 1.")
    if r.diverged:
        print(r.message)
    return fig


explorer(
    explore,
    alt=lambda kappa, lr_times_L, momentum, nesterov: (
        f"Left: the first 60 steps of SGD with lr x L = {lr_times_L:g}, momentum {momentum:g}"
        f"{' (Nesterov)' if nesterov else ''} on the quadratic with condition number {kappa}. "
        f"Right: its distance to the minimum over 300 steps against the predicted rate."),
    kappa=Choice([100], 100, "kappa", live=widgets.Dropdown(options=[10, 100, 1000], value=100, description="kappa")),
    lr_times_L=Choice([1.9, 2.1, 3.3], 3.3, "lr x L",
                      live=widgets.FloatSlider(value=3.3, min=0.05, max=4.0, step=0.05, description="lr x L", continuous_update=False)),
    momentum=Choice([0.0, 0.67, 0.9], 0.67, "momentum",
                    live=widgets.FloatSlider(value=0.67, min=0.0, max=0.99, step=0.01, description="momentum", continuous_update=False)),
    nesterov=Choice([False, True], False, "Nesterov", live=widgets.Checkbox(value=False, description="Nesterov")),
)

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** SGD with momentum $\mu = 0.8$ receives the same gradient, $g = 2$, at every step.
# What value does its momentum buffer settle at?

# %%
your_answer = None  # replace with your number
check.buffer_steady_state(your_answer, gradient=2.0, momentum=0.8)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The fixed point of b = mu * b + g is b = g / (1 - mu).
solution = 2.0 / (1 - 0.8)
check.buffer_steady_state(solution, gradient=2.0, momentum=0.8)

# %% [markdown]
# **Exercise 2.** What convergence rate does the best-tuned heavy ball reach on a quadratic with
# condition number $\kappa = 400$? (Compare with gradient descent's $(\kappa-1)/(\kappa+1)$.)

# %%
your_answer = None
check.optimal_heavy_ball_rate(your_answer, condition_number=400)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# (sqrt(kappa) - 1) / (sqrt(kappa) + 1) = 19 / 21, against 399 / 401 for gradient descent.
solution = (math.sqrt(400) - 1) / (math.sqrt(400) + 1)
check.optimal_heavy_ball_rate(solution, condition_number=400)

# %% [markdown]
# **Exercise 3.** Gradient descent with its best constant step size runs on the quadratic with
# $\kappa = 100$ from $(1, 1)$. After how many steps is the distance to the minimum below a
# millionth of the starting distance for the first time?

# %%
your_answer = None
check.gd_steps_to_shrink(your_answer, condition_number=100, factor=1e-6)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# With lr = 2 / (1 + kappa) both coordinates shrink by exactly rho = 99/101 per step,
# so the distance is rho**t times the start; the first t with rho**t < 1e-6:
solution = math.ceil(math.log(1e-6) / math.log(99 / 101))
check.gd_steps_to_shrink(solution, condition_number=100, factor=1e-6)

# %% [markdown]
# **Exercise 4 (open).** Dampening $\tau$ replaces $b_t = \mu b_{t-1} + g_t$ by
# $b_t = \mu b_{t-1} + (1-\tau) g_t$ (from the second step on). Show that with constant $\eta$ it is
# the same as plain momentum with a step size $\eta(1-\tau)$, except that the first gradient is never
# dampened: it adds an extra $\eta\tau\mu^{t-1}g_1$ to the step at time $t$, a difference that fades. Which
# setting of $\tau$ makes the buffer an exponentially weighted *average*?
#
# ## Summary
#
# * SGD's momentum buffer is a geometrically weighted sum of past gradients: it lengthens steps
#   along consistent directions by up to $1/(1-\mu)$ and averages noise down by
#   $\sqrt{(1-\mu)/(1+\mu)}$.
# * PyTorch's momentum is Polyak's heavy ball at a constant learning rate (with a schedule, its
#   momentum on the displacement becomes $\mu\,\eta_t/\eta_{t-1}$), and `nesterov=True` is
#   Nesterov's look-ahead method written in terms of the look-ahead point; all three checked to
#   $10^{-12}$.
# * On a quadratic the rate is the spectral radius of a $2 \times 2$ matrix. Gradient descent
#   reaches $(\kappa-1)/(\kappa+1)$ at best, the heavy ball $(\sqrt\kappa-1)/(\sqrt\kappa+1)$ with
#   $\eta = 4/(\sqrt L + \sqrt{h_{\min}})^2$ and $\mu = \big((\sqrt\kappa-1)/(\sqrt\kappa+1)\big)^2$, and
#   the measured rates match.
# * Too much momentum is as harmful as too little: beyond the ridge the rate is $\sqrt\mu$.
# * Off the quadratic, only Nesterov's tuning comes with a guaranteed accelerated rate (on smooth,
#   strongly convex functions); the heavy ball can cycle for ever on a convex function with
#   $\kappa = 25$.
# * Compared at an equal effective step $\eta/(1-\mu)$, most of momentum's gain on gentle surfaces
#   is the longer step; its real gain is on ill-conditioned ones such as the Rosenbrock valley,
#   where gradient descent cannot take that step without diverging.
#
# ## References
#
# {cite}`ranjan2018efficient` (section II-A), {cite}`ruder2016overview`, {cite}`polyak1964some`
# (the heavy ball), {cite}`nesterov1983method` (accelerated gradient),
# {cite}`nesterov2004introductory` (its constant-step tuning for strongly convex functions, and its
# rate guarantee), {cite}`lessard2016analysis` (the heavy ball's counterexample),
# {cite}`sutskever2013importance` (momentum in deep learning, and the form PyTorch uses),
# {cite}`goh2017momentum` (the quadratic analysis, interactively).
