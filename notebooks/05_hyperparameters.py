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
# # 5. Hyperparameters
#
# An optimizer's update rule is only half of training. The other half is a list of numbers that
# must be chosen before training starts: the learning rate and how it changes, the mini-batch
# size, how long to train, the momentum, the network's size, how the inputs are prepared, and how
# to search among all of these. The review this course follows {cite}`ranjan2018efficient`
# (section II-B) draws its list from Bengio's practical recommendations
# {cite}`bengio2012practical`. This chapter takes the items one at a time and runs a small
# experiment for each, on the handwritten digits, so that every recommendation comes with a
# measured number you can re-run and question. (One more item on that list, the strength
# $\lambda$ of a weight penalty, has chapter 6 to itself.)
#
# **Learning objectives.** After this chapter you can
#
# 1. find a good initial learning rate with a learning-rate range test, and recognise the
#    largest rate that does not diverge;
# 2. write the common learning-rate schedules (step, exponential, Bengio's $1/t$, cosine, warm-up,
#    reduce-on-plateau) in closed form and compare them on the same budget;
# 3. measure the mini-batch size's effect on throughput (examples per second) and on the
#    quality reached in a fixed number of epochs;
# 4. let early stopping choose the number of iterations, and use it to justify large hidden
#    layers;
# 5. say when momentum's effective step $\eta/(1-\beta)$ describes a run and when it does not;
# 6. explain how preprocessing (standardization, whitening) changes the conditioning of the
#    problem and the speed of gradient descent;
# 7. compare grid search with random search at the same budget.

# %%
import copy
import functools
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from effdnn_lib import device as dev
from effdnn_lib.data import Split, load_digits, relabel
from effdnn_lib.exercises import ch05 as check
from effdnn_lib.memory import make_mlp
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.progress import progress
from effdnn_lib.training import (
    ConstantLR,
    CosineAnnealing,
    EarlyStopping,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    ReduceOnPlateau,
    StepDecay,
    TrainingDiverged,
    accuracy,
    evaluate,
    lr_range_test,
    train,
)
from effdnn_lib.widgets import Choice, explorer

setup(seed=0, threads=1)

# %% [markdown]
# ## The task and the loop
#
# The 1,797 digits are split into training (55%), validation (20%) and test (25%) examples. The
# validation split is what every hyperparameter decision below looks at; the test split is only
# used to report how good the final choice is. The model is a one-hidden-layer ReLU network,
# $64 \to$ `width` $\to 10$.
#
# The networks of this chapter train in **float64** (data and models are converted with
# `.double()`; the initial weights are the same as in float32). The reason is reproducibility,
# not accuracy: in float32, the tiny rounding differences between CPU kernels (about $10^{-7}$,
# different on another processor or library build) grow over hundreds of steps into different
# third and fourth decimals of a loss, and into a different test example or two. In float64 they
# start near $10^{-16}$ and stay invisible, so the numbers printed below are facts about the
# algorithms, the same on every machine. For speed you would train in float32 (or lower), and the
# throughput measurement in section 3 does.

# %%
device = dev.get_device()
digits = load_digits(val_fraction=0.2)
train_set, val_set, test_set = (Split(digits[name].x.double(), digits[name].y) for name in ("train", "val", "test"))
print(f"training {len(train_set)}, validation {len(val_set)}, test {len(test_set)} examples of {train_set.x.shape[1]} pixels")
print(f"rounding unit (machine epsilon): float32 {torch.finfo(torch.float32).eps:.1e}, float64 {torch.finfo(torch.float64).eps:.1e}")


def mlp(width=64, seed=0):
    """A 64 -> width -> 10 ReLU network in float64, initialised from ``seed``."""
    torch.manual_seed(seed)
    return make_mlp([64, width, 10]).double().to(device)


def test_accuracy(model):
    return evaluate(model, test_set, metrics={"accuracy": accuracy})["accuracy"]


# %% [markdown]
# All experiments in this chapter and the next two use the same small training loop,
# `effdnn_lib.training.train`. It is an ordinary mini-batch loop (shuffle, forward, loss,
# backward, `optimizer.step()`) plus the few things this chapter needs: a learning-rate schedule,
# early stopping that puts back the best weights, and a check that stops a diverging run with a
# readable `TrainingDiverged` error instead of carrying NaNs forward. It accepts any
# `torch.optim.Optimizer`, the course's own from chapters 1-4 included.

# %%
show_source(train)

# %% [markdown]
# ## 1. The initial learning rate: a range test
#
# Bengio calls the learning rate the single most important hyperparameter, and suggests a
# default of $\eta = 0.01$ as a first guess {cite}`bengio2012practical,ranjan2018efficient`.
# A better first guess costs one short run. Smith's **learning-rate range test**
# {cite}`smith2017cyclical` trains the model for several epochs while the rate rises *linearly*
# from a low to a high value, and reads the accuracy: the rate where it starts to climb and the
# rate where it stalls or falls bound a good range. Smith later used the same test to pick the
# largest rate of his one-cycle policy {cite}`smith2018disciplined`. The form most libraries use
# today, and the one implemented here, is the learning-rate finder of fast.ai, as described by
# Gugger {cite}`gugger2018lrfinder,howard2020fastai`: one mini-batch per rate, the rates growing
# geometrically from $\eta_\min$ to $\eta_\max$ over $K$ mini-batches,
#
# $$\eta_k = \eta_\min \left(\frac{\eta_\max}{\eta_\min}\right)^{k/(K-1)}, \qquad k = 0, \dots, K-1,$$
#
# recording the loss after each, smoothed by a bias-corrected moving average. While $\eta$ is too
# small the loss hardly moves; then it falls faster and faster; past some rate it turns and
# explodes. The sweep stops there, and a rate somewhat below the bottom of the curve is a good
# start: Gugger's advice is an order of magnitude below the minimum, and fastai's `minimum`
# suggestion is exactly a tenth of the rate with the lowest smoothed loss, the rule used here.

# %%
show_source(lr_range_test)

# %% mystnb={"image": {"alt": "Smoothed training loss of the learning-rate range test against the learning rate, on a log axis from 0.0001 to about 3.5, one mini-batch per rate. The loss stays near 2.3 up to about 0.01, falls ever faster to its lowest point near 2, then shoots up to about 8 where the sweep stops; a dashed line marks the suggested initial rate, 0.196, a tenth of the rate with the lowest loss."}}
model = mlp()
sweep = lr_range_test(model, torch.optim.SGD(model.parameters(), lr=0.01), train_set, lr_min=1e-4, lr_max=10.0, steps=100)
lowest = int(np.argmin(sweep.losses))
print(f"the sweep tried {len(sweep.lrs)} rates and stopped at lr = {sweep.lrs[-1]:.3f} (loss {sweep.losses[-1]:.3f})")
print(f"lowest smoothed loss {sweep.losses[lowest]:.3f} at lr = {sweep.lrs[lowest]:.3f}; suggested initial rate {sweep.suggested_lr:.4f}")

fig, ax = plt.subplots()
ax.plot(sweep.lrs, sweep.losses, color=PALETTE["blue"])
ax.axvline(sweep.suggested_lr, color=PALETTE["vermillion"], ls="--", label=f"suggested {sweep.suggested_lr:.3f}")
ax.set_xscale("log")
ax.set_xlabel("learning rate (one mini-batch each)")
ax.set_ylabel("smoothed training loss")
ax.set_title("Learning-rate range test, SGD")
ax.legend()
plt.show()

# %% [markdown]
# The sweep suggests about $0.2$, twenty times the textbook default. Is that right? Train the
# same network for 10 epochs at a range of fixed rates and look at the validation loss, with
# three seeds (three sets of initial weights and orders of the mini-batches), since neighbouring
# rates can end close together. A rate that makes the loss explode ends with the loop's
# `TrainingDiverged` message, printed here, rather than with a column of NaNs.

# %%
LR_SEEDS = range(3)  # the seed sets the initial weights and the order of the mini-batches
print("validation loss after 10 epochs, mean (min-max) over 3 seeds")
for lr in (0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0):
    losses, errors = [], []
    for seed in LR_SEEDS:
        model = mlp(seed=seed)
        try:
            h = train(model, torch.optim.SGD(model.parameters(), lr=lr), train_set, epochs=10, batch_size=32, val_data=val_set, seed=seed)
            losses.append(h.val_loss[-1])
        except TrainingDiverged as error:
            errors.append(error)
    if losses:
        print(f"lr = {lr:<5}: {np.mean(losses):.4f} ({min(losses):.4f}-{max(losses):.4f}), {len(losses)} of 3 seeds trained")
    if errors:
        print(f"lr = {lr:<5}: {len(errors)} of 3 seeds diverged; the first: {errors[0]}")

# %% [markdown]
# The best of these rates is $0.3$ (mean validation loss 0.1294; even its worst seed, 0.1335, is
# better than every seed of every other rate), within a factor of two of the suggestion; $1.0$ is
# nearly as good (0.1581), $3.0$ blows up in the first epoch with every seed, and the default
# $0.01$ is still far from done after 10 epochs (1.1972). This is roughly in line with Bengio's
# rule of
# thumb that the best rate is usually close to the largest one that does not diverge
# {cite}`bengio2012practical`: here the best rate, 0.3, is within a factor of about three of the
# largest tried rate that trains (1.0). The range test finds that edge in 91 mini-batches, less
# than a third of one 10-epoch run (310 mini-batches).
#
# ## 2. Learning-rate schedules
#
# Stochastic gradients keep jittering around a minimum unless the rate shrinks, so most recipes
# lower $\eta$ as training goes on. With $t$ the epoch (counted from 0) and $\eta_0$ the initial
# rate, the usual schedules are
#
# | schedule | $\eta_t$ |
# |---|---|
# | step | $\eta_0\,\gamma^{\lfloor t/s \rfloor}$ |
# | exponential | $\eta_0\,\gamma^{t}$ |
# | $1/t$ after $\tau$ {cite}`bengio2012practical` | $\eta_0\,\tau / \max(t, \tau)$ |
# | cosine {cite}`loshchilov2017sgdr` | $\eta_\min + \tfrac12(\eta_0 - \eta_\min)\,(1 + \cos(\pi t / T))$ |
# | linear warm-up over $W$ epochs, then $\eta^\text{after}$ {cite}`goyal2017accurate` | $\eta^\text{after}_0\,(t+1)/W$ for $t < W$, then $\eta^\text{after}_{t-W}$ |
# | reduce on plateau | $\eta \leftarrow \eta \cdot \text{factor}$ when the validation loss has not improved for more than `patience` epochs |
#
# The $1/t$ schedule is the one Bengio recommends {cite}`bengio2012practical`: keep $\eta_0$ for
# the first $\tau$ updates, then let it fall as $1/t$, a decay that meets Robbins and Monro's
# conditions for stochastic approximation, $\sum_t \eta_t = \infty$ and $\sum_t \eta_t^2 < \infty$
# {cite}`robbins1951stochastic`; its extra hyperparameter $\tau$ says when the decrease starts.
# (Bengio counts $t$ in updates; the comparison below counts it in epochs, like the other
# schedules.) The last row is the rule in the review's Algorithm 2 ("if validation error
# plateaus, $\eta \leftarrow \eta/10$")
# {cite}`ranjan2018efficient,marquez2018deep`. Each is a few lines in the library, and the tests
# check them against their closed forms and against `torch.optim.lr_scheduler`:

# %%
show_source(InverseTimeDecay)

# %%
show_source(CosineAnnealing)

# %%
show_source(ReduceOnPlateau)

# %% [markdown]
# Now the comparison: SGD with momentum 0.9, the same start $\eta_0 = 0.1$, the same 20 epochs,
# and three seeds for each schedule, since the differences turn out to be small. The last column
# counts the seeds in which a schedule ended below the constant rate trained with the same seed.

# %%
EPOCHS, ETA0, SCHEDULE_SEEDS = 20, 0.1, range(3)
schedules = {  # functions that make a fresh schedule (ReduceOnPlateau has state)
    "constant": lambda: ConstantLR(ETA0),
    "step (x0.1 every 7)": lambda: StepDecay(ETA0, step_size=7, gamma=0.1),
    "exponential (x0.8)": lambda: ExponentialDecay(ETA0, gamma=0.8),
    "Bengio 1/t (tau 5)": lambda: InverseTimeDecay(ETA0, tau=5),
    "cosine": lambda: CosineAnnealing(ETA0, t_max=EPOCHS),
    "warm-up 3 + cosine": lambda: LinearWarmup(CosineAnnealing(ETA0, t_max=EPOCHS - 3), warmup=3),
    "plateau (x0.1, patience 3)": lambda: ReduceOnPlateau(ETA0, factor=0.1, patience=3),
}
schedule_runs = {}  # (name, seed) -> (history, test accuracy); the seed sets the initial weights and the batch order
for name, seed in progress([(name, seed) for name in schedules for seed in SCHEDULE_SEEDS], desc="schedules"):
    model = mlp(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=ETA0, momentum=0.9)
    h = train(model, opt, train_set, epochs=EPOCHS, batch_size=64, val_data=val_set, metrics={"accuracy": accuracy},
              schedule=schedules[name](), seed=seed)
    schedule_runs[(name, seed)] = (h, test_accuracy(model))

print(f"{'':>27} {'':>9} {'mean (min-max) over 3 seeds':^70} {'final val loss':>15}")
print(f"{'schedule':>27} {'last lr':>9} {'final val loss':>23} {'best val loss':>23} {'test accuracy':>23} {'below constant':>15}")
for name in schedules:
    runs = [schedule_runs[(name, seed)] for seed in SCHEDULE_SEEDS]
    cols = [[h.val_loss[-1] for h, _ in runs], [min(h.val_loss) for h, _ in runs], [acc for _, acc in runs]]
    below = sum(h.val_loss[-1] < schedule_runs[("constant", seed)][0].val_loss[-1] for seed, (h, _) in zip(SCHEDULE_SEEDS, runs))
    print(f"{name:>27} {runs[0][0].lr[-1]:>9.2e} " + " ".join(f"{np.mean(c):>8.4f} ({min(c):.4f}-{max(c):.4f})" for c in cols)
          + ("" if name == "constant" else f" {below:>9} of {len(runs)}"))

# %% mystnb={"image": {"alt": "Left: the learning rate of the seven schedules over 20 epochs, all starting from 0.1 (the warm-up from a third of it): constant stays at 0.1, step and plateau drop in steps, exponential and cosine decay smoothly, and Bengio's 1/t ends highest of the decaying ones, near 0.03. Right: the validation loss of each run with seed 0, on a log scale: all fall steeply in the first five epochs (the warm-up run starts highest) and then lie nearly on top of each other."}}
fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
for name in schedules:
    h, _ = schedule_runs[(name, 0)]
    epochs = range(1, h.epochs + 1)
    ax_lr.plot(epochs, h.lr, label=name)
    ax_loss.plot(epochs, h.val_loss, label=name)
ax_lr.set_xlabel("epoch")
ax_lr.set_ylabel("learning rate")
ax_lr.set_title("the schedules")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("validation loss")
ax_loss.set_yscale("log")
ax_loss.set_title("SGD + momentum 0.9 on digits (seed 0)")
ax_loss.legend(fontsize=7)
plt.show()

# %% [markdown]
# On this small problem the schedule changes little, and that is itself worth knowing. Over
# three seeds, every decaying schedule finishes with a lower mean validation loss (0.1344 to
# 0.1446) than the constant rate (0.1470), whose last epochs keep jittering, and with the same
# seed it does so every time except once (warm-up + cosine, 2 of 3). That includes Bengio's $1/t$
# schedule (0.1408), although after 20 epochs its rate has only fallen to a quarter of $\eta_0$
# (0.0263, where the others end at 0.00144 or less). The gain is
# small against the spread between seeds, though (the constant rate alone ends anywhere from
# 0.1362 to 0.1574); the best validation loss each run reached along the way is almost the same
# (means 0.1331 to 0.1356), and so is the test accuracy (means 0.9696 to 0.9725, the constant
# rate's the highest). A schedule buys a quieter end of training, not a different model. The
# warm-up's purpose, protecting the first steps from a large rate while the weights
# are still random, does not show here because $\eta_0 = 0.1$ is safe from the start; it matters
# with rates near the divergence edge and with large batches {cite}`goyal2017accurate`.
#
# ## 3. Mini-batch size: throughput and quality
#
# A mini-batch of $B$ examples costs one matrix product per layer instead of $B$ small ones, so
# larger batches keep the hardware busier (chapter 0 measured why). The first measurement is the
# raw speed of training steps, in examples per second, for the same network:

# %%
def examples_per_second(batch_size, n_examples=512, repeats=3):
    """Training throughput of the 64-64-10 network in float32 at this batch size (the best of a few repeats)."""
    model = mlp().float()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    steps = max(2, n_examples // batch_size)
    copies = math.ceil(batch_size / len(train_set))  # B = 1024 needs the 989 examples twice
    x, y = train_set.x.float().repeat(copies, 1)[:batch_size].to(device), train_set.y.repeat(copies)[:batch_size].to(device)
    best = math.inf
    for _ in range(repeats):
        dev.synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        dev.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return steps * batch_size / best


batch_sizes = [1, 4, 16, 64, 256, 1024]
throughput = {b: examples_per_second(b) for b in progress(batch_sizes, desc="throughput")}

# %% mystnb={"image": {"alt": "Training throughput in examples per second against the mini-batch size B from 1 to 1024, both axes on a log scale, measured on the machine that ran the notebook: it rises with B over the whole range, by more than a hundredfold from B = 1 to B = 1024."}} output_varies="timings" tags=["nbval-ignore-output"]
for b, rate in throughput.items():
    print(f"B = {b:>5}: {rate:>10,.0f} examples per second ({rate / throughput[1]:5.1f} x B = 1)")
fig, ax = plt.subplots()
ax.plot(list(throughput), list(throughput.values()), marker="o", color=PALETTE["blue"])
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("mini-batch size B")
ax.set_ylabel("examples per second")
ax.set_title("Throughput of one training step (this machine)")
plt.show()

# %% [markdown]
# On the machine that built this page, steps on $B = 1024$ examples processed more than a hundred
# times as many examples per second as steps on single examples, and the gain flattened out at
# the largest sizes, where the products are large enough to keep the CPU busy. Your numbers
# above will differ; the shape of the curve should not.
#
# Speed per example is only half of it: 10 epochs with $B = 512$ make 20 updates where $B = 8$
# makes 1,240. Bengio's default is $B = 32$ {cite}`bengio2012practical`, the size most runs of
# this chapter use. The second measurement trains for the same 10 epochs at each size, once with a
# fixed rate and once with the rate scaled in proportion to $B$ (the "linear scaling" rule of
# {cite}`goyal2017accurate`):

# %%
batch_runs = {}
for b in (8, 32, 128, 512):
    for rule, lr in (("fixed lr 0.05", 0.05), ("lr 0.05 x B/32", 0.05 * b / 32)):
        model = mlp()
        try:
            h = train(model, torch.optim.SGD(model.parameters(), lr=lr), train_set, epochs=10, batch_size=b, val_data=val_set)
            batch_runs[(b, rule)] = (h.steps, h.val_loss[-1], test_accuracy(model))
        except TrainingDiverged as error:
            batch_runs[(b, rule)] = (error.step, math.nan, math.nan)
            print(f"B = {b}, {rule}: {error}")
print(f"{'B':>4} {'rule':>15} {'lr':>6} {'updates':>8} {'val loss':>9} {'test acc':>9}")
for (b, rule), (steps, loss, acc) in batch_runs.items():
    lr = 0.05 if rule.startswith("fixed") else 0.05 * b / 32
    print(f"{b:>4} {rule:>15} {lr:>6.4g} {steps:>8} {loss:>9.4f} {acc:>9.4f}")

# %% [markdown]
# With a fixed rate, larger batches reach much worse models in the same number of epochs (test
# accuracy 0.9666 at $B = 8$, 0.6459 at $B = 512$): they simply make fewer updates. Scaling the
# rate with $B$ removes almost all of the difference: all four sizes end with the same test
# accuracy (0.9532) and validation losses between 0.2457 and 0.2523, although $B = 512$ made 20
# updates and $B = 8$ made 1,240. (At $B = 8$ the scaled rate, 0.0125, is below the fixed 0.05 and
# does a little worse than it in this one seed: 0.9532 against 0.9666.) So the practical recipe
# is: pick the largest batch that keeps
# the hardware efficient (and fits in memory, chapter 0), then retune the learning rate for it.
# The rule cannot be stretched forever: at $B = 512$ the scaled rate is already 0.8, not far
# below the rate that diverged in section 1 (3.0).
#
# ## 4. The number of iterations: early stopping
#
# How many epochs? Bengio's answer is not to choose at all: train while the validation loss
# improves, keep the best weights seen, stop once it has not improved for `patience` epochs
# {cite}`bengio2012practical,prechelt1998early`. The rule itself is a few lines:

# %%
show_source(EarlyStopping)

# %% [markdown]
# The digits are too clean for this network to overfit within a few epochs. To make overfitting
# visible in a short run, we do what real data sets do for us: give a part of the examples a
# wrong label. Here 30% of the training and validation examples receive a random class (which is
# sometimes the right one, so 28% of the training and 26% of the validation labels end up
# wrong); the test labels stay correct, so test accuracy still measures what we want.

# %% mystnb={"image": {"alt": "Training loss (blue) and validation loss (orange) on the 30% noisy labels over 40 epochs of Adam with 256 hidden units. The training loss falls steadily to about 0.25, while the validation loss bottoms out at epoch 9 (dotted line) and then climbs to about 2; a shaded band marks the 8 epochs of patience after which early stopping stopped."}}
noisy_train = (train_set.x, relabel(train_set.y, 0.3, seed=1))
noisy_val = (val_set.x, relabel(val_set.y, 0.3, seed=2))
print(f"labels changed: {(noisy_train[1] != train_set.y).float().mean().item():.4f} of training, "
      f"{(noisy_val[1] != val_set.y).float().mean().item():.4f} of validation examples (test labels untouched)")


def noisy_runs(width, epochs=40, patience=8, seed=0):
    """Adam (lr 2e-3) on the noisy labels for all ``epochs``, and early stopping (``patience``) on the same run.
    ``seed`` sets the initial weights and the order of the mini-batches.

    A run with early stopping is the first epochs of this run (same seed, same steps), so it is not
    trained again: the stopping rule is replayed on the validation curve, and the weights of the best
    epoch are the snapshot taken at the end of that epoch."""
    model = mlp(width, seed)
    steps_per_epoch, steps_done, snapshots = math.ceil(len(noisy_train[0]) / 64), [0], {}  # snapshots: epoch -> weights

    def snapshot(model, lr):  # called after every step: keep the weights at the end of each epoch
        steps_done[0] += 1
        if steps_done[0] % steps_per_epoch == 0:
            snapshots[steps_done[0] // steps_per_epoch] = copy.deepcopy(model.state_dict())

    h_all = train(model, torch.optim.Adam(model.parameters(), lr=2e-3), noisy_train, epochs=epochs, batch_size=64,
                  val_data=noisy_val, seed=seed, after_step=snapshot)
    full = evaluate(model, test_set, metrics={"accuracy": accuracy})
    stopper = EarlyStopping(patience)
    for epoch, loss in enumerate(h_all.val_loss, start=1):
        stopper.update(loss, epoch)
        if stopper.should_stop:
            break
    model.load_state_dict(snapshots[stopper.best_epoch])
    stopped = evaluate(model, test_set, metrics={"accuracy": accuracy})
    return {"best_epoch": stopper.best_epoch, "stopped_epoch": epoch, "updates": epoch * steps_per_epoch,
            "best_val_loss": stopper.best, "model": model}, stopped, h_all, full


width_runs = {(256, 0): noisy_runs(256)}  # keyed by (width, seed)
h_stop, stopped, h_all, full = width_runs[(256, 0)]
print(f"early stopping: best validation loss {h_stop['best_val_loss']:.4f} after epoch {h_stop['best_epoch']}, "
      f"stopped after epoch {h_stop['stopped_epoch']} ({h_stop['updates']} updates)")
print(f"  restored weights: test loss {stopped['loss']:.4f}, test accuracy {stopped['accuracy']:.4f}")
print(f"all 40 epochs ({h_all.steps} updates): validation loss {h_all.val_loss[-1]:.4f}, training loss {h_all.train_loss[-1]:.4f}")
print(f"  final weights: test loss {full['loss']:.4f}, test accuracy {full['accuracy']:.4f}")
model = mlp(256, 0)  # the check: a real run with early stopping ends with the same weights
h_check = train(model, torch.optim.Adam(model.parameters(), lr=2e-3), noisy_train, epochs=40, batch_size=64,
                val_data=noisy_val, patience=8, seed=0)
same = all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), h_stop["model"].state_dict().values()))
print(f"train(..., patience=8) stops after epoch {h_check.stopped_epoch} with epoch {h_check.best_epoch}'s weights, "
      f"bit for bit those of the replay: {same}")

fig, ax = plt.subplots()
epochs = range(1, h_all.epochs + 1)
ax.plot(epochs, h_all.train_loss, label="training loss", color=PALETTE["blue"])
ax.plot(epochs, h_all.val_loss, label="validation loss", color=PALETTE["orange"])
ax.axvline(h_stop["best_epoch"], color=PALETTE["black"], ls=":", label=f"best epoch {h_stop['best_epoch']}")
ax.axvspan(h_stop["best_epoch"], h_stop["stopped_epoch"], color=PALETTE["sky"], alpha=0.2, label="patience: 8 epochs")
ax.set_xlabel("epoch")
ax.set_ylabel("loss (30% noisy labels)")
ax.set_title("Where early stopping stops: 256 hidden units, Adam")
ax.legend()
plt.show()

# %% [markdown]
# The training loss falls all the way (0.2470 after 40 epochs, although 28% of the labels are
# wrong: the network memorises them), while the validation loss bottoms out after epoch 9 and
# then climbs. Early stopping waited 8 more epochs to be sure, stopped after epoch 17 and put
# back epoch 9's weights. Those weights are better on the clean test set, test accuracy 0.9287
# against 0.8174 for the network trained for all 40 epochs, and cost 272 updates instead of 640.
# This is one seed, but the gap is far larger than the spread between seeds: section 6 repeats
# the comparison with three seeds at four widths, and early stopping wins every time. (A run with
# early stopping is, step for step, the beginning of the run without it, so `noisy_runs` trains
# once and replays the stopping rule on the validation curve; the last line above checks that a
# real `train(..., patience=8)` ends with the same weights, bit for bit. Section 6 saves that
# much training.)
#
# ## 5. Momentum
#
# Momentum (chapter 2) keeps a running sum of past gradients, $v \leftarrow \beta v + g$,
# $\theta \leftarrow \theta - \eta v$. Under a gradient $g$ that does not change, $v$ grows
# towards $g / (1 - \beta)$, so the step becomes $\eta / (1 - \beta)$ instead of $\eta$
# {cite}`polyak1964some,sutskever2013importance`. With the rate fixed at Bengio's default
# $\eta = 0.01$, the momentum coefficient $\beta$ alone decides how fast the validation loss falls
# below 0.2 (three seeds each):

# %%
TARGET, MOMENTUM_EPOCHS, MOMENTUM_SEEDS = 0.2, 15, range(3)
STEPS_PER_EPOCH = math.ceil(len(train_set) / 32)


def momentum_run(lr, beta, seed):
    """SGD with momentum ``beta`` at rate ``lr`` (B = 32, 15 epochs): the history, ||theta|| at the end of each epoch,
    and the final validation accuracy."""
    model = mlp(seed=seed)
    norms, steps_done = [], [0]

    def record(model, lr):  # called after every step: ||theta|| at the end of each epoch
        steps_done[0] += 1
        if steps_done[0] % STEPS_PER_EPOCH == 0:
            norms.append(torch.cat([p.flatten() for p in model.parameters()]).norm().item())

    h = train(model, torch.optim.SGD(model.parameters(), lr=lr, momentum=beta), train_set, epochs=MOMENTUM_EPOCHS,
              batch_size=32, val_data=val_set, seed=seed, after_step=record)
    return h, norms, evaluate(model, val_set, metrics={"accuracy": accuracy})["accuracy"]


momentum_runs = {}  # (lr, beta, seed) -> (history, norms)
for lr, beta, seed in progress([(lr, b, s) for lr, b in ((0.01, 0.0), (0.01, 0.9), (0.01, 0.99), (0.1, 0.0),
                                                         (0.001, 0.99), (1.0, 0.0), (0.1, 0.9)) for s in MOMENTUM_SEEDS],
                               desc="momentum"):
    momentum_runs[(lr, beta, seed)] = momentum_run(lr, beta, seed)


def spread(values, digits=4):
    return f"{np.mean(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


print(f"eta = 0.01; mean (min-max) over {len(MOMENTUM_SEEDS)} seeds")
print(f"{'momentum':>9} {'eta/(1-beta)':>13} {'epochs to val loss < 0.2':>25} {'val loss after 15':>25}")
for beta in (0.0, 0.9, 0.99):
    runs = [momentum_runs[(0.01, beta, seed)][0] for seed in MOMENTUM_SEEDS]
    reached = [next((str(i + 1) for i, v in enumerate(h.val_loss) if v < TARGET), "-") for h in runs]
    print(f"{beta:>9} {0.01 / (1 - beta):>13.3f} {', '.join(reached):>25} {spread([h.val_loss[-1] for h in runs]):>25}")

# %% [markdown]
# Without momentum the run is still far from the target after 15 epochs (a dash: not reached);
# $\beta = 0.9$ reaches it after 7 or 8 epochs, and much of that gain is the larger effective step
# (0.1 instead of 0.01). But $\beta = 0.99$ does not fit that story. Its effective step is 1.0, and
# section 1 trained plain SGD at $\eta = 1.0$ to a validation loss of 0.1581 in 10 epochs, yet this
# run ends far higher. The step size is not what goes wrong; the equivalence itself does.
#
# $\eta/(1-\beta)$ describes a steady state, and momentum needs time to get there and time to
# leave it. After $k$ steps under a constant gradient the buffer holds the fraction $1 - \beta^k$ of
# its steady value, and a gradient from $k$ steps ago still carries the weight $\beta^k$: the
# buffer's memory is about $1/(1-\beta)$ steps. The equivalence holds when the gradient changes
# little over that memory. So compare the memory with the run: one epoch here is 31 steps of 32
# examples, the whole run 465. The test of the equivalence: three ways each to take the effective
# steps 0.1 and 1.0, with three seeds each.

# %%
print(f"one epoch = {STEPS_PER_EPOCH} steps; the run = {MOMENTUM_EPOCHS * STEPS_PER_EPOCH} steps; "
      f"beta = 0.99's memory of 100 steps = {100 / STEPS_PER_EPOCH:.1f} epochs; mean (min-max) over 3 seeds")
print(f"{'eta/(1-beta)':>12} {'eta':>6} {'beta':>5} {'memory':>7} {'built up':>9} {'best val loss':>23} {'at epoch':>9} "
      f"{'val loss after 15':>23} {'val acc after 15':>23} {'||theta|| after 15':>20}")
print(f"{'':>12} {'':>6} {'':>5} {'(steps)':>7} {'in 1 epoch':>9}")
for effective, pairs in ((0.1, ((0.1, 0.0), (0.01, 0.9), (0.001, 0.99))), (1.0, ((1.0, 0.0), (0.1, 0.9), (0.01, 0.99)))):
    for lr, beta in pairs:
        runs = [momentum_runs[(lr, beta, seed)] for seed in MOMENTUM_SEEDS]
        best_epochs = ", ".join(str(int(np.argmin(h.val_loss)) + 1) for h, _, _ in runs)
        print(f"{effective:>12} {lr:>6} {beta:>5} {1 / (1 - beta):>7.0f} {1 - beta**STEPS_PER_EPOCH:>9.2f} "
              f"{spread([min(h.val_loss) for h, _, _ in runs]):>23} {best_epochs:>9} {spread([h.val_loss[-1] for h, _, _ in runs]):>23} "
              f"{spread([acc for _, _, acc in runs]):>23} {spread([n[-1] for _, n, _ in runs], 1):>20}")
for lr, beta in ((1.0, 0.0), (0.1, 0.9), (0.01, 0.99)):
    print(f"eta {lr}, beta {beta}: training loss in epoch 15 {spread([momentum_runs[(lr, beta, seed)][0].train_loss[-1] for seed in MOMENTUM_SEEDS], 3)}")

# %% mystnb={"image": {"alt": "Left: validation loss over 15 epochs for three ways to take the effective step eta / (1 - beta) = 1.0, three seeds each: eta 1.0 without momentum (black), eta 0.1 with beta 0.9 (blue) and eta 0.01 with beta 0.99 (vermillion). Black and blue settle near 0.15 to 0.2, while vermillion reaches its lowest early and drifts up to between 0.58 and 0.75. Right: the weight norm of the same runs: vermillion grows to about 24, twice the others' 12 to 14; a dotted line marks beta = 0.99's memory of 100 steps, 3.2 epochs."}}
fig, (ax_val, ax_norm) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
epochs = np.arange(1, MOMENTUM_EPOCHS + 1)
for (lr, beta), colour in zip(((1.0, 0.0), (0.1, 0.9), (0.01, 0.99)), (PALETTE["black"], PALETTE["blue"], PALETTE["vermillion"])):
    for seed in MOMENTUM_SEEDS:
        h, norms, _ = momentum_runs[(lr, beta, seed)]
        label = f"eta {lr}, beta {beta}" if seed == 0 else None
        ax_val.plot(epochs, h.val_loss, color=colour, lw=1, label=label)
        ax_norm.plot(epochs, norms, color=colour, lw=1, label=label)
for ax in (ax_val, ax_norm):
    ax.axvline(1 / (1 - 0.99) / STEPS_PER_EPOCH, color=PALETTE["vermillion"], ls=":", lw=1)
    ax.set_xlabel("epoch")
ax_val.set_ylabel("validation loss")
ax_val.set_title("eta / (1 - beta) = 1.0, three seeds each")
ax_norm.set_ylabel("||theta||")
ax_norm.set_title("weight norm (dotted: beta = 0.99's memory, 100 steps)")
ax_val.legend(fontsize=8)
plt.show()

# %% [markdown]
# At the effective step 0.1 the equivalence holds: plain SGD at $\eta = 0.1$, $\beta = 0.9$ at
# $\eta = 0.01$ and $\beta = 0.99$ at $\eta = 0.001$ end close together (mean validation loss
# 0.1410, 0.1424 and 0.1540, still falling in epoch 15), $\beta = 0.99$ a little behind because its
# buffer starts slowly: after one epoch it has built up only 0.27 of its steady value. At the
# effective step 1.0 it breaks. Plain SGD at $\eta = 1.0$ and $\beta = 0.9$ at $\eta = 0.1$ still
# end close together (0.1638 and 0.1746, their seed ranges overlapping), but $\beta = 0.99$ at
# $\eta = 0.01$ reaches its best validation loss early, after 2 to 4 epochs (0.2882 on average), and
# then drifts up to 0.6637 (0.5796-0.7493). It does not oscillate and it does not diverge: the
# training loss still goes to nearly zero, and the validation accuracy (0.9554-0.9638 over the
# seeds) overlaps the others' (0.9582-0.9694). What grows is the size of the weights,
# $\lVert\theta\rVert$ = 24.5 after 15 epochs against 12.3 and 13.3: the network becomes
# over-confident, and its few wrong validation answers
# cost ever more loss. At this step size the weights move so far within the buffer's memory of 100
# steps (3.2 epochs, a fifth of the run) that the gradients it averages belong to places the
# weights have left, and the buffer keeps pushing after the gradient has shrunk. With $\beta = 0.9$
# the memory is 10 steps, a third of an epoch, and the equivalence holds roughly at both step
# sizes.
# So momentum and learning rate act together through $\eta/(1-\beta)$ only over times longer than
# the memory $1/(1-\beta)$, and they are best tuned together.
#
# What the papers do. Sutskever et al. {cite}`sutskever2013importance` do not fix $\beta$: they
# raise it during training with the schedule
#
# $$\beta_t = \min\left(1 - 2^{-1 - \log_2(\lfloor t/250 \rfloor + 1)},\; \beta_\max\right),
# \qquad \beta_\max \in \{0.999, 0.995, 0.99, 0.9, 0\},$$
#
# which starts at 0.5 and climbs towards $\beta_\max$; on their deep autoencoders the large
# values, 0.99 to 0.999, work best (and they lower $\beta$ to 0.9 again for the last updates).
# How slowly it climbs, in updates $t$:

# %%
def sutskever_momentum(t, beta_max):
    """beta_t = min(1 - 2^(-1 - log2(floor(t / 250) + 1)), beta_max) = min(1 - 1 / (2 (floor(t / 250) + 1)), beta_max)."""
    return min(1 - 1 / (2 * (t // 250 + 1)), beta_max)


BETA_MAX = (0.999, 0.995, 0.99, 0.9, 0)  # the values of beta_max Sutskever et al. tried
run_steps = MOMENTUM_EPOCHS * STEPS_PER_EPOCH
print(f"beta_max in {BETA_MAX}")
print(f"beta_t at t = 0: {sutskever_momentum(0, 0.999)}, t = 250: {sutskever_momentum(250, 0.999)}, "
      f"at the end of our run (t = {run_steps - 1}): {sutskever_momentum(run_steps - 1, 0.999)}")
for target in (0.9, 0.99, 0.999):
    first = next(t for t in range(0, 10**6, 250) if sutskever_momentum(t, 0.999) >= target)
    print(f"beta_t first reaches {target} at t = {first:,} updates ({first / STEPS_PER_EPOCH:,.0f} of our epochs)")

# %% [markdown]
# Their schedule reaches 0.99 only after 12,250 updates; within our 465 updates it never goes
# above 0.75. It is a schedule for long runs, whose memory stays short compared with the time
# left. The common shortcut of fixing $\beta = 0.9$ and tuning $\eta$ alone is practice rather
# than their recommendation: Goyal et al. use momentum 0.9 in their large-batch ImageNet runs
# {cite}`goyal2017accurate`, and Goodfellow et al. name 0.5, 0.9 and 0.99 as common
# values, noting that $\beta$ usually starts small and is raised later {cite}`goodfellow2016deep`.
# Bengio treats momentum as optional and often unnecessary {cite}`bengio2012practical`.
#
# ## 6. Hidden units: larger is fine, with early stopping
#
# Bengio's advice on the network's size is to err on the large side: a network with more hidden
# units than needed generalizes about as well, *provided* early stopping (or another regularizer)
# keeps it from fitting noise {cite}`bengio2012practical`. On the noisy labels of section 4, with
# and without early stopping, with three seeds per width:

# %%
WIDTHS, WIDTH_SEEDS = (16, 64, 256, 1024), range(3)
for width, seed in progress([(w, s) for w in WIDTHS for s in WIDTH_SEEDS], desc="widths"):
    if (width, seed) not in width_runs:
        width_runs[(width, seed)] = noisy_runs(width, seed=seed)
print(f"{'':>6} {'':>11} {'test accuracy, mean (min-max) over 3 seeds':^46} {'early stopping':>15}")
print(f"{'width':>6} {'best epochs':>11} {'early stopping':>22} {'40 epochs':>23} {'better in':>15}")
for width in WIDTHS:
    seeds = [width_runs[(width, seed)] for seed in WIDTH_SEEDS]
    best_epochs = ", ".join(str(h_stop["best_epoch"]) for h_stop, _, _, _ in seeds)
    acc_stop = [stopped["accuracy"] for _, stopped, _, _ in seeds]
    acc_all = [full["accuracy"] for _, _, _, full in seeds]
    wins = sum(a > b for a, b in zip(acc_stop, acc_all))
    print(f"{width:>6} {best_epochs:>11} {np.mean(acc_stop):>8.4f} ({min(acc_stop):.4f}-{max(acc_stop):.4f}) "
          f"{np.mean(acc_all):>8.4f} ({min(acc_all):.4f}-{max(acc_all):.4f}) {wins:>7} of {len(seeds)}")

# %% [markdown]
# With early stopping the test accuracy hardly depends on the width: means of 0.9183, 0.9287,
# 0.9406 and 0.9302 from 16 to 1024 hidden units, 64 times more units costing nothing in
# accuracy. Without it, the larger networks memorise the wrong labels and generalize worse and
# worse: 0.9146, 0.8946, 0.8367 and 0.8144, each width's range of seeds entirely below the
# previous one's. Early stopping is better in every seed at every width, by little at 16 units
# and by about ten points from 256 units up. The wider the network, the earlier the best epoch
# (22 to 25 for 16 units, 3 or 4 for 1024): a large network learns faster, the signal and then
# the noise. Early stopping is what makes "too large" safe.
#
# ## 7. Preprocessing and conditioning
#
# Gradient descent is fast when the loss surface is round and slow when it is a long, narrow
# valley (chapters 1 and 2). For a linear model the shape of that valley is set by the inputs
# alone, so preparing the inputs is a way of choosing the valley {cite}`lecun1998efficient`. Take
# the least-squares classifier $J(B) = \frac{1}{2n}\lVert X B - Y \rVert^2$, with $X$ the $n$
# images (one column of ones for the bias) and $Y$ the one-hot labels. Its Hessian is
# $H = X^\top X / n$, and gradient descent with the step $\eta = 1/L$, $L$ the largest eigenvalue
# of $H$, shrinks the error along the eigenvector of the smallest eigenvalue $\mu$ by a factor
# $1 - 1/\kappa$ per step, where $\kappa = L/\mu$ is the condition number.
#
# Four ways of preparing the pixels: as they come (grey levels 0-16), scaled to $[0, 1]$,
# **standardized** (each pixel minus its mean, divided by its standard deviation), and
# **whitened**: standardized, then decorrelated with the ZCA transform
# $W = U(\Lambda + \varepsilon I)^{-1/2}U^\top$, where $U \Lambda U^\top$ is the covariance
# matrix, so that the covariance becomes (almost) the identity. Each is an invertible affine map
# of the pixels, so with a bias the best achievable loss $J^*$ is the same in all four cases; only
# the speed of reaching it changes.

# %%
raw = load_digits(val_fraction=0.2, standardize=False)  # pixels / 16, in [0, 1]
keep = raw["train"].x.std(dim=0) > 0  # drop the pixels that are blank in every training image
x_raw = 16 * raw["train"].x[:, keep].double()  # the original 0..16 grey levels
Y = F.one_hot(raw["train"].y, 10).double()  # targets of the least-squares classifier
print(f"{int(keep.sum())} of 64 pixels vary in the training set")


def zca_whitening(x, eps=1e-2):
    """Mean and matrix W = U (Lambda + eps)^(-1/2) U^T of ZCA whitening, fitted on x."""
    mean = x.mean(dim=0)
    cov = torch.cov((x - mean).T, correction=0)
    lam, U = torch.linalg.eigh(cov)
    return mean, U @ torch.diag((lam + eps) ** -0.5) @ U.T


mu, sigma = x_raw.mean(dim=0), x_raw.std(dim=0, correction=0)
mean_w, W_zca = zca_whitening((x_raw - mu) / sigma)
preprocessings = {
    "raw (0..16)": lambda x: x,
    "scaled to [0, 1]": lambda x: x / 16,
    "standardized": lambda x: (x - mu) / sigma,
    "ZCA-whitened": lambda x: ((x - mu) / sigma - mean_w) @ W_zca,
}


def gd_least_squares(X, Y, steps=(10, 100, 1000)):
    """Gradient descent with eta = 1/L on J(B) = ||X B - Y||^2 / (2n); excess loss J - J* after each of ``steps``."""
    n = len(X)
    H = X.T @ X / n  # the Hessian
    eig = torch.linalg.eigvalsh(H)
    B_star = torch.linalg.lstsq(X, Y).solution
    J = lambda B: ((X @ B - Y) ** 2).sum().item() / (2 * n)
    J_star, B, excess = J(B_star), torch.zeros(X.shape[1], Y.shape[1], dtype=X.dtype), {}
    for t in range(1, max(steps) + 1):
        B -= (1 / eig[-1]) * X.T @ (X @ B - Y) / n
        if t in steps:
            excess[t] = J(B) - J_star
    return (eig[-1] / eig[0]).item(), J_star, excess


print(f"{'preprocessing':>17} {'kappa(H)':>13} {'J*':>7} {'J - J* after 10':>16} {'100':>9} {'1000':>9}")
for name, f in preprocessings.items():
    X = torch.cat([f(x_raw), torch.ones(len(x_raw), 1, dtype=torch.float64)], dim=1)  # a column of ones: the bias
    kappa, J_star, excess = gd_least_squares(X, Y)
    shown = [f"{e:.2e}" if e > 1e-14 else "< 1e-14" for e in excess.values()]  # below 1e-14: rounding
    print(f"{name:>17} {kappa:>13,.1f} {J_star:>7.4f} {shown[0]:>16} {shown[1]:>9} {shown[2]:>9}")

# %% [markdown]
# The same optimum, $J^* = 0.1493$, four very different valleys. Raw or merely rescaled pixels
# give $\kappa \approx 2.4 \times 10^7$ and $2.7 \times 10^7$: the pixel means make the bias
# direction huge compared with the rest, and neighbouring pixels are strongly correlated. After
# 1,000 steps gradient descent is still 5 to $6 \times 10^{-3}$ above the optimum. Standardization
# centres and rescales each pixel, $\kappa$ drops to 149, and the same 1,000 steps come within
# $8.7 \times 10^{-10}$. Whitening also removes the correlations: $\kappa = 1.2$, and gradient
# descent is at
# the optimum (to rounding) after 10 steps. A network's loss is not quadratic, but its first
# layer sees the same inputs, which is why standardizing the inputs is a default in every recipe
# {cite}`lecun1998efficient,bengio2012practical`.
#
# ## 8. Grid search or random search?
#
# With several hyperparameters to tune, a **grid** tries every combination of a few values each;
# **random search** draws each trial's values independently {cite}`bergstra2012random`. At the
# same budget of trials, random search tries as many distinct values of *each* hyperparameter as
# there are trials, while a $3 \times 3$ grid tries only three. When one hyperparameter matters
# much more than the other, which is the usual case, that is what counts. Here the two are the
# learning rate ($10^{-3}$ to $1$, which matters) and the weight decay ($10^{-6}$ to $10^{-2}$,
# which we expect to matter little in 8 epochs), with 9 trials each way; random search is repeated with three
# seeds. Every trial starts from the same initial weights, so the searches are compared on the
# same function of the two hyperparameters.

# %%
def trial(log_lr, log_wd):
    """Validation loss of a short SGD + momentum run with learning rate 10^log_lr and weight decay 10^log_wd."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=10**log_lr, momentum=0.9, weight_decay=10**log_wd)
    try:
        h = train(model, opt, train_set, epochs=8, batch_size=64, val_data=val_set)
        return h.val_loss[-1]
    except TrainingDiverged:
        return math.inf


LR_RANGE, WD_RANGE, BUDGET = (-3.0, 0.0), (-6.0, -2.0), 9
centres = lambda lo, hi: [lo + (hi - lo) * (i + 0.5) / 3 for i in range(3)]  # a 3 x 3 grid at the cell centres
grid = [(a, b) for a in centres(*LR_RANGE) for b in centres(*WD_RANGE)]
grid_losses = [trial(a, b) for a, b in progress(grid, desc="grid")]
random_searches = []
for seed in progress(range(3), desc="random"):
    rng = np.random.default_rng(seed)
    points = [(rng.uniform(*LR_RANGE), rng.uniform(*WD_RANGE)) for _ in range(BUDGET)]
    random_searches.append((points, [trial(a, b) for a, b in points]))

print(f"learning rate {10 ** LR_RANGE[0]:.0e} to {10 ** LR_RANGE[1]:.0e}, weight decay {10 ** WD_RANGE[0]:.0e} to {10 ** WD_RANGE[1]:.0e}, {BUDGET} trials each")
best = int(np.argmin(grid_losses))
print(f"grid   ({len(set(a for a, _ in grid))} distinct learning rates): best val loss {grid_losses[best]:.4f} at lr {10 ** grid[best][0]:.4f}")
for seed, (points, losses) in enumerate(random_searches):
    best = int(np.argmin(losses))
    print(f"random seed {seed} ({len(set(a for a, _ in points))} distinct learning rates): best val loss {losses[best]:.4f} at lr {10 ** points[best][0]:.4f}")

# %% mystnb={"image": {"alt": "Two scatter plots of the 9 trials of each search over the log10 learning rate (x, -3 to 0) and the log10 weight decay (y, -6 to -2), coloured by validation loss (yellow low, dark purple high, clipped at 1). Left: the 3 x 3 grid tries only three learning rates, and only its middle one gives low losses. Right: random search (seed 0) tries nine distinct learning rates, shown as ticks below the points, several of them low-loss ones between the grid's values."}}
fig, axes = plt.subplots(1, 2, figsize=FIGSIZE_WIDE, sharey=True)
for ax, (title, points, losses) in zip(axes, (("grid", grid, grid_losses), ("random (seed 0)", *random_searches[0]))):
    clipped = [min(v, 1.0) for v in losses]  # diverged runs (inf) show as 1
    sc = ax.scatter([a for a, _ in points], [b for _, b in points], c=clipped, cmap="viridis_r", s=60, vmin=0, vmax=1)
    ax.scatter([a for a, _ in points], [WD_RANGE[0] - 0.3] * len(points), marker="|", color=PALETTE["black"])
    ax.set_xlim(LR_RANGE[0] - 0.1, LR_RANGE[1] + 0.1)
    ax.set_xlabel("log10 learning rate")
    ax.set_title(f"{title}: {len(set(a for a, _ in points))} learning rates tried")
axes[0].set_ylabel("log10 weight decay")
fig.colorbar(sc, ax=axes, label="validation loss (clipped at 1)")
plt.show()

# %% [markdown]
# All three random searches found a lower validation loss (0.1336, 0.1408, 0.1347) than the grid
# (0.1527). The grid's best learning rate, 0.0316, is one of its only three values; each random
# search tried nine, and its best ones, 0.045 to 0.066, lie between the grid's. The ticks under
# each panel show the learning rates each search actually tried.
#
# ## Explore: the schedules
#
# Choose a schedule and its initial rate: the left panel shows $\eta_t$ from its closed form, the
# right panel what the schedule does to a real run, the network of section 2 trained for 30 epochs
# with SGD and momentum 0.9 on the digits (seed 0, $B = 64$), its training and validation loss on a
# log scale. On the website the controls switch between views precomputed for the six schedules at
# $\eta_0 = 0.1$ (section 2's rate) and $\eta_0 = 0.3$, with the step schedule halving the rate every
# 10 epochs, the exponential one halving it every epoch, and $\tau = 5$ and 5 epochs of warm-up.
# Run the notebook for continuous sliders over $\eta_0$, the number of epochs and each
# schedule's own parameters; there each setting trains once, in a fraction of a second, and is
# kept, so going back to a setting is instant. Things to try:
#
# * At $\eta_0 = 0.1$, switch from cosine to exponential: halving the rate every epoch leaves it
#   near zero after a few epochs, the training loss stops falling, and the run ends with the
#   highest validation loss of the six schedules at this rate.
# * Constant at $\eta_0 = 0.3$: with momentum 0.9 the effective step is ten times larger, and the
#   losses jump about and climb through the run, the validation loss ending far above where it
#   started. The loop's divergence check does not fire, but this run is lost.
# * Step, Bengio $1/t$ or cosine at $\eta_0 = 0.3$: once the rate has fallen, the training loss drops
#   to almost zero, but the validation loss stays far above that of the same schedule at 0.1; its
#   best value came in epoch 2.
# * Warm-up + cosine at $\eta_0 = 0.3$: the rate climbs for 5 epochs before it decays, and the
#   validation loss stays low, with the lowest best value of the six schedules at this rate. This
#   is the warm-up's purpose that section 2, at the safe $\eta_0 = 0.1$, could not show.

# %%
def make_schedule(kind, eta0, epochs, gamma, step_size, warmup, tau):
    return {
        "constant": lambda: ConstantLR(eta0),
        "step": lambda: StepDecay(eta0, step_size=step_size, gamma=gamma),
        "exponential": lambda: ExponentialDecay(eta0, gamma=gamma),
        "Bengio 1/t": lambda: InverseTimeDecay(eta0, tau=tau),
        "cosine": lambda: CosineAnnealing(eta0, t_max=epochs),
        "warm-up + cosine": lambda: LinearWarmup(CosineAnnealing(eta0, t_max=max(epochs - warmup, 1)), warmup=warmup),
    }[kind]()


@functools.lru_cache(maxsize=256)
def schedule_training(kind, eta0, epochs, gamma, step_size, warmup, tau):
    """Train the 64-64-10 network with this schedule (SGD, momentum 0.9, B = 64, seed 0): its history, or the
    TrainingDiverged error (whose history holds the epochs before the blow-up). Cached per setting."""
    model = mlp(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=eta0, momentum=0.9)
    try:
        return train(model, opt, train_set, epochs=epochs, batch_size=64, val_data=val_set,
                     schedule=make_schedule(kind, eta0, epochs, gamma, step_size, warmup, tau))
    except TrainingDiverged as error:
        return error


def plot_schedule(kind="cosine", eta0=0.1, epochs=30, gamma=0.5, step_size=10, warmup=5, tau=5):
    """Left: eta_t of one schedule from its closed form. Right: the losses of a run trained with it."""
    schedule = make_schedule(kind, eta0, epochs, gamma, step_size, warmup, tau)
    result = schedule_training(kind, eta0, epochs, gamma, step_size, warmup, tau)
    h = result.history if isinstance(result, TrainingDiverged) else result
    t = np.arange(epochs)
    fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
    ax_lr.step(t, [schedule(int(i)) for i in t], where="post", color=PALETTE["blue"])
    ax_lr.set_xlabel("epoch t")
    ax_lr.set_ylabel("learning rate eta_t")
    ax_lr.set_title(repr(schedule)[:60], fontsize=8)
    ax_lr.set_ylim(0, eta0 * 1.05)
    if h is not None and h.val_loss:
        ax_loss.plot(range(1, len(h.train_loss) + 1), h.train_loss, color=PALETTE["blue"], label="training loss")
        ax_loss.plot(range(1, len(h.val_loss) + 1), h.val_loss, color=PALETTE["orange"], label="validation loss")
        ax_loss.legend(fontsize=8)
    ax_loss.set_yscale("log")
    ax_loss.set_xlim(0.5, epochs + 0.5)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    if isinstance(result, TrainingDiverged):
        ax_loss.set_title(f"diverged in epoch {result.epoch}: try a smaller eta0", fontsize=9)
    else:
        ax_loss.set_title(f"final validation loss {h.val_loss[-1]:.4f}, best {min(h.val_loss):.4f}", fontsize=9)
    return fig


# %% output_varies="widget" tags=["nbval-ignore-output"]
def schedule_alt(kind, eta0, epochs, gamma, step_size, warmup, tau):
    """What a view of the explorer shows, in words (the run is cached: drawing the view reuses it)."""
    result = schedule_training(kind, eta0, epochs, gamma, step_size, warmup, tau)
    outcome = (f"it diverged in epoch {result.epoch}" if isinstance(result, TrainingDiverged)
               else f"final validation loss {result.val_loss[-1]:.4f}, best {min(result.val_loss):.4f}")
    return (f"Left: the learning rate of the {kind} schedule from eta0 = {eta0:g} over {epochs} epochs. Right: the training "
            f"and validation loss, on a log scale, of the network trained with it (SGD, momentum 0.9): {outcome}.")


explorer(
    plot_schedule,
    alt=schedule_alt,
    kind=Choice(["constant", "step", "exponential", "Bengio 1/t", "cosine", "warm-up + cosine"], "cosine", "schedule"),
    eta0=Choice([0.1, 0.3], 0.1, "eta0", live=widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0, description="eta0", continuous_update=False)),
    epochs=Choice([30], 30, "epochs", live=widgets.IntSlider(value=30, min=5, max=100, description="epochs", continuous_update=False)),
    gamma=Choice([0.5], 0.5, "gamma", live=widgets.FloatSlider(value=0.5, min=0.05, max=0.99, step=0.01, description="gamma", continuous_update=False)),
    step_size=Choice([10], 10, "step_size", live=widgets.IntSlider(value=10, min=1, max=50, description="step_size", continuous_update=False)),
    warmup=Choice([5], 5, "warmup", live=widgets.IntSlider(value=5, min=1, max=20, description="warmup", continuous_update=False)),
    tau=Choice([5], 5, "tau", live=widgets.IntSlider(value=5, min=1, max=50, description="tau", continuous_update=False)),
)

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** A step schedule starts at $\eta_0 = 0.1$ and multiplies the rate by
# $\gamma = 0.1$ every 7 epochs. What is the learning rate in epoch $t = 15$ (epochs counted
# from 0)?

# %%
your_answer = None  # replace with your number
check.step_decay_lr(your_answer, eta0=0.1, step_size=7, gamma=0.1, t=15)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# 15 // 7 = 2 full steps have passed, so eta = 0.1 * 0.1**2.
solution = 0.1 * 0.1 ** (15 // 7)
check.step_decay_lr(solution, eta0=0.1, step_size=7, gamma=0.1, t=15)

# %% [markdown]
# **Exercise 2.** A run warms up linearly over $W = 5$ steps, then follows cosine annealing from
# $\eta_0 = 0.2$ to 0 over $T = 100$ steps. What is the learning rate at step $t = 55$?

# %%
your_answer = None
check.warmup_cosine_lr(your_answer, eta0=0.2, warmup=5, t_max=100, t=55)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# After the warm-up the cosine has run for 55 - 5 = 50 of its 100 steps: half way.
solution = 0.5 * 0.2 * (1 + math.cos(math.pi * (55 - 5) / 100))
check.warmup_cosine_lr(solution, eta0=0.2, warmup=5, t_max=100, t=55)

# %% [markdown]
# **Exercise 3.** Early stopping with patience 3 watches this validation-loss curve (one value
# per epoch, epoch 1 first). Which epoch's weights does it restore, and after which epoch does it
# stop? Answer with a pair `(best_epoch, stopped_epoch)`.

# %%
curve = [0.90, 0.62, 0.50, 0.47, 0.48, 0.46, 0.465, 0.47, 0.461, 0.49, 0.52]
your_answer = None  # e.g. (4, 7)
check.early_stopping_epochs(your_answer, curve, patience=3)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The best loss is 0.46 in epoch 6; epochs 7, 8 and 9 do not beat it (0.461 > 0.46),
# so training stops after epoch 9 and epoch 6's weights are put back.
solution = (6, 9)
check.early_stopping_epochs(solution, curve, patience=3)

# %% [markdown]
# **Exercise 4.** The standardized digits gave $\kappa = 149.2$. With $\eta = 1/L$, how many
# gradient-descent steps does it take until the slowest error component has shrunk by a factor
# of $10^{-3}$? (Round up.) How many for the raw pixels' $\kappa$?

# %%
your_answer = None
check.steps_to_shrink(your_answer, kappa=149.2, factor=1e-3)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# (1 - 1/kappa)^t <= 1e-3  <=>  t >= ln(1e-3) / ln(1 - 1/kappa), about 6.9 kappa.
solution = math.ceil(math.log(1e-3) / math.log(1 - 1 / 149.2))
check.steps_to_shrink(solution, kappa=149.2, factor=1e-3)
print(f"standardized: {solution} steps; raw pixels: about {math.log(1e-3) / math.log(1 - 1 / 24_353_216.5):,.0f} steps")

# %% [markdown]
# **Exercise 5 (open).** Add a third hyperparameter to section 8, the hidden width between 16
# and 512 (on a log scale), and compare a $3 \times 3 \times 3$ grid (27 trials) with 27 random
# trials. How many distinct widths does each try? Does the gap between the two grow?
#
# ## Summary
#
# * **Initial learning rate**: a range test (fast.ai's geometric, one-batch-per-rate form of
#   Smith's linear test) finds the edge of divergence in one short sweep; on the digits it
#   suggested 0.2, and the best fixed rate was 0.3 with each of three seeds, thirty times Bengio's
#   default of 0.01.
# * **Schedules**: decaying the rate, Bengio's $\eta_0\,\tau/\max(t, \tau)$ included, gives a
#   slightly quieter end (mean final validation loss 0.134-0.145 against 0.147 at a constant rate,
#   over three seeds) but, on this problem, essentially the same best model.
# * **Mini-batch size**: Bengio's default is $B = 32$; larger batches process far more examples
#   per second, but make fewer updates per epoch; scaling the rate with $B$ gave the same accuracy
#   (0.9532) from $B = 8$ to $B = 512$ (a fixed rate did better at $B = 8$ and far worse at $B =
#   512$).
# * **Iterations**: early stopping chose 9 epochs on noisy labels and beat 40 epochs of training
#   on the clean test set (0.9287 against 0.8174), and did so with each of three seeds at each
#   of four widths.
# * **Momentum**: at $\eta = 0.01$, $\beta = 0.9$ reached the target loss in 7 or 8 epochs where
#   no seed did without momentum. The effective step $\eta/(1-\beta)$ predicts runs only over
#   times longer than the memory $1/(1-\beta)$: at the effective step 0.1 all three ways agreed,
#   at 1.0 $\beta = 0.99$ (memory 100 steps, a fifth of the run) had its best validation loss after
#   2 to 4 epochs, then drifted up to 0.6637 while its weights grew to twice the size of plain
#   SGD's at $\eta = 1.0$.
# * **Hidden units**: with early stopping, 16 to 1024 units gave 0.918-0.941 mean test accuracy;
#   without it, accuracy fell to 0.814 as the width grew.
# * **Preprocessing**: standardizing cut the condition number from $2.4 \times 10^7$ to 149,
#   whitening to 1.2, and the gradient-descent steps needed with it.
# * **Search**: at 9 trials, random search beat a $3 \times 3$ grid with each of three seeds.
#
# ## References
#
# {cite}`ranjan2018efficient` (section II-B), {cite}`bengio2012practical` (the recommendations
# tested here), {cite}`smith2017cyclical,smith2018disciplined` (the range test),
# {cite}`gugger2018lrfinder,howard2020fastai` (its geometric form, fast.ai's learning-rate finder),
# {cite}`robbins1951stochastic` (conditions for a decaying rate), {cite}`loshchilov2017sgdr` (cosine
# annealing), {cite}`goyal2017accurate` (warm-up, linear scaling), {cite}`marquez2018deep`
# (reduce on plateau in cascade learning), {cite}`prechelt1998early` (early stopping),
# {cite}`polyak1964some,sutskever2013importance` (momentum and its schedule),
# {cite}`goodfellow2016deep` (common momentum values), {cite}`lecun1998efficient`
# (preprocessing and conditioning), {cite}`bergstra2012random` (random search).
