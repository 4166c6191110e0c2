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
# # 1. Gradient descent: batch, stochastic and mini-batch
#
# Every optimizer in this course is a variation on one line: move the parameters a small step
# against the gradient of the loss. The review this course follows
# {cite}`ranjan2018efficient` names the three ways of feeding that line with data, **batch**,
# **stochastic** and **mini-batch** gradient descent, and points to the learning rate as the
# knob that decides whether any of them works {cite}`ruder2016overview`. This chapter runs all
# three on a real task, measures the noise that small batches add to the gradient, and finds the
# learning rate at which gradient descent stops converging, first by experiment and then
# exactly.
#
# **Learning objectives.** After this chapter you can
#
# 1. write the gradient-descent update and derive the gradient of softmax regression by hand;
# 2. explain the trade-off between batch, stochastic and mini-batch gradient descent in updates
#    per epoch, cost per update and progress per epoch;
# 3. predict how the variance of a mini-batch gradient falls with the batch size, and check the
#    prediction;
# 4. recognise a learning rate that is too small, about right, too large, or divergent, and
#    compute the divergence threshold $2/L$ of a quadratic loss;
# 5. predict the noise floor $\eta\sigma^2/(4B)$ at which SGD with a constant step settles, and
#    state the Robbins-Monro conditions that a shrinking step needs to get below it.

# %%
import math
import statistics
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from effdnn_lib import device as dev
from effdnn_lib.data import load_digits
from effdnn_lib.exercises import ch01 as check
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.optim import SGD
from effdnn_lib.optim.sgd import sgd_update
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.progress import progress
from effdnn_lib.widgets import Choice, explorer

setup(seed=0, threads=1)

# %% [markdown]
# ## The task: handwritten digits
#
# Scikit-learn ships 1,797 scanned digits of $8 \times 8$ pixels; `load_digits` shuffles them,
# keeps a quarter for testing and standardises each pixel with the training split's mean and
# spread. The cells below run on the device that `effdnn_lib.device.get_device()` picks; the
# committed outputs are the CPU's.

# %%
device = dev.get_device()
digits = load_digits()
X_train, y_train = digits["train"].x.double().to(device), digits["train"].y.to(device)
X_test, y_test = digits["test"].x.double().to(device), digits["test"].y.to(device)
n, d = X_train.shape
k = 10
print(f"training examples n = {n}, test examples {len(y_test)}, features d = {d}, classes k = {k}")

# %% [markdown]
# The model is **softmax regression** (multinomial logistic regression): a weight matrix
# $W \in \mathbb{R}^{d \times k}$ and a bias $b \in \mathbb{R}^k$ turn an image $x$ into $k$
# scores $z = x^\top W + b$, and the softmax turns scores into class probabilities
# $p_c = e^{z_c} / \sum_j e^{z_j}$. The loss is the average cross-entropy over the $n$ training
# examples,
#
# $$
# J(W, b) = -\frac1n \sum_{i=1}^n \log p_{i, y_i}.
# $$
#
# Its gradient has a short closed form, derived here by hand in three steps.
#
# *One example, with respect to its scores.* Write $y$ for the example's class and use
# $\log p_y = z_y - \log \sum_j e^{z_j}$. The loss of the example is
# $\ell = -z_y + \log \sum_j e^{z_j}$, and differentiating with respect to one score $z_c$,
#
# $$
# \frac{\partial \ell}{\partial z_c} = -[c = y] + \frac{e^{z_c}}{\sum_j e^{z_j}} = p_c - [c = y],
# $$
#
# where $[c = y]$ is 1 for the true class and 0 otherwise: the predicted probabilities minus the
# one-hot label, $p - y_\text{one-hot}$.
#
# *From scores to weights.* The score $z_c = \sum_j x_j W_{jc} + b_c$ depends on $W_{jc}$ through
# the factor $x_j$ alone and on $b_c$ with factor 1, so by the chain rule
# $\partial \ell / \partial W_{jc} = x_j\,(p_c - [c = y])$ and
# $\partial \ell / \partial b_c = p_c - [c = y]$: the weight gradient of one example is the outer
# product $x\,(p - y_\text{one-hot})^\top$.
#
# *Average over the examples.* $J$ is the mean of the $n$ per-example losses, so its gradient is the
# mean of the outer products. Stacking the examples as the rows of $X$ ($n \times d$), their
# probabilities as the rows of $P = \operatorname{softmax}(XW + b)$ ($n \times k$) and their one-hot
# labels as the rows of $Y$, the sum of outer products $\sum_i x_i (p_i - y_i)^\top$ is the matrix
# product $X^\top (P - Y)$:
#
# $$
# \nabla_W J = \frac{\partial J}{\partial W} = \frac1n X^\top \big(\operatorname{softmax}(XW + b) - Y\big), \qquad \nabla_b J = \frac1n \mathbf{1}^\top (P - Y).
# $$
#
# Each example pulls the weights of its true class towards itself and pushes the others away, in
# proportion to how wrong the prediction is. In code, the matrix $P - Y$ is built in place (the
# probabilities, minus 1 at each example's true class), and the result is checked against
# `torch.autograd` in float64. Both compute the same sums in a different order, so they agree up to
# rounding, about $10^{-16}$ per operation; the test asks for $10^{-12}$, and a gradient with a
# slip in it (the $1/n$ forgotten, or $Y$ shifted to the wrong class) misses by far more:

# %%
def loss_and_grad(W, b, X, y):
    """Mean cross-entropy of softmax regression on (X, y), and its gradients w.r.t. W and b."""
    rows = torch.arange(len(y), device=X.device)
    log_p = torch.log_softmax(X @ W + b, dim=1)
    loss = -log_p[rows, y].mean()
    P_minus_Y = log_p.exp()
    P_minus_Y[rows, y] -= 1
    P_minus_Y /= len(y)
    return loss, X.T @ P_minus_Y, P_minus_Y.sum(0)


torch.manual_seed(0)
W = torch.randn(d, k, dtype=torch.float64, device=device, requires_grad=True)
b = torch.randn(k, dtype=torch.float64, device=device, requires_grad=True)
loss, grad_W, grad_b = loss_and_grad(W, b, X_train, y_train)
torch.nn.functional.cross_entropy(X_train @ W + b, y_train).backward()
gap = max((grad_W - W.grad).abs().max().item(), (grad_b - b.grad).abs().max().item())
print(f"loss at random weights {loss.item():.4f}; largest gap between hand-written and autograd gradients below 1e-12: {gap < 1e-12}")

# Two slips a hand derivation can make, caught by the same test:
P = torch.softmax(X_train @ W + b, dim=1).detach()
Y = torch.nn.functional.one_hot(y_train, k).double()
Y_shifted = torch.nn.functional.one_hot((y_train + 1) % k, k).double()
slips = {"1/n forgotten": X_train.T @ (P - Y), "labels shifted by one class": X_train.T @ (P - Y_shifted) / n}
for slip, wrong_grad_W in slips.items():
    print(f"  {slip}: largest gap {(wrong_grad_W - W.grad).abs().max().item():.3g}")

# %% [markdown]
# ## One update rule, three ways to feed it
#
# Gradient descent repeats
#
# $$
# \theta \leftarrow \theta - \eta\, g,
# $$
#
# with parameters $\theta = (W, b)$, learning rate $\eta$ and a gradient $g$. The three variants
# differ only in which examples $g$ is averaged over:
#
# * **batch** gradient descent uses all $n$ examples: $g = \nabla J(\theta)$ exactly, one update
#   per pass over the data (an *epoch*);
# * **stochastic** gradient descent (SGD) uses one example at a time: $n$ cheap, noisy updates per
#   epoch {cite}`robbins1951stochastic`;
# * **mini-batch** gradient descent uses $B$ examples at a time: $\lceil n/B \rceil$ updates per
#   epoch, each as expensive as $B$ single-example gradients but far less noisy.
#
# Every variant costs the same per epoch, $n$ example-gradients; what differs is how many steps
# that budget buys, and how good each step is. The update itself is the course's `SGD` optimizer
# with `momentum=0` (a drop-in replacement for `torch.optim.SGD`, tested to give identical numbers).
# Its per-tensor code; with momentum and weight decay at zero, only the first and last lines act:

# %%
show_source(sgd_update)

# %% [markdown]
# The training loop shuffles the examples at the start of every epoch (sampling without
# replacement), cuts them into batches of $B$, and hands the hand-written gradient to the
# optimizer through `.grad`. An optimizer neither knows nor cares where the gradient came from.

# %%
def train(batch_size, lr, epochs, seed=0):
    """Softmax regression by mini-batch gradient descent; batch_size=n is batch GD, 1 is SGD.

    Returns the training loss before training and after every epoch, the loss after 1, 2, 4, 8, ...
    updates, the seconds per epoch spent in the updates (evaluations not timed), the number of
    updates and the final test accuracy.
    """
    generator = torch.Generator().manual_seed(seed)
    W = torch.zeros(d, k, dtype=torch.float64, device=device)
    b = torch.zeros(k, dtype=torch.float64, device=device)
    optimizer = SGD([W, b], lr=lr)
    losses, seconds, updates = [loss_and_grad(W, b, X_train, y_train)[0].item()], [], 0
    by_update = {}  # updates -> training loss, at powers of two (evaluated with the clock stopped)
    for _ in range(epochs):
        elapsed, start = 0.0, time.perf_counter()
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            batch = order[i : i + batch_size]
            _, W.grad, b.grad = loss_and_grad(W, b, X_train[batch], y_train[batch])
            optimizer.step()
            updates += 1
            if updates & (updates - 1) == 0:  # a power of two: stop the clock, evaluate, restart it
                dev.synchronize(device)
                elapsed += time.perf_counter() - start
                by_update[updates] = loss_and_grad(W, b, X_train, y_train)[0].item()
                start = time.perf_counter()
        dev.synchronize(device)
        seconds.append(elapsed + time.perf_counter() - start)  # the updates only, not the evaluations
        losses.append(loss_and_grad(W, b, X_train, y_train)[0].item())
    accuracy = ((X_test @ W + b).argmax(1) == y_test).double().mean().item()
    return {"losses": losses, "by_update": by_update, "seconds": seconds, "updates": updates, "accuracy": accuracy}


epochs = 5
variants = {  # name: (batch size, a learning rate that works well for it)
    "batch": (n, 0.5),
    "mini-batch": (32, 0.1),
    "stochastic": (1, 0.01),
}
runs = {name: train(B, lr, epochs) for name, (B, lr) in progress(variants.items(), desc="variants")}

print(f"{'variant':>10} {'B':>5} {'lr':>5} {'updates/epoch':>14} {'loss, 1 epoch':>14} {f'loss, {epochs} epochs':>15} {'test acc.':>9}")
for name, (B, lr) in variants.items():
    r = runs[name]
    print(f"{name:>10} {B:>5} {lr:>5} {r['updates'] // epochs:>14} {r['losses'][1]:>14.4f} {r['losses'][-1]:>15.4f} {r['accuracy']:>9.4f}")
print("training loss after 1, 2 and 4 updates: " + "; ".join(
    f"{name} " + ", ".join(f"{r['by_update'][u]:.4f}" for u in (1, 2, 4)) for name, r in runs.items()))

# %% [markdown]
# The clock in `train` runs only while the updates do: the full-data loss evaluations that record
# the curves (after each epoch and after 1, 2, 4, ... updates) happen with it stopped. Each epoch is
# timed on its own, and the cell below uses the median of the five, so that one interruption by
# another program does not move the result.

# %% output_varies="timings" tags=["nbval-ignore-output"]
for name, r in runs.items():
    per_epoch = statistics.median(r["seconds"])
    below = [e for e, loss in enumerate(r["losses"]) if loss < 0.3]
    reached = f"loss < 0.3 after {below[0]} epoch(s), about {below[0] * per_epoch * 1e3:.0f} ms" if below else "loss never < 0.3"
    print(f"{name:>10}: {per_epoch * 1e3:7.2f} ms per epoch, {per_epoch / (r['updates'] / epochs) * 1e6:7.1f} us per update; {reached}")

# %% mystnb={"image": {"alt": "Training loss (log scale) of batch (blue), mini-batch (orange) and stochastic (green) gradient descent on the digits. Left, against epochs: stochastic descent falls fastest, mini-batch next and batch slowest. Right, against parameter updates (log scale): the order reverses, with batch descent lowest after its few updates and stochastic descent needing hundreds of updates to get as low."}}
fig, (ax_epoch, ax_update) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
for (name, r), colour in zip(runs.items(), (PALETTE["blue"], PALETTE["orange"], PALETTE["green"])):
    ax_epoch.plot(range(epochs + 1), r["losses"], marker=".", color=colour, label=name)
    ax_update.plot([0] + list(r["by_update"]), [r["losses"][0]] + list(r["by_update"].values()), marker=".", color=colour, label=name)
ax_epoch.set(xlabel="epoch (n example-gradients each)", ylabel="training loss J", yscale="log", title="Progress per unit of work")
ax_update.set(xlabel="parameter updates", ylabel="training loss J", xscale="symlog", yscale="log", title="Progress per update")
ax_epoch.legend()
plt.show()

# %% [markdown]
# Per epoch, stochastic gradient descent is far ahead: after one pass it reaches a loss below
# what batch gradient descent reaches in five, because it has taken 1,348 steps to the batch
# method's one. Per *update*, the order reverses (right panel): after four updates the batch
# method is at 0.7309, the mini-batch run at 1.6663 and the stochastic one still at 2.2314. A
# full-batch step is worth much more than a single-example step; which matters more depends on
# what a step costs. On the
# machine that built this page, an update on one example cost more than half as much as an
# update on 32 (fixed per-call costs dominate such tiny products, as chapter 0 measured), so the
# mini-batch run got below a loss of 0.3 several times sooner than the stochastic one.
# Your timings above will differ; the pattern should not. This is why mini-batches are the default
# in practice {cite}`bengio2012practical,bottou2012stochastic`.
#
# ## Gradient noise
#
# A mini-batch gradient $g_B$ is an unbiased estimate of the full gradient $g$: averaged over all
# ways of drawing the batch, it equals $g$. Its error shrinks with $B$. If the $n$ per-example
# gradients $g_i$ have spread $\sigma^2 = \frac1n\sum_i \lVert g_i - g\rVert^2$ and a batch is
# drawn without replacement, the mean squared error is exactly
#
# $$
# \mathbb{E}\,\lVert g_B - g \rVert^2 = \frac{\sigma^2}{B}\cdot\frac{n - B}{n - 1},
# $$
#
# the familiar $\sigma^2/B$ of an average, times a correction that reaches zero when the batch is
# the whole data set. We check it at the parameters reached after one epoch of mini-batch
# training, with all per-example gradients computed at once and 2,000 random batches per size:

# %%
def per_example_gradients(W, b, X, y):
    """Row i: the gradient of example i's loss w.r.t. (W, b), flattened (n x (d*k + k))."""
    P_minus_Y = torch.softmax(X @ W + b, dim=1)
    P_minus_Y[torch.arange(len(y), device=X.device), y] -= 1
    return torch.cat([(X[:, :, None] * P_minus_Y[:, None, :]).reshape(len(y), -1), P_minus_Y], dim=1)


W1 = torch.zeros(d, k, dtype=torch.float64, device=device)
b1 = torch.zeros(k, dtype=torch.float64, device=device)
opt = SGD([W1, b1], lr=0.1)
order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
for i in range(0, n, 32):  # one epoch of mini-batch gradient descent
    _, W1.grad, b1.grad = loss_and_grad(W1, b1, X_train[order[i : i + 32]], y_train[order[i : i + 32]])
    opt.step()

G = per_example_gradients(W1, b1, X_train, y_train)
g_full = G.mean(0)
deviations = ((G - g_full) ** 2).sum(1)  # ||g_i - g||^2 for every example i
sigma2 = deviations.mean().item()
top = deviations.sort(descending=True).values[: n // 100].sum().item() / deviations.sum().item()
print(f"squared length of the full gradient ||g||^2 = {g_full.square().sum().item():.4f}; spread sigma^2 = {sigma2:.4f}")
print(f"the 1% of examples with the largest deviations contribute {top:.1%} of sigma^2")

draws = 2000
orders = torch.rand(draws, n, generator=torch.Generator().manual_seed(1)).argsort(dim=1).to(device)  # random permutations
batch_sizes = [1, 4, 16, 64, 256, 1024]
measured_noise, predicted_noise = [], []
print(f"{'B':>5} {'measured E||g_B - g||^2':>24} {'predicted':>10} {'ratio':>6}")
for B in batch_sizes:
    pick = torch.zeros(draws, n, dtype=torch.float64, device=device).scatter_(1, orders[:, :B], 1.0 / B)
    g_B = pick @ G  # row j: the mean gradient of the j-th random batch of B distinct examples
    measured_noise.append((g_B - g_full).square().sum(1).mean().item())
    predicted_noise.append(sigma2 / B * (n - B) / (n - 1))
    print(f"{B:>5} {measured_noise[-1]:>24.5f} {predicted_noise[-1]:>10.5f} {measured_noise[-1] / predicted_noise[-1]:>6.3f}")

# %% mystnb={"image": {"alt": "Log-log plot of the gradient noise, the mean squared error of a mini-batch gradient, against the batch size B from 1 to 1024. The measured points (orange, 2,000 batches each) lie on the predicted curve (blue), which falls as 1/B and drops faster as the batch nears the whole training set; the dotted horizontal line is the squared length of the full gradient, which the noise falls below between B = 64 and B = 256."}}
fig, ax = plt.subplots(figsize=FIGSIZE)
ax.plot(batch_sizes, predicted_noise, color=PALETTE["blue"], label=r"predicted $\sigma^2 (n-B) / (B (n-1))$")
ax.plot(batch_sizes, measured_noise, "o", color=PALETTE["orange"], label="measured (2,000 batches each)")
ax.axhline(g_full.square().sum().item(), color=PALETTE["black"], ls=":", lw=1, label=r"signal $\|g\|^2$")
ax.set(xscale="log", yscale="log", xlabel="mini-batch size B", ylabel=r"$E\,\|g_B - g\|^2$", title="Gradient noise falls as 1/B")
ax.legend()
plt.show()

# %% [markdown]
# For $B \ge 4$, measurement and formula agree closely (ratios 0.984 to 0.999). The single-example
# estimate is the roughest (ratio 1.055), and that is the measurement's fault, not the formula's: for $B = 1$ the
# average is dominated by rare examples (the 1 % with the largest deviations carry 12.5 % of
# $\sigma^2$), and 2,000 draws meet only about twenty of them. Two consequences:
#
# * Quadrupling the batch cuts the noise by four but only halves its typical size
#   ($\sqrt{4}$): large batches buy accuracy of the gradient slowly.
# * At this point of training the noise of a single-example gradient is over a hundred times the
#   signal $\lVert g \rVert^2 = 0.0775$, and even at $B = 64$ it is twice as large. SGD still makes
#   progress because the errors of successive steps are independent and average out over many
#   steps, as long as the learning rate is small enough; this is why SGD needs a smaller learning
#   rate (0.01 above) than batch gradient descent (0.5).
#
# ## The learning rate
#
# The learning rate scales every step. A mini-batch run ($B = 32$) with learning rates a factor of
# ten apart, ten epochs each; `max/start` is the largest training loss seen after an epoch,
# relative to the starting loss $\log 10 = 2.3026$. Each run is repeated with its learning rate
# changed in the thirteenth digit, a change far too small to matter; where the two final losses
# still differ by more than $10^{-3}$, the run is *chaotic* and the table says so instead of
# printing digits that no other machine would reproduce (see below).

# %%
print(f"{'lr':>7} {'loss, 1 epoch':>14} {'loss, 10 epochs':>16} {'max/start':>10} {'test acc.':>10}")
sweep, chaotic = {}, {}
for lr in progress([0.001, 0.01, 0.1, 1.0, 10.0, 100.0], desc="learning rates"):
    sweep[lr] = r = train(32, lr, 10)
    nudged = train(32, lr * (1 + 1e-12), 10)
    chaotic[lr] = abs(nudged["losses"][-1] - r["losses"][-1]) > 1e-3
    final = f"{'chaotic':>16} {max(r['losses'][1:]) / r['losses'][0]:>10.2f} {'chaotic':>10}" if chaotic[lr] else (
        f"{r['losses'][-1]:>16.4f} {max(r['losses'][1:]) / r['losses'][0]:>10.2f} {r['accuracy']:>10.4f}")
    print(f"{lr:>7} {r['losses'][1]:>14.4f} {final}")

# %% [markdown]
# At $\eta = 100$, six runs whose learning rates differ only in the thirteenth digit:

# %%
twins = [train(32, 100.0 * (1 + j * 1e-12), 10) for j in range(6)]
finals = [t["losses"][-1] for t in twins]
print(f"largest / smallest final training loss over more than 2: {max(finals) / min(finals) > 2}")
print(f"every test accuracy below eta = 0.1's {sweep[0.1]['accuracy']:.4f}: {all(t['accuracy'] < sweep[0.1]['accuracy'] for t in twins)}")

# %% mystnb={"image": {"alt": "Training loss (log scale) over ten epochs of mini-batch gradient descent with batches of 32, one line per learning rate from 0.001 to 100. Rates 0.001 and 0.01 fall slowly, 0.1 falls steadily, 1 ends lowest while bouncing from epoch to epoch; 10 and 100 first rise above the starting loss and then lurch up and down."}}
fig, ax = plt.subplots(figsize=FIGSIZE)
for (lr, r), colour in zip(sweep.items(), (PALETTE["sky"], PALETTE["blue"], PALETTE["green"], PALETTE["orange"], PALETTE["vermillion"], PALETTE["purple"])):
    ax.plot(range(11), r["losses"], marker=".", color=colour, label=f"lr = {lr:g}")
ax.set(yscale="log", xlabel="epoch", ylabel="training loss J", title="Mini-batch (B = 32) gradient descent on the digits")
ax.legend(ncol=2)
plt.show()

# %% [markdown]
# Three of the four regimes of the learning objectives show up side by side; the fourth,
# divergence, softmax regression never reaches in this sweep (see below, where a quadratic loss
# does):
#
# * **too small** ($10^{-3}$): every step is safe, but after ten epochs the loss has barely
#   fallen from 2.30 to 1.65;
# * **about right** ($0.1$ to $1$): a steady decrease at $0.1$; at $1$ the lowest final loss
#   (0.0303), though the figure shows the loss already bouncing from epoch to epoch;
# * **too large** ($10$ and $100$): the first epoch *raises* the loss, to 1.75 and 15.79 times its
#   starting value, and the runs lurch between good and bad values, ending with worse test
#   accuracies than $\eta = 0.1$ (0.9599): 0.9087 at $\eta = 10$, and below it in each of the six
#   nearly identical runs at $\eta = 100$, whose final losses differ by more than a factor of two.
#
# A relative change of $10^{-12}$ that changes the final loss at the first decimal has grown by
# more than a billion times in ten epochs. A CPU with other vector instructions rounds its sums
# in another order, a change of about $10^{-16}$: the last digits of a chaotic run are a fact
# about the machine, not about gradient descent, and the course never prints them.
#
# Softmax regression forgives a lot: its curvature shrinks as the predictions saturate, so even
# wild runs come back, and none of the six learning rates diverges. A quadratic loss forgives nothing, and there the boundary can be computed
# exactly.
#
# ### Divergence, exactly
#
# Near a minimum every smooth loss looks like a quadratic $J(\theta) \approx J^* +
# \tfrac12(\theta - \theta^*)^\top H (\theta - \theta^*)$. For a quadratic, one gradient step
# multiplies the error along each eigenvector of the Hessian $H$ (curvature $h$) by
# $(1 - \eta h)$. The error shrinks in every direction only if $|1 - \eta h| < 1$ for all $h$,
# that is, if
#
# $$
# \eta < \frac{2}{L}, \qquad L = \text{the largest eigenvalue of } H.
# $$
#
# Fit the same digits with a *squared* error instead, $J(W, b) = \frac{1}{2n}\lVert X W + b - Y
# \rVert^2$: a quadratic whose Hessian is $\frac1n \tilde X^\top \tilde X$ (for each of the $k$
# columns of $W$; $\tilde X$ is $X$ with a column of ones for the bias). Its largest eigenvalue
# gives the threshold, and full-batch runs just below and just above it behave as predicted. A run
# whose loss grows beyond a thousand times its start is stopped with a message:

# %%
X_tilde = torch.cat([X_train, torch.ones(n, 1, dtype=torch.float64, device=device)], dim=1)
L = torch.linalg.eigvalsh(X_tilde.T @ X_tilde / n).max().item()
Y_onehot = torch.nn.functional.one_hot(y_train, k).double()
print(f"L = {L:.4f}, so gradient descent diverges for lr > 2/L = {2 / L:.4f}")


def squared_error_gd(lr, steps=300, blow_up=1e3):
    """Full-batch gradient descent on the squared error; returns (final loss, message or None)."""
    theta = torch.zeros(d + 1, k, dtype=torch.float64, device=device)  # [W; b]
    optimizer = SGD([theta], lr=lr)
    start = None
    for step in range(1, steps + 1):
        residual = X_tilde @ theta - Y_onehot
        loss = 0.5 * residual.square().sum().item() / n
        start = loss if start is None else start
        if not math.isfinite(loss) or loss > blow_up * start:
            return loss, f"diverged at step {step}: loss {loss:.4g} is over {blow_up:g} times the starting {start:.4f}; stopped"
        theta.grad = X_tilde.T @ residual / n
        optimizer.step()
    return 0.5 * (X_tilde @ theta - Y_onehot).square().sum().item() / n, None


for fraction in (0.1, 0.5, 0.99, 1.01, 1.5):
    loss, message = squared_error_gd(fraction * 2 / L)
    print(f"lr = {fraction:4.2f} x 2/L = {fraction * 2 / L:.4f}: " + (message or f"converging, loss after 300 steps {loss:.4f}"))

# %% [markdown]
# One per cent below the threshold the run converges; one per cent above it the error along the
# steepest direction grows by a factor $|1 - \eta L| = 1.02$ per step, and the loss passes a
# thousand times its start at step 243; at 1.5 times the threshold that takes 8 steps. Below the
# threshold, the smallest rate (0.1 x 2/L) is still behind after 300 steps (0.1549 against 0.1532):
# the flat directions of the Hessian, not the steep one, set the pace there. Chapter 2 finds the
# best step size from both ends of the spectrum, and shows how momentum beats it.
#
# ## A constant step never settles: the noise floor
#
# The quadratic above was fitted with the full gradient, which vanishes at the minimum: there
# gradient descent stops. A mini-batch gradient does not vanish there. At the minimum $\theta^*$ the
# mean gradient is zero but each batch's is not, so SGD with a constant step keeps being kicked
# away, and the pull of the curvature brings it back: the loss settles *above* the minimum, at a
# level set by the step size and the noise.
#
# How high? Write $e_t = \theta_t - \theta^*$ on a quadratic with Hessian $H$. One step is
# $e_{t+1} = (I - \eta H)\,e_t - \eta\,\xi_t$, with a noise $\xi_t$ of mean zero and covariance
# $\Sigma / B$ for a batch of $B$ examples drawn at random ($\Sigma$: the covariance of a single
# example's gradient at $\theta^*$). In the stationary state the covariance $C$ of $e_t$ satisfies
# $C = (I - \eta H)\,C\,(I - \eta H) + \eta^2 \Sigma / B$; dropping the term of order $\eta^2 HCH$
# leaves $HC + CH = \eta\,\Sigma / B$. Its trace gives $\operatorname{tr}(HC) = \eta\,\sigma^2 / (2B)$,
# with $\sigma^2 = \operatorname{tr}\Sigma = \frac1n \sum_i \lVert g_i(\theta^*) \rVert^2$ the spread of the
# per-example gradients at the minimum (the same $\sigma^2$ as in the gradient-noise section), and
# the excess loss is
#
# $$
# \mathbb{E}\,J(\theta_t) - J(\theta^*) = \tfrac12 \operatorname{tr}(HC) \approx \frac{\eta\,\sigma^2}{4B}:
# $$
#
# proportional to the step size, inversely proportional to the batch size, whatever the Hessian
# (to first order in $\eta$; the dropped term, and the noise growing as $\theta$ moves off
# $\theta^*$, raise it a little).
#
# A check on a noisy linear regression small enough to run 256 independent SGD chains at once:
# $m = 1{,}000$ examples with 8 features (curvatures between about 0.24 and 0.94), targets with
# noise, the squared error as the loss. Every chain starts *at* the minimum, draws batches with
# replacement (so that successive batches are independent, as the derivation assumes), and runs
# $32/\eta$ steps; the excess loss is averaged over the second half of the steps and over the
# chains.

# %%
generator = torch.Generator().manual_seed(0)
m, p = 1000, 8  # examples and features of a noisy linear regression
X_lin = torch.randn(m, p, generator=generator, dtype=torch.float64) * torch.linspace(1.0, 0.25, p, dtype=torch.float64).sqrt()
y_lin = X_lin @ torch.randn(p, generator=generator, dtype=torch.float64) + 0.5 * torch.randn(m, generator=generator, dtype=torch.float64)
H = X_lin.T @ X_lin / m  # the Hessian of J(theta) = |X theta - y|^2 / (2 m)
theta_star = torch.linalg.solve(H, X_lin.T @ y_lin / m)
residual_star = X_lin @ theta_star - y_lin
sigma2_star = (X_lin * residual_star[:, None]).square().sum(1).mean().item()  # (1/m) sum_i ||g_i(theta*)||^2
h_all = torch.linalg.eigvalsh(H)
print(f"curvatures from {h_all.min().item():.2f} to {h_all.max().item():.2f}; sigma^2 at the minimum = {sigma2_star:.4f}")

chains = 256


def excess_loss_trace(lr_at, batch_size, steps, seed=0):
    """Mean over `chains` SGD runs, started at theta*, of J(theta_t) - J(theta*) after each step t.

    `lr_at(t)` is the step size of step t; batches are drawn with replacement.
    """
    rows = torch.randint(0, m, (steps, chains, batch_size), generator=torch.Generator().manual_seed(seed))
    error = torch.zeros(chains, p, 1, dtype=torch.float64)  # e = theta - theta*, one column per chain
    trace = torch.empty(steps, dtype=torch.float64)
    for t in range(steps):
        x_B = X_lin[rows[t]]  # chains x B x p
        residual_B = torch.baddbmm(residual_star[rows[t]].unsqueeze(-1), x_B, error)  # x^T theta - y = x^T e + r*
        g_B = torch.bmm(x_B.transpose(1, 2), residual_B) / batch_size  # the mini-batch gradient
        error -= lr_at(t) * g_B
        trace[t] = 0.5 * ((H @ error) * error).sum() / chains  # J(theta) - J(theta*) = e^T H e / 2
    return trace


settings = [(1, 0.02), (4, 0.02), (16, 0.02), (4, 0.05), (4, 0.1)]  # (B, eta)
print(f"{'B':>3} {'eta':>5} {'measured excess loss':>21} {'eta sigma^2 / (4B)':>19} {'ratio':>6}")
floor_ratios = []
for B, lr in progress(settings, desc="noise floor"):
    steps = round(32 / lr)
    measured = excess_loss_trace(lambda t: lr, B, steps)[steps // 2 :].mean().item()
    predicted = lr * sigma2_star / (4 * B)
    floor_ratios.append(measured / predicted)
    print(f"{B:>3} {lr:>5} {measured:>21.3g} {predicted:>19.3g} {measured / predicted:>6.3f}")

# %% [markdown]
# The floor follows the prediction: four times the batch, a quarter of the excess loss
# (0.00668, 0.00159, 0.000393 at $\eta = 0.02$); five times the step, five and a half times the
# excess loss (0.00159 at $\eta = 0.02$, 0.00872 at $\eta = 0.1$, with $B = 4$). The measured values
# sit above the first-order formula, by 1 % to 12 % (ratios 1.008 to 1.118), the more so the larger
# $\eta$ and $\eta / B$, as the dropped terms predict. Only the ratio $\eta / B$ enters the
# formula: halving the step lowers the floor exactly as much as doubling the batch. The first keeps
# the cost of a step and slows the progress towards the floor, the second keeps the pace and doubles
# the cost of a step. (Chapter 12 meets this ratio again, in the rule that scales the learning rate
# with the batch.)
#
# ### Robbins and Monro: shrinking the step
#
# A constant step therefore never reaches the minimum; to get there the step must shrink. Robbins
# and Monro {cite}`robbins1951stochastic` gave conditions on a schedule $\eta_t$ under which
# stochastic approximation converges:
#
# $$
# \sum_{t=1}^{\infty} \eta_t = \infty, \qquad \sum_{t=1}^{\infty} \eta_t^2 < \infty.
# $$
#
# The first lets the iterates travel any distance, however far the start: steps that shrink so
# fast that their sum is finite stop short of the minimum. The second bounds the noise: the
# noise a step injects has variance proportional to $\eta_t^2$, and its total stays finite.
# $\eta_t = \eta_0 / (1 + t/\tau)$ satisfies both (a harmonic series diverges, the sum of
# its squares does not); a constant step fails the second, and $\eta_0\,2^{-t}$ fails the first.
# The same chains with $\eta_0 = 0.1$, $B = 4$, a constant step against $\eta_t = \eta_0 \tau /
# (\tau + t)$ with $\tau = 100$, the excess loss averaged over the last tenth of the steps up to
# $t$:

# %%
lr0, tau, B, steps = 0.1, 100, 4, 4000
constant = excess_loss_trace(lambda t: lr0, B, steps)
decaying = excess_loss_trace(lambda t: lr0 * tau / (tau + t), B, steps)
print(f"{'t':>5} {'constant step':>14} {'eta_t = eta_0 tau/(tau + t)':>28} {'floor of the current step':>26}")
for t in (500, 1000, 2000, 4000):
    window = slice(t - t // 10, t)
    floor_now = lr0 * tau / (tau + t) * sigma2_star / (4 * B)
    print(f"{t:>5} {constant[window].mean().item():>14.3g} {decaying[window].mean().item():>28.3g} {floor_now:>26.3g}")

# %% [markdown]
# The constant step sits at its floor (0.0087) from the start to the end; the decaying step keeps
# going down, roughly halving whenever $t$ doubles, a little above the floor $\eta_t \sigma^2 / (4B)$
# of the step it has reached (it lags the floor because the iterates take time to follow a falling
# step). The price is speed early on: a shrinking step also slows the deterministic part of the
# progress, which is why practice uses schedules that keep the step large for a while and then
# decay it (step decay, cosine, warm restarts). Chapter 5 compares them.
#
# ## Explore: learning rate and batch size
#
# Train softmax regression for five epochs with a learning rate and a batch size of your choice:
# the figure shows the training loss after each epoch, its title the number of updates and the
# test accuracy. A run whose loss rose above its start is trained a second time with the rate
# changed in the thirteenth digit and called chaotic if the two end more than $10^{-3}$ apart, as
# in the sweep above. On the website the controls switch between views precomputed for learning
# rates 0.01, 0.1, 1 and 10 and batches of 1, 32 and all 1,348 examples; run the notebook for a
# continuous learning-rate slider and more batch sizes. Things to try:
#
# * The full batch at 0.01, 0.1, 1 and 10: at 0.01 five updates barely move the loss, and the
#   full batch does best at the largest rate of the grid.
# * A batch of 1 at 0.01 and at 0.1: the two lowest final losses of the grid.
# * A batch of 1 at 1 and at 10: the first epoch raises the loss above its start (at 10 it also
#   ends above it), and the run at 1 is chaotic.
# * At 10, step from a batch of 1 to 32 to the full batch: the jump above the start shrinks, then
#   disappears. The larger the batch, the larger the rate it tolerates.

# %% output_varies="widget" tags=["nbval-ignore-output"]
five_epochs = {(B, lr): runs[name] for name, (B, lr) in variants.items()}  # trained above, with the same seed


def explore(lr=0.1, batch_size=32):
    r = five_epochs.get((batch_size, lr)) or train(batch_size, lr, epochs=5)
    rose = max(r["losses"][1:]) > r["losses"][0]
    chaotic = rose and abs(train(batch_size, lr * (1 + 1e-12), epochs=5)["losses"][-1] - r["losses"][-1]) > 1e-3
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.plot(range(6), r["losses"], marker="o", color=PALETTE["blue"], label="training loss")
    ax.axhline(r["losses"][0], color=PALETTE["black"], ls=":", lw=1, label=r"start, $\log 10$")
    ax.set_ylim(0.03, max(50.0, 1.5 * max(r["losses"])))  # the same scale in every view, so that they compare
    ax.legend(loc="upper right")
    accuracy = "chaotic" if chaotic else f"{r['accuracy']:.3f}"
    ax.set(yscale="log", xlabel="epoch", ylabel="training loss J",
           title=f"lr = {lr:.3g}, B = {batch_size}: {r['updates']} updates, test accuracy {accuracy}")
    if rose:
        print(f"The loss rose above its starting value {r['losses'][0]:.4f}: this learning rate is too large.")
    if chaotic:
        print("Chaotic: with the rate changed in the thirteenth digit the final loss differs by more than 1e-3, "
              "so this curve's details differ from machine to machine.")
    return fig


explorer(
    explore,
    alt=lambda lr, batch_size: (
        f"Training loss of softmax regression on the digits after each of five epochs of gradient descent with "
        f"learning rate {lr:g} and mini-batches of {batch_size} examples, on a log scale from 0.03 to 50 shared by "
        f"every setting, with the starting loss log 10 dotted."),
    lr=Choice([0.01, 0.1, 1.0, 10.0], 0.1, "lr",
              live=widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=2, step=0.25, description="lr", continuous_update=False)),
    batch_size=Choice([1, 32, n], 32, "batch",
                      live=widgets.SelectionSlider(options=[1, 4, 16, 32, 128, 512, n], value=32, description="batch",
                                                   continuous_update=False)),
)

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** How many parameter updates does one epoch of mini-batch gradient descent make on
# the digits' training split with $B = 50$?

# %%
your_answer = None  # replace with your number
check.updates_per_epoch(your_answer, batch_size=50)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# One update per batch, and the last, shorter batch counts too.
solution = math.ceil(n / 50)
check.updates_per_epoch(solution, batch_size=50)

# %% [markdown]
# **Exercise 2.** The quadratic $f(\theta) = \tfrac12(\theta_1^2 + 50\,\theta_2^2)$ has condition
# number 50. Above which learning rate does gradient descent diverge on it?

# %%
your_answer = None
check.largest_stable_lr(your_answer, condition_number=50)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The curvatures are 1 and 50; the error along the second is multiplied by (1 - 50 lr),
# whose size exceeds 1 once lr > 2 / 50.
solution = 2 / 50
check.largest_stable_lr(solution, condition_number=50)

# %% [markdown]
# **Exercise 3.** On the quadratic $f(\theta) = \tfrac12(\theta_1^2 + 10\,\theta_2^2)$ with
# $\eta = 0.05$, by what factor does the slowest error component shrink per step?

# %%
your_answer = None
check.contraction_factor(your_answer, lr=0.05, condition_number=10)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The factors are |1 - 0.05 * 1| = 0.95 and |1 - 0.05 * 10| = 0.5; the slower one wins.
solution = max(abs(1 - 0.05 * 1), abs(1 - 0.05 * 10))
check.contraction_factor(solution, lr=0.05, condition_number=10)

# %% [markdown]
# **Exercise 4 (open).** Change `train` so that it does *not* reshuffle between epochs (use
# `torch.arange(n)` as the order). Does stochastic gradient descent still reach the same loss?
# What happens if the training split is sorted by label first?
#
# ## Summary
#
# * Gradient descent moves the parameters by $-\eta\,g$. Batch, stochastic and mini-batch gradient
#   descent differ only in how many examples $g$ averages: all, one, or $B$.
# * Per epoch, small batches make many more updates and progress faster; per update, large batches
#   are better. Mini-batches balance the two and use the hardware well.
# * A mini-batch gradient is unbiased, and its mean squared error is $\frac{\sigma^2}{B}\frac{n-B}{n-1}$,
#   which the measurement matches.
# * On a quadratic, gradient descent converges exactly when $\eta < 2/L$; the digits' squared-error
#   fit diverges 1 % above that line and converges 1 % below it. Cross-entropy is more forgiving,
#   but a too-large rate still makes the loss jump above its starting value.
# * With a constant step, SGD does not converge: it settles at an excess loss of about
#   $\eta\sigma^2/(4B)$, measured within 12 % of the formula. A step that shrinks with
#   $\sum_t \eta_t = \infty$ and $\sum_t \eta_t^2 < \infty$ (Robbins-Monro) gets below any floor;
#   chapter 5 turns this into practical schedules.
#
# ## References
#
# {cite}`ranjan2018efficient` (section II-A), {cite}`ruder2016overview` (the three variants),
# {cite}`robbins1951stochastic` (stochastic approximation, and the conditions on the step sizes), {cite}`bottou2012stochastic` (practical
# SGD), {cite}`bengio2012practical` (batch size and learning rate in practice).
