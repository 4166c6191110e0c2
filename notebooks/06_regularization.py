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
# # 6. Regularization
#
# A network with enough parameters can fit its training set exactly, mistakes included. The
# review this course follows lists the classic remedy among its hyperparameters: add a
# **regularization term** to the objective, $\lambda \sum_i \theta_i^2$ (L2) or
# $\lambda \sum_i |\theta_i|$ (L1), and tune its strength $\lambda$; L2 is the usual choice
# because L1 makes the weights sparse {cite}`ranjan2018efficient,bengio2012practical`. This
# chapter measures what that means: what each penalty does to the weights, when the L1 zeros
# are really zeros, why decoupled weight decay equals L2 under SGD but not under Adam (whose own
# `weight_decay` argument is an L2 penalty), and how dropout and
# early stopping compare, all on a training set small and noisy enough for overfitting to
# matter.
#
# **Learning objectives.** After this chapter you can
#
# 1. add an L2 penalty $\lambda \sum_i \theta_i^2$ or an L1 penalty $\lambda \sum_i |\theta_i|$ to
#    a loss, and predict what each does to the distribution of the weights;
# 2. explain why subgradient descent on the L1 penalty almost never produces exact zeros, and
#    get them with a proximal (soft-thresholding) step;
# 3. show that decoupled weight decay and an L2 penalty are the same thing for SGD but not for
#    Adam, and what AdamW changes;
# 4. use dropout and early stopping as regularizers, and compare all of them on a small, noisy
#    training set.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from effdnn_lib import device as dev
from effdnn_lib.data import load_digits, relabel
from effdnn_lib.exercises import ch06 as check
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.progress import progress
from effdnn_lib.training import accuracy, evaluate, train
from effdnn_lib.widgets import Choice, explorer

setup(seed=0, threads=1)

# %% [markdown]
# ## Little data, noisy labels
#
# Regularization matters when the data cannot pin down the parameters. We train on only 300
# digits, and, as in chapter 5, give 30% of the training and validation examples a random
# label (about 27% end up wrong). The test set keeps its correct labels, so test accuracy
# measures what the network really learned. The network has 256 hidden units: 19,210
# parameters for 300 examples.
#
# The networks here train in **float64** (the data and every model are converted with
# `.double()`). The reason is reproducibility, not accuracy: in float32, the tiny rounding
# differences between CPU kernels (about $10^{-7}$, different on another processor or library
# build) grow over hundreds of steps into different third and fourth decimals, and even into a
# failed equality check. In float64 they start near $10^{-16}$ and stay invisible, so the numbers
# printed below are facts about the algorithms, the same on every machine. For speed you would
# train in float32 (or lower), as every other chapter does.

# %%
device = dev.get_device()
digits = load_digits(val_fraction=0.2)


N_TRAIN = 300
train_set = (digits["train"].x[:N_TRAIN].double(), relabel(digits["train"].y[:N_TRAIN], 0.3, seed=1))
val_set = (digits["val"].x.double(), relabel(digits["val"].y, 0.3, seed=2))
test_set = (digits["test"].x.double(), digits["test"].y)
print(f"{N_TRAIN} training examples, {(train_set[1] != digits['train'].y[:N_TRAIN]).float().mean().item():.4f} of them mislabelled; "
      f"{len(test_set[1])} clean test examples")
print(f"rounding unit (machine epsilon): float32 {torch.finfo(torch.float32).eps:.1e}, float64 {torch.finfo(torch.float64).eps:.1e}")


def mlp(width=256, dropout=0.0, input_dropout=0.0, seed=0):
    """64 -> width -> 10 with ReLU, in float64; dropout on the inputs and on the hidden layer when asked."""
    torch.manual_seed(seed)
    layers = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
    layers += [nn.Linear(64, width), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout > 0 else []) + [nn.Linear(width, 10)]
    return nn.Sequential(*layers).double().to(device)


print(f"the 64-256-10 network has {sum(p.numel() for p in mlp().parameters()):,} parameters")


def weights(model):
    """The weight matrices of the linear layers: what the penalties act on (biases are left alone)."""
    return [m.weight for m in model if isinstance(m, nn.Linear)]


def first_layer(model):
    return next(m for m in model if isinstance(m, nn.Linear)).weight


def fit(epochs=40, penalty=None, after_step=None, make_optimizer=None, dropout=0.0, input_dropout=0.0, seed=0, **kwargs):
    """Train a fresh 64-256-10 network on the noisy training set; ``seed`` sets the initial weights,
    the order of the mini-batches and the dropout masks (the same for every call with the same seed).

    Plain SGD with lr 0.2, unless ``make_optimizer(model)`` gives another optimizer. Returns the
    model, its history, and its loss and accuracy on the clean test set.
    """
    model = mlp(dropout=dropout, input_dropout=input_dropout, seed=seed)
    opt = make_optimizer(model) if make_optimizer else torch.optim.SGD(model.parameters(), lr=0.2)
    h = train(model, opt, train_set, epochs=epochs, batch_size=32, val_data=val_set, penalty=penalty, after_step=after_step,
              seed=seed, **kwargs)
    return model, h, evaluate(model, test_set, metrics={"accuracy": accuracy})


# %% [markdown]
# ## The two penalties
#
# With the data loss $J_\text{data}(\theta)$, the two regularized objectives are
#
# $$J(\theta) = J_\text{data}(\theta) + \lambda \sum_i \theta_i^2
# \qquad\text{and}\qquad
# J(\theta) = J_\text{data}(\theta) + \lambda \sum_i |\theta_i|,$$
#
# where the sums run over the weights of the linear layers (the biases are usually left
# unpenalized {cite}`bengio2012practical`). Their gradients tell the story. L2 adds
# $2\lambda\theta_i$: a pull towards zero proportional to the weight, strong on large weights,
# vanishing on small ones. L1 adds $\lambda\,\text{sign}(\theta_i)$: the same pull whatever the
# size, so small weights, those the data does not defend, are pushed all the way to zero
# {cite}`tibshirani1996regression`. The training loop takes either as its `penalty` argument.
#
# One catch with L1: $|\theta|$ has no derivative at 0. Plain (sub)gradient descent steps
# across zero and back, so a weight that "should" be zero ends up jittering around it, within
# about $\eta\lambda$, and is almost never exactly zero. The **proximal** step fixes that
# {cite}`parikh2014proximal`: take the gradient step on $J_\text{data}$ alone, giving $v$, then
# solve the small problem
#
# $$\theta \leftarrow \arg\min_u \; \tfrac12 (u - v)^2 + \eta\lambda |u|
# \;=\; \text{sign}(v)\,\max(|v| - \eta\lambda,\; 0),$$
#
# the **soft-thresholding** operator: move each weight towards zero by $\eta\lambda$, and stop at
# zero instead of crossing it. The training loop calls it through its `after_step` hook.

# %%
def l2_penalty(lam):
    """lambda * sum_i theta_i^2 over the weight matrices."""
    return lambda model: lam * sum((w**2).sum() for w in weights(model))


def l1_penalty(lam):
    """lambda * sum_i |theta_i| over the weight matrices (its gradient: lambda * sign(theta))."""
    return lambda model: lam * sum(w.abs().sum() for w in weights(model))


def l1_proximal_step(lam):
    """After each SGD step on the data loss: theta <- sign(theta) * max(|theta| - eta * lambda, 0)."""
    def soft_threshold(model, lr):
        for w in weights(model):
            w.copy_(w.sign() * torch.clamp(w.abs() - lr * lam, min=0.0))
    return soft_threshold


# %% [markdown]
# Is the closed form really the minimiser? Compare it with a brute-force search over a fine
# grid of candidates $u$ (step $10^{-5}$):

# %%
v = torch.linspace(-1, 1, 9, dtype=torch.float64)
threshold = 0.3  # eta * lambda
u = torch.linspace(-2, 2, 400_001, dtype=torch.float64)  # candidate answers, a grid of step 1e-5
brute_force = u[torch.argmin(0.5 * (u[None, :] - v[:, None]) ** 2 + threshold * u.abs()[None, :], dim=1)]
soft = v.sign() * torch.clamp(v.abs() - threshold, min=0) + 0.0  # + 0.0 turns -0.0 into 0.0
print("v              :", [f"{x:+.2f}" for x in v.tolist()])
print("soft threshold :", [f"{x:+.2f}" for x in soft.tolist()])
print(f"soft thresholding equals the brute-force minimiser to within the grid step 1e-5: {(soft - brute_force).abs().max().item() < 1e-5}")

# %% [markdown]
# ## What the penalties do to the weights
#
# Train the same network from the same initial weights, with plain SGD ($\eta = 0.2$, 40 epochs),
# without a penalty and with each penalty over a range of strengths $\lambda$ (used again in the
# next section and in the widget). First, the 16,384 weights of the first layer at one
# strength each:

# %%
lambdas = {"L2": [0.001, 0.003, 0.01, 0.03, 0.1], "L1 proximal": [0.0003, 0.001, 0.003, 0.01, 0.03]}
sweep = {("none", 0.0): fit()}
for kind, values in lambdas.items():
    for lam in progress(values, desc=kind):
        sweep[(kind, lam)] = fit(penalty=l2_penalty(lam)) if kind == "L2" else fit(after_step=l1_proximal_step(lam))
LAM_L2, LAM_L1 = 0.01, 0.003
runs = {
    "no penalty": sweep[("none", 0.0)],
    f"L2 {LAM_L2}": sweep[("L2", LAM_L2)],
    f"L1 subgradient {LAM_L1}": fit(penalty=l1_penalty(LAM_L1)),
    f"L1 proximal {LAM_L1}": sweep[("L1 proximal", LAM_L1)],
}
W1 = {name: first_layer(model).detach().cpu().flatten() for name, (model, _, _) in runs.items()}


def excess_kurtosis(w):
    """E[(w - mean)^4] / var^2 - 3: 0 for a normal distribution, -1.2 for a uniform one, 3 for a Laplace one."""
    d = w - w.mean()
    return ((d**4).mean() / (d**2).mean() ** 2).item() - 3


print(f"{'first layer (16,384 weights)':>28} {'exact zeros':>12} {'|w| < 1e-3':>11} {'|w| < 0.01':>11} {'kurtosis':>9} "
      f"{'sum |w|':>8} {'sum w^2':>8} {'test acc':>9}")
for name, w in W1.items():
    acc = runs[name][2]["accuracy"]
    print(f"{name:>28} {(w == 0).float().mean().item():>12.4f} {(w.abs() < 1e-3).float().mean().item():>11.4f} "
          f"{(w.abs() < 0.01).float().mean().item():>11.4f} {excess_kurtosis(w):>9.2f} "
          f"{w.abs().sum().item():>8.1f} {(w**2).sum().item():>8.1f} {acc:>9.4f}")
steps = 40 * math.ceil(N_TRAIN / 32)
print(f"(kurtosis: excess kurtosis; the initial weights, uniform, have {excess_kurtosis(first_layer(mlp()).detach().flatten()):.2f})")
print(f"L2 {LAM_L2}: a weight the data does not defend shrinks by (1 - 2 eta lambda)^steps = (1 - {2 * 0.2 * LAM_L2:g})^{steps} "
      f"= {(1 - 2 * 0.2 * LAM_L2) ** steps:.3f} in the {steps} steps")

# %% mystnb={"image": {"alt": "Histograms, on a log count axis, of the 16,384 first-layer weights after 40 epochs in four runs: no penalty (black), L2 with lambda 0.01 (blue), L1 by subgradient descent with lambda 0.003 (orange) and L1 by the proximal step (vermillion). Without a penalty the weights keep a broad, flat-topped spread; L2 gathers them into a narrower peak at zero; both L1 runs pile most weights into a tall spike at zero with long thin tails."}}
fig, axes = plt.subplots(1, 4, figsize=FIGSIZE_WIDE, sharey=True)
bins = np.linspace(-0.4, 0.4, 81)
for ax, (name, w), colour in zip(axes, W1.items(), (PALETTE["black"], PALETTE["blue"], PALETTE["orange"], PALETTE["vermillion"])):
    ax.hist(w.clamp(-0.4, 0.4).numpy(), bins=bins, color=colour)
    ax.set_yscale("log")
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("first-layer weight")
axes[0].set_ylabel("count (log scale)")
plt.show()

# %% [markdown]
# The L2 penalty shrinks all weights (their sum of squares drops from 138.2 to 27.3) but leaves
# none at zero. It also changes the histogram's shape, not only its width. Without a penalty the
# weights keep much of the flat top of their uniform start (excess kurtosis -0.52; the uniform
# start has -1.19, a normal distribution 0). With L2 they form a sharp peak at zero with straight,
# exponential-looking flanks on the log scale (excess kurtosis 1.07), and the fraction of weights
# within 0.01 of zero rises from 0.0696 to 0.2227. The peak comes from the weights the data hardly
# pushes: a weight with no gradient from the data at all would shrink by the factor 0.201 in the
# 400 steps, while the weights the data defend stay away from zero. L1 piles the weights up at
# zero far more (kurtosis 56.57 and 57.47, 91% of the weights within 0.01). At the histograms'
# resolution the two L1 runs look alike, and they end close together in every respect we
# measured (sum of absolute values 123.4 and 117.2, test accuracy 0.8129 both) except one:
# subgradient descent leaves 72% of the weights below $10^{-3}$ and **none** exactly at zero,
# while the proximal step sets 68% of them to exactly zero, weights
# that a sparse storage format could drop. (These are runs from one seed; the section "All
# together" below repeats the main recipes with five seeds.)
#
# ## Generalization: how much penalty?
#
# The whole sweep, with the validation loss (what one would tune $\lambda$ on) and the result on
# the clean test set:

# %%
print(f"{'penalty':>12} {'lambda':>7} {'val loss':>9} {'test loss':>10} {'test acc':>9} {'zeros':>7}")
for (kind, lam), (model, h, test) in sweep.items():
    zeros = (first_layer(model) == 0).float().mean().item()
    print(f"{kind:>12} {lam:>7} {h.val_loss[-1]:>9.4f} {test['loss']:>10.4f} {test['accuracy']:>9.4f} {zeros:>7.4f}")

# %% [markdown]
# Both penalties help when $\lambda$ is right, and hurt when it is too large. In this seed, the
# best L2 strength on validation loss, $\lambda = 0.03$, raises test accuracy from 0.8129 to
# 0.8753 (five seeds below confirm the gain); $\lambda = 0.1$ shrinks the weights so much that
# accuracy falls to 0.6058. L1 does less for the accuracy here (at best 0.8330, at
# $\lambda = 0.001$) and is harsher when too strong: at $\lambda = 0.03$ every first-layer weight
# is zero and the network predicts one class for every image (0.0869). Its value is sparsity: at
# $\lambda = 0.001$, 16% of the first-layer weights are gone, with a test accuracy no worse than
# without a penalty. These are the review's recommendations, measured: L2 as the default
# regularizer, L1 when sparse weights are wanted {cite}`ranjan2018efficient`.
#
# ## Weight decay vs L2: the same for SGD, different for Adam
#
# **Weight decay** shrinks every weight by a fixed fraction at each step,
# $\theta \leftarrow \theta - \eta\,\text{wd}\,\theta$, alongside the gradient step
# {cite}`krogh1992simple`. For SGD this is exactly the L2 penalty: the penalty's gradient
# $2\lambda\theta$ enters the update as $-\eta\,2\lambda\theta$, so `weight_decay` $= 2\lambda$
# gives identical updates (`torch.optim` applies `weight_decay` by adding
# $\text{wd}\cdot\theta$ to the gradient). Chapter 4 showed that Adam does the same, adding
# $\text{wd}\cdot\theta$ to the gradient *before* the moment estimates, while AdamW takes the
# decay out of the gradient and applies it directly to the weights
# {cite}`loshchilov2019decoupled`. The difference is measurable:

# %%
def same_start_optimizer(kind, model, weight_decay, lr):
    """An optimizer whose weight decay acts on the weight matrices only, like the penalties."""
    groups = [{"params": weights(model), "weight_decay": weight_decay},
              {"params": [m.bias for m in model if isinstance(m, nn.Linear)], "weight_decay": 0.0}]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=lr)
    return {"Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}[kind](groups, lr=lr)


def relative_difference(a, b):
    """max_i |a_i - b_i| / max_i |a_i| over all parameters of two models."""
    diff = max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))
    return diff / max(p.abs().max().item() for p in a.parameters())


TOL = 1e-9  # float64 rounding over these 200 steps stays far below it; a 1% change of lambda does not
lam, lam_off = 0.005, 0.00505  # lam_off: lambda 1% too large, a real difference the check must catch
a, h_a, _ = fit(epochs=20, penalty=l2_penalty(lam))
b, _, _ = fit(epochs=20, make_optimizer=lambda m: same_start_optimizer("SGD", m, 2 * lam, 0.2))
off, _, _ = fit(epochs=20, make_optimizer=lambda m: same_start_optimizer("SGD", m, 2 * lam_off, 0.2))
print(f"SGD, penalty lambda={lam} vs weight_decay={2 * lam}: weights agree to {TOL:g} relative after 20 epochs "
      f"({h_a.steps} steps): "
      f"{relative_difference(a, b) < TOL}")
print(f"  control, weight_decay={2 * lam_off} (lambda 1% off): agree: {relative_difference(a, off) < TOL}; "
      f"relative difference {relative_difference(a, off):.0e}")

a, _, _ = fit(epochs=20, penalty=l2_penalty(lam), make_optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=1e-3))
b, _, _ = fit(epochs=20, make_optimizer=lambda m: same_start_optimizer("Adam", m, 2 * lam, 1e-3))
off, _, _ = fit(epochs=20, make_optimizer=lambda m: same_start_optimizer("Adam", m, 2 * lam_off, 1e-3))
c, _, _ = fit(epochs=20, make_optimizer=lambda m: same_start_optimizer("AdamW", m, 2 * lam, 1e-3))
diff_c = max((p - q).abs().max().item() for p, q in zip(a.parameters(), c.parameters()))
print(f"Adam, penalty vs Adam(weight_decay={2 * lam}):  agree to {TOL:g} relative: {relative_difference(a, b) < TOL}")
print(f"  control, Adam(weight_decay={2 * lam_off}): agree: {relative_difference(a, off) < TOL}; "
      f"relative difference {relative_difference(a, off):.0e}")
print(f"Adam, penalty vs AdamW(weight_decay={2 * lam}): agree to {TOL:g} relative: {relative_difference(a, c) < TOL}; "
      f"largest difference {diff_c:.2f}")

# %% [markdown]
# For SGD, the penalty and `weight_decay` agree after 20 epochs to $10^{-9}$ relative (the
# largest difference between the two runs' parameters, divided by the largest parameter); so do
# Adam with a penalty and `Adam(weight_decay)`. The tolerance is chosen so that rounding cannot
# decide the check either way. The two formulations compute the same update with the operations
# in a different order, so they may differ by rounding: in float64 a few rounding units
# ($2.2 \times 10^{-16}$ each, printed at the start) per step, accumulated over 200 steps, which
# stays orders of magnitude below $10^{-9}$. A real difference lies far above it: with
# $\lambda$ only 1% too large (`weight_decay` 0.0101) the weights differ by 3e-02 (SGD) and
# 4e-02 (Adam) relative, and the check prints False, as it should. (In float32, whose rounding
# unit is $1.2 \times 10^{-7}$, rounding alone would reach the range of small real differences,
# and such a check could pass on one processor and fail on another.) AdamW, with the same
# coefficient, ends somewhere else (weights differ by up to 0.21).
#
# Why it matters: in Adam, the gradient $g + \text{wd}\,\theta$ is divided by
# $\sqrt{\hat v}$, the typical size of that weight's gradient. A weight whose data gradient is
# large gets its decay divided by a large number, a weight with a small gradient by a small one.
# So L2 under Adam does not shrink all weights alike: it shrinks hardest exactly those that the
# data touches least. AdamW's decay bypasses $\sqrt{\hat v}$ and shrinks every weight by the same
# factor $(1 - \eta\,\text{wd})$ per step. To see it, sort the first-layer weights into
# quartiles by $\sqrt{\hat v}$ (from the run without decay), and compare each variant's weights
# with that run's:

# %%
adam_optimizers = {}


def adam_variant(kind, weight_decay, name):
    def make(model):
        adam_optimizers[name] = same_start_optimizer(kind, model, weight_decay, 1e-3)
        return adam_optimizers[name]
    return make


adam_runs = {name: fit(make_optimizer=adam_variant(kind, wd, name))
             for name, kind, wd in (("Adam, no decay", "Adam", 0.0), ("Adam + L2, wd 0.01", "Adam", 0.01),
                                    ("AdamW, wd 0.01", "AdamW", 0.01), ("AdamW, wd 1.0", "AdamW", 1.0))}
plain = first_layer(adam_runs["Adam, no decay"][0])
grad_rms = adam_optimizers["Adam, no decay"].state[plain]["exp_avg_sq"].sqrt().flatten()  # sqrt(v): typical gradient size
quartile = torch.bucketize(grad_rms, grad_rms.quantile(grad_rms.new_tensor([0.25, 0.5, 0.75])))
print(f"{'':>19} {'mean |w| relative to Adam without decay, by gradient quartile':>62} {'test acc':>9}")
print(f"{'':>19} {'smallest':>14} {'2nd':>14} {'3rd':>14} {'largest':>14}")
for name, (model, h, test) in adam_runs.items():
    w = first_layer(model).detach().flatten()
    ratios = [(w[quartile == q].abs().mean() / plain.detach().flatten()[quartile == q].abs().mean()).item() for q in range(4)]
    print(f"{name:>19} " + " ".join(f"{r:>14.3f}" for r in ratios) + f" {test['accuracy']:>9.4f}")

# %% [markdown]
# The coupled L2 penalty leaves the quarter of weights with the smallest gradients at 0.194 of
# their undecayed size, and the quarter with the largest at 0.637: a factor of three between
# them. AdamW shrinks all four quartiles alike: to 0.997-0.998 of their size with the same
# coefficient 0.01 (its decay is not amplified by $1/\sqrt{\hat v}$, so the same number means a
# much weaker decay), and to 0.762-0.773 with a coefficient of 1.0. This uniformity is what
# Loshchilov and Hutter argue makes
# AdamW's decay a regularizer one can tune independently of the learning rate
# {cite}`loshchilov2019decoupled`. On this small problem the accuracies are close (0.8285 to
# 0.8486); the point is *which* weights get regularized.
#
# ## Dropout
#
# **Dropout** {cite}`srivastava2014dropout` sets each unit's output to zero with probability $p$
# at every training step, and multiplies the survivors by $1/(1-p)$ so that the expected output
# is unchanged; at test time it is switched off (the training loop's `evaluate` puts the model in
# evaluation mode). A unit cannot rely on any particular other unit being present, which
# discourages the co-adapted, memorising features that noisy labels invite. The review notes it
# as one of the techniques behind AlexNet {cite}`ranjan2018efficient,krizhevsky2012imagenet`.

# %%
dropout_runs = {
    "none": runs["no penalty"],
    "hidden 0.5": fit(dropout=0.5),
    "inputs 0.2, hidden 0.5": fit(dropout=0.5, input_dropout=0.2),
}
print(f"{'dropout':>23} {'train loss':>11} {'val loss':>9} {'test loss':>10} {'test acc':>9}")
for name, (model, h, test) in dropout_runs.items():
    print(f"{name:>23} {h.train_loss[-1]:>11.4f} {h.val_loss[-1]:>9.4f} {test['loss']:>10.4f} {test['accuracy']:>9.4f}")

# %% [markdown]
# The training loss, measured with dropout active, rises (0.0853 without, 0.2420 and 0.6353 with):
# part of that is dropout's own noise, part is harder memorising. On the clean test set, in this
# seed, dropout raises the accuracy a little: 0.8129 without, 0.8241 with dropout 0.5 on the
# hidden layer, 0.8330 with dropout on the inputs as well, although with hidden-layer dropout
# alone the test loss is worse (0.8456 against 0.7809). A point of accuracy is four or five of
# the 449 test images, a difference another seed can undo; the five seeds in "All together"
# show how little of it holds. Dropout shines with larger networks trained for longer
# {cite}`srivastava2014dropout`.
#
# ## Early stopping is a regularizer too
#
# Chapter 5 used early stopping to pick the number of epochs. It also regularizes: gradient
# descent starting from $\theta_0$ needs time to move far, so stopping early keeps the weights
# close to where they started, much as an L2 penalty keeps them close to zero. For a quadratic
# loss and weights starting at zero, stopping after $t$ steps of size $\eta$ acts roughly like
# an L2 penalty with $\lambda \propto 1/(\eta t)$ {cite}`goodfellow2016deep`, and Bengio lists
# early stopping among the regularizers for this reason {cite}`bengio2012practical`. Here is the run without a penalty
# again, this time with early stopping, recording how far the first layer has moved from its
# initial weights $W_1(0)$ after every step:

# %%
W1_init = first_layer(mlp()).detach().clone()  # every run starts from these weights
distance = []  # ||W1 - W1(0)|| after every step
record = lambda model, lr: distance.append((first_layer(model) - W1_init).norm().item())
model_es, h_es, test_es = fit(after_step=record, patience=10)
steps_per_epoch = math.ceil(N_TRAIN / 32)
model_l2, h_l2, _ = runs[f"L2 {LAM_L2}"]
model_none, h_none, _ = runs["no penalty"]
print(f"early stopping: best epoch {h_es.best_epoch}, stopped after epoch {h_es.stopped_epoch}")
print(f"{'first layer':>30} {'||W1||':>7} {'||W1 - W1(0)||':>15} {'test acc':>9}")
print(f"{'initial weights':>30} {W1_init.norm().item():>7.3f} {0.0:>15.3f}")
for name, model, test in (
    (f"early stopping (epoch {h_es.best_epoch})", model_es, test_es),
    ("no penalty, 40 epochs", model_none, runs["no penalty"][2]),
    (f"L2 {LAM_L2}, 40 epochs", model_l2, runs[f"L2 {LAM_L2}"][2]),
):
    w = first_layer(model).detach()
    print(f"{name:>30} {w.norm().item():>7.3f} {(w - W1_init).norm().item():>15.3f} {test['accuracy']:>9.4f}")

# %% mystnb={"image": {"alt": "Left: the distance of the first-layer weights from their initial values against the epoch, for the run without a penalty until early stopping ended it after epoch 14; it grows steadily to about 3.3, and a dotted line marks the best epoch, 4. Right: the validation loss on the noisy labels over 40 epochs without a penalty (black), which bottoms out near epoch 4 and climbs to about 2.3, and with the L2 penalty 0.01 (orange), which stays near 1.6."}}
fig, (ax_n, ax_v) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
ax_n.plot(np.arange(1, len(distance) + 1) / steps_per_epoch, distance, color=PALETTE["black"], label="no penalty (until stopped)")
ax_n.axvline(h_es.best_epoch, color=PALETTE["blue"], ls=":", label=f"best epoch {h_es.best_epoch}")
ax_n.set_xlabel("epoch")
ax_n.set_ylabel("||W1 - W1(0)||")
ax_n.set_title("How far the weights have moved")
ax_n.legend(fontsize=8)
ax_v.plot(range(1, h_none.epochs + 1), h_none.val_loss, color=PALETTE["black"], label="no penalty")
ax_v.plot(range(1, h_l2.epochs + 1), h_l2.val_loss, color=PALETTE["orange"], label=f"L2 {LAM_L2}")
ax_v.axvline(h_es.best_epoch, color=PALETTE["blue"], ls=":")
ax_v.set_xlabel("epoch")
ax_v.set_ylabel("validation loss (noisy labels)")
ax_v.set_title("Validation loss")
ax_v.legend(fontsize=8)
plt.show()

# %% [markdown]
# Early stopping chose epoch 4 (and stopped after epoch 14). By then the first layer had moved
# 1.579 from its initial weights, against 5.607 after 40 epochs without a penalty, and in this
# seed its test accuracy, 0.8441, is the same as that of the L2 penalty with $\lambda = 0.01$,
# with no $\lambda$ to tune and 14 epochs of training instead of 40. The two constrain
# different things, though:
# the L2 run moved *further* from its start (7.275), towards zero (its norm fell from 9.246 to
# 5.222), while early stopping limits the distance from the start. The two agree when training
# starts from small weights.
#
# ## All together
#
# The best of each family on the same 300 noisy examples, each with its strength chosen on the
# validation loss of the sweep above where there was a choice. Everything so far was one seed
# (one set of initial weights, one order of mini-batches, one set of dropout masks), and several
# of the differences are a point of accuracy or less, so each recipe is now trained with five
# seeds. The table gives the mean test accuracy and loss with their range over the seeds, and in
# how many of the five seeds the recipe beat no regularization trained with the same seed.

# %%
best_l2 = min(lambdas["L2"], key=lambda lam: sweep[("L2", lam)][1].val_loss[-1])
best_l1 = min(lambdas["L1 proximal"], key=lambda lam: sweep[("L1 proximal", lam)][1].val_loss[-1])
SEEDS = range(5)
recipes = {
    "no regularization": {},
    f"L2, lambda {best_l2}": {"penalty": l2_penalty(best_l2)},
    f"L1 proximal, lambda {best_l1}": {"after_step": l1_proximal_step(best_l1)},
    "dropout 0.2 (inputs), 0.5 (hidden)": {"dropout": 0.5, "input_dropout": 0.2},
    "early stopping (patience 10)": {"patience": 10},
}
seed_0 = [runs["no penalty"], sweep[("L2", best_l2)], sweep[("L1 proximal", best_l1)], dropout_runs["inputs 0.2, hidden 0.5"],
          (model_es, h_es, test_es)]  # seed 0 of each recipe was trained above
seed_runs = {name: [first[2]] + [fit(seed=seed, **options)[2] for seed in SEEDS[1:]]
             for (name, options), first in progress(zip(recipes.items(), seed_0), desc="seeds", total=len(recipes))}
baseline = [test["accuracy"] for test in seed_runs["no regularization"]]
print(f"{'5 seeds':>35} {'test accuracy: mean':>20} {'min':>7} {'max':>7} {'test loss: mean':>16} {'min':>7} {'max':>7} {'beats none':>11}")
for name, tests in seed_runs.items():
    acc, loss = [t["accuracy"] for t in tests], [t["loss"] for t in tests]
    wins = "" if name == "no regularization" else f"{sum(a > b for a, b in zip(acc, baseline))} of {len(acc)}"
    print(f"{name:>35} {np.mean(acc):>20.4f} {min(acc):>7.4f} {max(acc):>7.4f} {np.mean(loss):>16.4f} {min(loss):>7.4f} {max(loss):>7.4f} {wins:>11}")

# %% [markdown]
# The L2 penalty, with $\lambda$ chosen on the validation loss, is the one regularizer that beat
# no regularization in all five seeds, and by the most: mean test accuracy 0.8597 against
# 0.8000, and its worst seed (0.8396) is above the best seed without regularization (0.8129).
# Its mean test loss, though, is higher than without regularization (0.8332 against 0.8096):
# the strong penalty makes the network under-confident. Early stopping (0.8396) and L1 with its
# validation-chosen $\lambda = 0.003$ (0.8383) each beat no regularization in four seeds of
# five, and cannot be ranked against each other: their ranges overlap almost entirely. L1 has
# the lowest mean test loss (0.7186). Seed 0 alone told a different story for L1: there its
# accuracy tied with no regularization (0.8129 both). Dropout on inputs and hidden layer gains
# least, 0.8102 against 0.8000 on average, and its range (0.7639 to 0.8330) reaches below the
# worst seed without regularization (0.7728): on this small network and short run it is not a
# reliable improvement. What to take away are the effects larger than the seed-to-seed spread:
# L2's gain, L1's sparsity, the Adam/AdamW difference.
#
# ## Explore: the strength lambda
#
# Choose a penalty and step through its five strengths $\lambda$ from the sweep above (L2: 0.001 to
# 0.1; L1 proximal: 0.0003 to 0.03; number 3 is the strength of the histograms above). Each view
# shows the first-layer weights after training, on a log count axis, over those of the run without
# a penalty in grey, with the test accuracy and the fraction of exact zeros in its title. Nothing is
# trained here: the views are the runs of the sweep, so the website's controls, which switch
# between precomputed views, show all ten settings; the notebook's controls draw the same ones.
# Things to try:
#
# * L2 from number 1 to 5: the histogram narrows around zero and the accuracy rises to 0.8753 at
#   number 4 ($\lambda = 0.03$), then falls to 0.6058 at number 5; at no strength is a single
#   weight exactly zero.
# * L1 proximal from number 1 to 5: the spike of exact zeros grows, from 0.0355 of the weights to
#   0.6781 at number 3 and all of them at number 5 ($\lambda = 0.03$), where the network predicts one
#   class (accuracy 0.0869).
# * L1 proximal at number 2 ($\lambda = 0.001$): 0.1591 of the weights are exactly zero, and the test
#   accuracy, 0.8330, is above that without a penalty.

# %%
def plot_penalty(kind="L2", lam=0.01):
    """Histogram of the first-layer weights after training with this penalty, against no penalty."""
    model, h, test = sweep[(kind, lam)]
    w = first_layer(model).detach().cpu().flatten()
    fig, ax = plt.subplots()
    ax.hist(W1["no penalty"].clamp(-0.4, 0.4).numpy(), bins=bins, color=PALETTE["black"], alpha=0.35, label="no penalty")
    ax.hist(w.clamp(-0.4, 0.4).numpy(), bins=bins, color=PALETTE["blue"] if kind == "L2" else PALETTE["vermillion"], alpha=0.8,
            label=f"{kind}, lambda {lam}")
    ax.set_yscale("log")
    ax.set_xlabel("first-layer weight")
    ax.set_ylabel("count")
    ax.set_title(f"test accuracy {test['accuracy']:.4f}, exact zeros {(w == 0).float().mean().item():.4f}")
    ax.legend()
    return fig


def explore(kind, step):
    return plot_penalty(kind, lambdas[kind][step])


# %% output_varies="widget" tags=["nbval-ignore-output"]
explorer(
    explore,
    alt=lambda kind, step: (
        f"Histogram, on a log count axis, of the first-layer weights after training with the {kind} penalty at "
        f"lambda = {lambdas[kind][step]} (strength {step + 1} of 5), in colour, over the histogram without a "
        f"penalty in grey; the title gives the test accuracy and the fraction of weights that are exactly zero."),
    kind=Choice(list(lambdas), "L2", "penalty"),
    step=Choice([0, 1, 2, 3, 4], 2, "lambda #", labels=["1", "2", "3", "4", "5"]),
)

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** One SGD step leaves a weight at $v = 0.013$. The proximal L1 step uses
# $\eta = 0.2$ and $\lambda = 0.05$. What is the weight after the step? And for $v = -0.3$?

# %%
your_answer = None  # replace with your number, for v = 0.013
check.soft_threshold(your_answer, v=0.013, threshold=0.2 * 0.05)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The threshold is eta * lambda = 0.01; |0.013| > 0.01, so the weight moves 0.01 towards 0.
solution = math.copysign(max(abs(0.013) - 0.01, 0.0), 0.013)
check.soft_threshold(solution, v=0.013, threshold=0.2 * 0.05)
check.soft_threshold(-0.29, v=-0.3, threshold=0.2 * 0.05)

# %% [markdown]
# **Exercise 2.** The review writes the L2 term as $\lambda \sum_i \theta_i^2$ (no factor
# $\tfrac12$). With $\lambda = 0.004$, which `weight_decay` makes `torch.optim.SGD` perform the
# same updates?

# %%
your_answer = None
check.weight_decay_for_penalty(your_answer, lam=0.004)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The penalty's gradient is 2 * lambda * theta, and SGD adds weight_decay * theta.
solution = 2 * 0.004
check.weight_decay_for_penalty(solution, lam=0.004)

# %% [markdown]
# **Exercise 3.** A weight never receives a gradient (its input pixel is always blank). By what
# factor has `AdamW(lr=1e-3, weight_decay=0.01)` shrunk it after 400 steps? What would
# `Adam(lr=1e-3, weight_decay=0.01)` do to it instead (think, then try it)?

# %%
your_answer = None
check.adamw_shrink_factor(your_answer, lr=1e-3, weight_decay=0.01, steps=400)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Each step multiplies the weight by (1 - lr * wd). Under Adam with coupled L2, the only
# gradient is wd * theta; Adam divides it by its own root-mean-square, so every step moves the
# weight by about lr (0.001) towards 0, whatever wd is. A weight that starts at 1.0 is at about 0.64
# after 400 steps (AdamW: 0.996); a typical first-layer weight (|w| below 0.1) reaches about 0
# within roughly 100 steps.
solution = (1 - 1e-3 * 0.01) ** 400
check.adamw_shrink_factor(solution, lr=1e-3, weight_decay=0.01, steps=400)

# %% [markdown]
# **Exercise 4.** During training, `nn.Dropout(p=0.2)` zeroes a fifth of its inputs. By what
# factor does it multiply the others?

# %%
your_answer = None
check.dropout_scale(your_answer, p=0.2)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Survivors are scaled by 1 / (1 - p) so that the expected output equals the input.
solution = 1 / (1 - 0.2)
check.dropout_scale(solution, p=0.2)

# %% [markdown]
# **Exercise 5 (open).** Combine the regularizers: L2 with early stopping, or dropout with L2.
# Do the gains add up on the noisy 300 examples? Try also the whole clean training split: how
# much does each regularizer still help?
#
# ## Summary
#
# * **L2** ($\lambda \sum_i \theta_i^2$) shrinks every weight in proportion to its size; tuned on
#   validation loss it lifted the mean test accuracy on 300 noisy examples from 0.8000 to
#   0.8597 over five seeds, and beat no regularization in every one.
# * **L1** ($\lambda \sum_i |\theta_i|$) pushes small weights to zero. With subgradient descent
#   they only hover near zero (72% below $10^{-3}$, none exactly 0); the proximal
#   soft-thresholding step makes 68% exactly zero at the same accuracy.
# * **Weight decay** with coefficient $2\lambda$ is the L2 penalty for SGD (the weights agree to
#   $10^{-9}$ relative in float64, while $\lambda$ 1% off misses by 3e-02) and for
#   `torch.optim.Adam`; under Adam the decay is divided by $\sqrt{\hat v}$: it left the quarter
#   of weights with the smallest gradients at 0.19 of their size, the quarter with the largest at
#   0.64. **AdamW** decouples it and shrinks all weights alike.
# * **Dropout** made memorising harder, but its gain in test accuracy here (0.8102 against
#   0.8000 on average) is smaller than the spread between seeds.
# * **Early stopping** kept the weights near their start (moved 1.579 against 5.607), in 14
#   epochs instead of 40, and beat no regularization in four seeds of five (0.8396 on average).
#
# ## References
#
# {cite}`ranjan2018efficient` (section II-B), {cite}`bengio2012practical` (regularization
# among the hyperparameters), {cite}`tibshirani1996regression` (L1 and sparsity),
# {cite}`parikh2014proximal` (proximal steps), {cite}`krogh1992simple` (weight decay),
# {cite}`loshchilov2019decoupled` (AdamW), {cite}`srivastava2014dropout` (dropout),
# {cite}`krizhevsky2012imagenet` (dropout in AlexNet), {cite}`goodfellow2016deep` (early
# stopping as L2 regularization).
