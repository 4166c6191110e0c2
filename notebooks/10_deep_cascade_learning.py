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
# # 10. Deep cascade learning
#
# Back-propagation trains every layer of a network at once, and the gradient that reaches the
# first layers has passed through all the others. Marquez, Hare and Niranjan turn this around
# {cite}`marquez2018deep`: train the network one layer at a time, bottom up, with a small output
# block always attached right above the layer being trained. The review lists the method as its
# Algorithm 2 {cite}`ranjan2018efficient` (section II-D); the idea goes back to Fahlman and
# Lebiere's cascade-correlation, which grew a network one unit at a time
# {cite}`fahlman1990cascade`. This chapter measures the problem the cascade avoids, implements it,
# and puts it against ordinary end-to-end training of the same network on the same budget.
#
# **Learning objectives.** After this chapter you can
#
# 1. measure the gradient that reaches each layer of a deep network and explain why saturating
#    units make it vanish;
# 2. state Algorithm 2 (the epoch schedule, the plateau rule, the pseudo-inputs) and read its
#    implementation line by line;
# 3. compare cascade and end-to-end training on test accuracy, time, peak training memory and
#    trainable parameters, with the same architecture and the same number of epochs;
# 4. use a cascade as pre-training for end-to-end fine-tuning;
# 5. say what caching the pseudo-inputs buys and what it costs.

# %%
import copy

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from effdnn_lib import device as dev
from effdnn_lib.cascade import (
    PlateauRule,
    cascade_train,
    conv_blocks,
    conv_head,
    epoch_schedule,
    epochs_for_layer,
    forward_in_batches,
    linear_head,
    mlp_blocks,
    train_end_to_end,
    weight_gradient_norms,
)
from effdnn_lib.data import Split, load_digits, load_shifted_digits
from effdnn_lib.exercises import ch10 as check
from effdnn_lib.memory import format_bytes
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE
from effdnn_lib.progress import progress

setup(seed=0, threads=1)

# %% [markdown]
# ## The GPU toggle
#
# Every experiment below runs on `dev.get_device()`: the CPU here, a CUDA GPU where there is one
# and `EFFDNN_DEVICE` allows it (chapter 0 explains the toggle). The printed accuracies and
# memory figures in this page are the CPU's, in float64 (next section); on a GPU the peak memory
# is what PyTorch's allocator reports, which includes its rounding and temporary buffers, so
# expect larger numbers there.

# %% tags=["nbval-ignore-output"]
# output varies between runs: device
device = dev.get_device(verbose=True)
dev.device_toggle()

# %% [markdown]
# ## Why this chapter trains in float64
#
# Training a network with SGD is chaotic: a difference in the last bit of one gradient grows over
# a few hundred steps until it changes which test images the network gets right. Which bits come
# out last depends on the CPU's kernels (AVX-512, AVX2 or none, and the order in which they add
# numbers up). An earlier version of this chapter trained in float32 from one seed: it printed a
# different test accuracy on each of the four kernel configurations we tried, and its conclusion
# ("the cascade beats end to end") held on only one of them. Computing in float64 shrinks the
# differences from about $10^{-7}$ to $10^{-16}$, but chaos can grow even those. So here every
# step computes in float64, and after each optimizer step the weights and the momentum are
# rounded to float32 precision (the hook below). The float64 differences are hundreds of millions of times
# smaller than float32's spacing, so the rounding removes them (a tie at a rounding boundary is
# possible, but so rare that we have not met one), and every CPU starts the next step from the
# same weights. The printed numbers are then facts about the algorithm with float32 weights, not
# about one CPU; we checked that they are the same on four kernel configurations. For speed you would
# compute in float32 or lower precision, as the GPU path and the benchmark do: float64
# convolutions are several times slower on a CPU, which is why this chapter's CNN is smaller than
# the benchmark's. And because one seed's numbers are facts about that seed only, every comparison
# below is repeated over three seeds.

# %%
torch.set_default_dtype(torch.float64)  # every new weight and tensor is float64


def in_float64(data):
    """The same splits with float64 inputs (the labels stay integers)."""
    return {name: Split(split.x.double(), split.y) for name, split in data.items()}


@torch.no_grad()
def round_to_float32(optimizer, args, kwargs):
    """After every optimizer step: weights and momentum to the nearest float32 (kept as float64)."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.copy_(p.float())
            momentum = optimizer.state[p].get("momentum_buffer")
            if momentum is not None:
                momentum.copy_(momentum.float())


rounding_hook = register_optimizer_step_post_hook(round_to_float32)

# %% [markdown]
# ## The vanishing gradient, made visible
#
# Write a fully connected network as $h_l = \sigma(a_l)$, $a_l = W_l h_{l-1} + b_l$, with
# $h_0 = x$ and a loss $J$ on top. Back-propagation computes
#
# $$
# \frac{\partial J}{\partial W_l} = \delta_l\, h_{l-1}^\top,
# \qquad
# \delta_l = \sigma'(a_l) \odot \big(W_{l+1}^\top \delta_{l+1}\big),
# $$
#
# so the error signal $\delta_l$ of layer $l$ is the one at the top multiplied by one factor
# $W_{m}^\top$ and one factor $\sigma'(a_m)$ for every layer $m$ above $l$. The logistic sigmoid
# has $\sigma'(a) = \sigma(a)(1 - \sigma(a)) \le 1/4$: each $\sigma'$ factor shrinks the signal by at
# least 4, so unless the weights make up for it, ten sigmoid layers shrink it by $4^{10}$, about
# a million, or more {cite}`hochreiter1998vanishing`. Units that do not saturate (tanh near zero, ReLU) with
# weights scaled to keep the signal's size from layer to layer
# {cite}`glorot2010understanding,he2015delving` avoid most of the loss.
#
# The measurement is one backward pass, asking autograd for each weight matrix's gradient:

# %%
show_source(weight_gradient_norms)

# %% [markdown]
# A network of ten hidden layers of 32 units on the 8 x 8 digits, before any training, with three
# choices of unit (sigmoid and tanh with Glorot's initialisation, ReLU with He's):

# %%
digits = in_float64(load_digits(val_fraction=0.15))
widths = [64] + [32] * 10
x_probe, y_probe = digits["train"].x[:512], digits["train"].y[:512]
units = {"sigmoid": (nn.Sigmoid, "xavier"), "tanh": (nn.Tanh, "xavier"), "ReLU": (nn.ReLU, "he")}
grad_norms = {}
for name, (activation, init) in units.items():
    blocks = mlp_blocks(widths, activation, init, seed=0)
    torch.manual_seed(1)
    grad_norms[name] = weight_gradient_norms(nn.Sequential(*blocks, linear_head((32,))), x_probe, y_probe)
    g = grad_norms[name]
    print(f"{name:>8}: layer 1 {g[0]:.2e}, layer 10 {g[9]:.2e}, output {g[10]:.2e}; output / layer 1 = {g[10] / g[0]:.1e}")

# %% [markdown]
# The sigmoid network's first layer gets a gradient three quarters of a million times ($7.5 \times
# 10^5$) smaller than its output layer: a learning rate that moves the top layer sensibly leaves
# the bottom one where it started. With tanh and ReLU, and initial weights scaled for them, the
# first and the last layer get gradients of the same order. The cascade side-steps the problem by
# construction. When layer $l$ trains, it sits directly
# under a fresh output block, so its gradient passes through one block, not through $L - l$
# layers. Here is the same measurement done that way: each layer $l$ gets its inputs from the
# (frozen) layers below it and a new output block on top.

# %%
blocks = mlp_blocks(widths, nn.Sigmoid, "xavier", seed=0)
cascade_view, h = [], x_probe
for block in blocks:
    torch.manual_seed(1)
    stage_model = nn.Sequential(block, linear_head((32,)))  # the layer, and a new output block on top
    cascade_view.append(weight_gradient_norms(stage_model, h, y_probe)[0])
    h = forward_in_batches(block, h)
print("sigmoid, layer next to the output block: " + ", ".join(f"{g:.1e}" for g in cascade_view))
print(f"smallest / largest: {min(cascade_view) / max(cascade_view):.2f}")

# %% [markdown]
# Next to an output block, every sigmoid layer gets a gradient between $2.7 \times 10^{-2}$ and
# $1.5 \times 10^{-1}$, within a factor of 10 of each other (smallest / largest 0.19), instead of
# spreading over almost six orders of magnitude:

# %%
fig, ax = plt.subplots(figsize=FIGSIZE)
layers = np.arange(1, 11)
for (name, g), colour in zip(grad_norms.items(), (PALETTE["vermillion"], PALETTE["orange"], PALETTE["blue"])):
    ax.plot(layers, g[:10], marker="o", color=colour, label=f"{name}, end to end")
ax.plot(layers, cascade_view, marker="s", ls="--", color=PALETTE["vermillion"], label="sigmoid, cascade stage")
ax.set_yscale("log")
ax.set_xlabel("hidden layer l (1 = next to the input)")
ax.set_ylabel(r"$\|\partial J / \partial W_l\|_F$ at initialisation")
ax.set_title("The gradient each layer receives")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# What that means for training: the same ten sigmoid layers, trained end to end for 20 epochs,
# and trained as a cascade of ten stages of 2 epochs each (20 epochs in all; Algorithm 2 with
# `epochs=2, k=0`). Both use mini-batch SGD with momentum, learning rate 0.5 and the plateau rule.

# %%
sigmoid_e2e = train_end_to_end(
    mlp_blocks(widths, nn.Sigmoid, "xavier", seed=0), linear_head((32,)), digits, epochs=20, lr=0.5,
    device=device, progress_bar=progress,
)
sigmoid_cascade = cascade_train(
    mlp_blocks(widths, nn.Sigmoid, "xavier", seed=0), linear_head, digits, epochs=2, k=0, lr=0.5, device=device
)
print(f"end to end, 10 sigmoid layers: test accuracy {sigmoid_e2e.test_acc:.4f}, final training loss {sigmoid_e2e.train_loss[-1]:.4f}")
print("cascade, test accuracy after each stage: " + " ".join(f"{s.test_acc:.3f}" for s in sigmoid_cascade.stages))

# %% [markdown]
# End to end, the training loss ends at 2.3019, next to $\ln 10$ (the loss of a uniform guess
# over ten classes), and the test accuracy at chance (0.0869): nothing useful reaches the lower
# layers within this budget. The cascade trains every layer, because every layer in turn is the
# one next to the output. Its accuracy does not *rise* with depth here, though: for 64 pixels of
# clean digits one layer of 32 sigmoid units is already enough, and in this run the extra
# squashing layers, trained for only two epochs each, lose accuracy (not at every stage): from
# 0.944 after one stage to 0.719 after eight and 0.766 after ten. Depth pays when the features
# must be composed, as in the image task below.
#
# ## Algorithm 2
#
# In our notation, for a network of blocks $f_1, \dots, f_L$ (a block is one layer: a
# convolution, its ReLU, and pooling where the architecture has it):
#
# 1. Set the pseudo-inputs $x^{(0)} = x$.
# 2. For $l = 1, \dots, L$:
#    * connect a new output block $o_l$ to $f_l$;
#    * train $o_l \circ f_l$ on $x^{(l-1)}$ for $i_l = \text{epochs} + k \cdot l$ epochs, with
#      $w \leftarrow w - \eta \nabla J(w)$, dividing $\eta$ by 10 when the validation error
#      plateaus;
#    * freeze $f_l$, set $o_l$ aside, and compute $x^{(l)} = f_l(x^{(l-1)})$ once, for the
#      training, validation and test data.
# 3. The network is $o_L \circ f_L \circ \dots \circ f_1$.
#
# The epoch schedule (line 11 of the algorithm) and the plateau rule (lines 14-16):

# %%
show_source(epochs_for_layer)

# %%
show_source(PlateauRule)

# %% [markdown]
# "Plateaus" needs a definition; we use the one of PyTorch's `ReduceLROnPlateau` with an
# absolute threshold, and the tests check that both give the same learning rates. A short run of
# made-up validation errors shows the rule at work:

# %%
rule = PlateauRule(0.1, patience=1, threshold=0.005)
for epoch, error in enumerate([0.40, 0.30, 0.28, 0.279, 0.281, 0.25, 0.249, 0.250], start=1):
    print(f"epoch {epoch}: validation error {error:.3f} -> learning rate {rule.step(error):.4f}")

# %% [markdown]
# Epoch 4 improves on the best error (0.280) by less than the threshold, and epoch 5 does not
# improve at all: two epochs without improvement exceed `patience=1`, so the rate drops tenfold.
# Epoch 6 sets a new best, and the same happens again in epochs 7 and 8.
#
# The whole procedure. Everything it returns per stage (accuracies, seconds, peak training
# memory, trainable parameters, the bytes of the cached pseudo-inputs) is what the rest of the
# chapter plots:

# %%
show_source(cascade_train)

# %% [markdown]
# Where this implementation departs from the printed algorithm, and why (the module's docstring
# has the full list):
#
# * mini-batches and momentum instead of full-batch gradient descent (`momentum=0` gives line 13
#   on mini-batches);
# * each stage starts again from the initial $\eta$, because a new layer and a new output block
#   start from random weights (`reset_lr=False` carries the reduced rate over, as printed);
# * our output blocks are small (average-pool to $2 \times 2$, then one linear layer), to stay fast
#   on a laptop; they are not the paper's.
#
# ## A task where depth matters: shifted digits
#
# On 8 x 8 digits a single layer is enough, as we saw. So we make the task harder in a way that
# convolutions and pooling are built for: every 8 x 8 digit is pasted at a random position on a
# 12 x 12 canvas of noise. (`load_shifted_digits` can also enlarge the digits first, but the
# bilinear interpolation that does it rounds differently under different CPU kernels, and that
# alone would make the printed numbers machine-dependent; at `digit_size=8` nothing is
# interpolated.) Each of the 1,797 images appears twice at different positions; the split into
# training, validation and test data is made on the original images, so no handwritten sample is
# in two splits.

# %%
images = in_float64(load_shifted_digits(canvas=12, digit_size=8, copies=2, seed=0))
for name, split in images.items():
    print(f"{name:>5}: {tuple(split.x.shape)}")
fig, axes = plt.subplots(1, 8, figsize=(FIGSIZE_WIDE[0], 1.5))
for ax, img, label in zip(axes, images["train"].x[:8, 0], images["train"].y[:8]):
    ax.imshow(img, cmap="gray_r")
    ax.set_title(f"{label.item()}", fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Cascade against end to end, on the same network and budget
#
# The network has four blocks, `Conv 3x3 -> ReLU` with 8, 8, 16 and 16 channels (narrow, because
# float64 convolutions are slow on a CPU), and a $2 \times 2$ max-pool after blocks 2 and 4. The
# cascade trains block $l$ for $2 + l$ epochs (`epochs=2, k=1`: 3, 4, 5 and 6, 18 in all).
# End-to-end training gets the same 18 epochs, the same optimizer (SGD, momentum 0.9,
# $\eta = 0.05$, mini-batches of 64), the same plateau rule, the same initial weights and the same
# initial output block as the cascade's last stage. Both run for three seeds; seed 0 is shown in
# detail first.

# %%
channels, epochs, k = (8, 8, 16, 16), 2, 1
seeds = (0, 1, 2)
budget = sum(epoch_schedule(len(channels), epochs, k))
runs = {}
for seed in progress(seeds, desc="seeds"):
    cascade = cascade_train(
        conv_blocks(channels, seed=seed), conv_head, images, epochs=epochs, k=k, lr=0.05, seed=seed, device=device
    )
    blocks = conv_blocks(channels, seed=seed)  # the same initial weights as the cascade's blocks
    torch.manual_seed(seed + len(channels))  # the same initial output block as the cascade's last stage
    head = conv_head(cascade.stages[-1].feature_shape)
    end_to_end = train_end_to_end(blocks, head, images, epochs=budget, lr=0.05, seed=seed, device=device)
    runs[seed] = (cascade, end_to_end)
cascade, end_to_end = runs[0]  # seed 0 is the run shown in detail

# %%
print("seed 0:")
print(f"{'':>12} {'epochs':>6} {'test acc':>9} {'trainable':>10} {'peak train mem':>15} {'cached inputs':>14}")
for s in cascade.stages:
    print(f"{'stage ' + str(s.layer):>12} {s.epochs:>6} {s.test_acc:>9.4f} {s.trainable_params:>10,} {format_bytes(s.peak_mem_bytes):>15} {format_bytes(s.cache_bytes):>14}")
print(f"{'end to end':>12} {end_to_end.epochs:>6} {end_to_end.test_acc:>9.4f} {end_to_end.trainable_params:>10,} {format_bytes(end_to_end.peak_mem_bytes):>15} {'-':>14}")
print(f"largest stage memory / end-to-end memory: {max(s.peak_mem_bytes for s in cascade.stages) / end_to_end.peak_mem_bytes:.2f}")

# %% [markdown]
# The same comparison for every seed (a seed sets the initial weights and the order of the
# mini-batches; both methods get the same ones). The gap is end to end minus the cascade's final
# stage, in points of test accuracy:

# %%
n_test = len(images["test"])
print(f"{'seed':>4} " + " ".join(f"{'stage ' + str(l):>8}" for l in range(1, len(channels) + 1)) + f" {'end to end':>11} {'gap':>7}")
for seed, (c, e) in runs.items():
    gap = 100 * (e.test_acc - c.stages[-1].test_acc)
    print(f"{seed:>4} " + " ".join(f"{s.test_acc:>8.4f}" for s in c.stages) + f" {e.test_acc:>11.4f} {gap:>+7.2f}")
finals = np.array([c.stages[-1].test_acc for c, _ in runs.values()])
e2es = np.array([e.test_acc for _, e in runs.values()])
gaps = 100 * (e2es - finals)
print(f"\nover {len(seeds)} seeds (mean, min-max):")
print(f"  cascade, final stage: {finals.mean():.4f} ({finals.min():.4f}-{finals.max():.4f})")
print(f"  end to end:           {e2es.mean():.4f} ({e2es.min():.4f}-{e2es.max():.4f})")
print(f"  gap (points):         {gaps.mean():+.2f} ({gaps.min():+.2f} to {gaps.max():+.2f}); end to end ahead in {(gaps > 0).sum()} of {len(seeds)}")
rises = all(all(b.test_acc > a.test_acc for a, b in zip(c.stages, c.stages[1:])) for c, _ in runs.values())
print(f"  test accuracy rises with every stage, for every seed: {rises}")
ratios = {max(s.peak_mem_bytes for s in c.stages) / e.peak_mem_bytes for c, e in runs.values()}
print(f"  largest stage memory / end-to-end memory, every seed: {', '.join(f'{r:.2f}' for r in sorted(ratios))}")
print(f"  one test image = {100 / n_test:.2f} points ({n_test} test images)")
for seed, (c, e) in runs.items():
    print(f"  end to end, seed {seed}: final training loss {e.train_loss[-1]:.4f}, "
          f"learning rate {e.lrs[0]:g} in epoch 1, {e.lrs[-1]:g} in epoch {len(e.lrs)}")

# %% tags=["nbval-ignore-output"]
# output varies between runs: timings
for s in cascade.stages:
    print(f"stage {s.layer}: {s.seconds:.2f} s")
print(f"cascade in total: {cascade.total_seconds:.2f} s; end to end: {end_to_end.seconds:.2f} s "
      f"({end_to_end.seconds / cascade.total_seconds:.1f}x the cascade's time) on {dev.describe(device)}")

# %%
fig, (ax, ax_m) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
depth = [s.layer for s in cascade.stages]
for seed, (c, e) in runs.items():
    first = seed == seeds[0]
    ax.plot(depth, [s.test_acc for s in c.stages], marker="o", color=PALETTE["blue"], alpha=1 if first else 0.4,
            label="cascade, after stage l" if first else None)
    ax.axhline(e.test_acc, color=PALETTE["vermillion"], ls="--", alpha=1 if first else 0.4,
               label="end to end, 4 layers" if first else None)
ax.set_xticks(depth)
ax.set_xlabel("depth l (blocks trained)")
ax.set_ylabel("test accuracy")
ax.set_title(f"Accuracy rises with every stage ({len(seeds)} seeds)")
ax.legend(loc="lower right")
labels = [f"stage {l}" for l in depth] + ["end to end"]
mem = [s.peak_mem_bytes / 2**20 for s in cascade.stages] + [end_to_end.peak_mem_bytes / 2**20]
ax_m.bar(labels, mem, color=[PALETTE["blue"]] * len(depth) + [PALETTE["vermillion"]])
ax_m.set_ylabel("peak training memory (MiB)")
ax_m.set_title("Memory held for one training step (seed 0)")
plt.show()

# %% [markdown]
# Read the seed-0 table from the top. The first stage, one layer of 8 filters under a small
# output block, gets about a sixth of the test images right (0.1592); every stage adds to that
# (0.4276, 0.7584), and the fourth ends at 0.8575. Over the three seeds, accuracy rises with
# every stage for every seed, and the final stage lands between 0.8073 and 0.9065: the cascade
# always trained, though how well depends on the seed, by about ten points. End-to-end training
# is less dependable. With the same learning rate, plateau rule and budget it stalled on seeds 0
# and 2 (test accuracy 0.1826 and 0.0935, final training loss 2.0772 and 2.3168, against
# $\ln 10$ for a uniform guess): its validation error hardly ever improved, so the plateau rule
# kept dividing $\eta$ by 10, and by epoch 18 the rate was 5e-09. On seed 1 it got going and ended 3.01 points
# *above* the cascade (0.9365 against 0.9065). So neither "the cascade is as good as end to
# end" nor the opposite holds across seeds here: when end-to-end training starts, it wins by
# a few points (one test image is 0.11 points); the cascade trained on every seed, which fits
# the argument above (each stage's gradient passes through one block), though three seeds do not
# prove it. End-to-end training was not tuned for this network (Exercise 6). What each stage
# costs is a fraction of the whole network's:
#
# * **Trainable parameters.** A stage trains one block and one small output block, never the
#   blocks below it.
# * **Peak training memory.** A stage's backward pass holds the activations of one block (and the
#   output block), not of four. The largest stage is the second, at 0.62 of the end-to-end peak
#   (the same for every seed, as it depends only on the shapes): its 8 feature maps are still at
#   full $12 \times 12$ resolution before the pooling. On the CPU we count the bytes autograd saves
#   for backward, plus the parameters, gradients and momentum of what is trained (chapter 0's
#   accounting), all in float64 here, so about twice what float32 training would hold.
# * **Time.** A stage's epoch runs one block forward and backward; an end-to-end epoch runs all
#   four. On the machine that built this page the four stages together took less than half of
#   the end-to-end time (the timings cell above; yours will differ).
#
# The price is the cache: the pseudo-inputs of every split, held between stages (the last column).
# After stage 1 they are 8 feature maps of $12 \times 12$ per image, eight times the size of the
# images themselves. When they
# do not fit, `cascade_train(..., cache_pseudo_inputs=False)` recomputes them for every mini-batch,
# without gradients: the same results, more time, no cache.
#
# ## The cascade as pre-training
#
# The paper also uses the cascade to initialise end-to-end training. Here, for every seed, the
# four trained blocks and the last output block are unfrozen and trained together for 2 more
# epochs at a tenth of the learning rate:

# %%
print(f"{'seed':>4} {'cascade alone':>14} {'+ 2 epochs fine-tuning':>23} {'change':>7} {'end to end':>11}")
changes = []
for seed, (c, e) in runs.items():
    fine_tuned = train_end_to_end(
        copy.deepcopy(c.blocks), copy.deepcopy(c.heads[-1]), images, epochs=2, lr=0.005, seed=seed, device=device
    )
    changes.append(100 * (fine_tuned.test_acc - c.stages[-1].test_acc))
    print(f"{seed:>4} {c.stages[-1].test_acc:>14.4f} {fine_tuned.test_acc:>23.4f} {changes[-1]:>+7.2f} {e.test_acc:>11.4f}")
print(f"\nchange from fine-tuning (points): mean {np.mean(changes):+.2f}, from {min(changes):+.2f} to {max(changes):+.2f}")
print(f"(cascade: {budget} epochs; fine-tuning: 2 more; end to end from scratch: {budget})")

# %% [markdown]
# Here fine-tuning helps on every seed: two more epochs raise the cascade's test accuracy by 2.78
# to 5.23 points (mean +4.16), far more than one test image (0.11 points). On seed 1, the one
# seed where end-to-end training from scratch got going, the fine-tuned cascade (0.9343) still
# stays just below it (0.9365); on seeds 0 and 2 it is far above the stalled runs. The paper reports
# that cascade pre-training followed by end-to-end training can improve on end-to-end training
# alone {cite}`marquez2018deep`; three seeds of a small network neither confirm nor refute that
# in general. Fine-tuning costs the memory of end-to-end training again, but only for a few epochs.
#
# ## On a GPU
#
# Nothing in this chapter names a device: `cascade_train` and `train_end_to_end` use
# `dev.get_device()`, move the data there once (pseudo-inputs included) and synchronise the GPU
# before every clock reading. On a CUDA device the peak training memory is
# `torch.cuda.max_memory_allocated` during the stage's training, minus what was allocated before
# it (the data, the cache and the frozen blocks; the trained parameters are counted). Run the whole notebook on a GPU with `EFFDNN_DEVICE=cuda`, or the
# benchmark `benchmarks/cascade.py` (its full setting is the GPU's). Small networks like this one
# leave most of a GPU idle (chapter 0's throughput curve), so expect the larger gains in the
# benchmark's full setting. When we ran that full setting on an NVIDIA H200, it took 15.9 s against
# 124.7 s on the 2-core CPU that builds this page (one thread): 7.8 times faster in all, 15.5 times
# for end-to-end training (6.4 s against 99.1 s), but only 5.6 times for the cascade's stages
# (3.7 s against 20.9 s), whose single small layers cannot keep a GPU busy. The accuracies agreed
# (final stage 0.9885 against 0.9874, end to end 0.9800 against 0.9826). The benchmark computes in
# float32, with wider layers and enlarged digits, from one seed: its accuracies are one run's, and
# on another CPU they can differ in the second or third decimal.
#
# ## Inspect a stage
#
# Pick a stage and a test image. Left: the accuracy after each stage, with the chosen one
# marked. Right: the image and the first seven feature maps that the chosen stage's block
# produces for it (its pseudo-inputs for the next stage). Stage 1's maps are full-resolution
# pictures of the strokes, the background and their edges, wherever the digit sits; by stage 4
# the maps are $3 \times 3$. The website shows the
# default view; run the notebook to move the sliders.

# %%
def show_stage(stage=2, image=0):
    x = images["test"].x[image : image + 1].to(device)
    features = forward_in_batches(nn.Sequential(*cascade.blocks[:stage]), x)[0].cpu()
    prediction = cascade.network(stage).eval()(x).argmax(1).item()
    fig = plt.figure(figsize=FIGSIZE_WIDE)
    grid = fig.add_gridspec(2, 7)
    ax = fig.add_subplot(grid[:, :3])
    accs = [s.test_acc for s in cascade.stages]
    ax.plot(depth, accs, marker="o", color=PALETTE["blue"])
    ax.plot([stage], [accs[stage - 1]], marker="o", ms=12, mfc="none", color=PALETTE["vermillion"])
    ax.axhline(end_to_end.test_acc, color=PALETTE["vermillion"], ls="--", lw=1)
    ax.set_xticks(depth)
    ax.set_xlabel("stage")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"stage {stage}: {accs[stage - 1]:.3f}")
    ax_img = fig.add_subplot(grid[0, 3])
    ax_img.imshow(x[0, 0].cpu(), cmap="gray_r")
    ax_img.set_title(f"label {images['test'].y[image].item()}, says {prediction}", fontsize=8)
    ax_img.axis("off")
    slots = [(0, 4), (0, 5), (0, 6), (1, 3), (1, 4), (1, 5), (1, 6)]
    for c, (row, col) in enumerate(slots):
        a = fig.add_subplot(grid[row, col])
        a.imshow(features[c], cmap="viridis")
        a.set_title(f"map {c + 1} of {features.shape[0]}", fontsize=7)
        a.axis("off")
    plt.show()


# %% tags=["nbval-ignore-output"]
# output varies between runs: widget
widgets.interact(
    show_stage,
    stage=widgets.IntSlider(value=2, min=1, max=len(cascade.stages), description="stage", continuous_update=False),
    image=widgets.IntSlider(value=0, min=0, max=49, description="test image", continuous_update=False),
);

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** A cascade of $L = 6$ layers with `epochs=2` and `k=3`: how many epochs does it
# train in all? (This is the budget to give end-to-end training for a fair comparison.)

# %%
your_answer = None  # replace with your number
check.total_epochs(your_answer, n_layers=6, epochs=2, k=3)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Sum over l = 1..6 of (2 + 3 l) = 6 * 2 + 3 * (1 + 2 + ... + 6) = 12 + 63.
solution = 6 * 2 + 3 * sum(range(1, 7))
check.total_epochs(solution, n_layers=6, epochs=2, k=3)

# %% [markdown]
# **Exercise 2.** The plateau rule starts at $\eta = 0.1$ with `patience=1`, `threshold=0.01` and
# sees the validation errors `0.50, 0.45, 0.445, 0.44, 0.43, 0.425, 0.424`. What is the learning
# rate after the last one?

# %%
errors = [0.50, 0.45, 0.445, 0.44, 0.43, 0.425, 0.424]
your_answer = None
check.plateau_lr(your_answer, errors, lr=0.1, patience=1, threshold=0.01)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# 0.50 and 0.45 improve (best 0.45). 0.445 and 0.44 do not beat 0.45 - 0.01: two bad
# epochs > patience, so the rate drops to 0.01. 0.43 is below 0.44 (best 0.43). 0.425 and 0.424
# are not below 0.42: two bad epochs again, the rate drops to 0.001.
solution = 0.001
check.plateau_lr(solution, errors, lr=0.1, patience=1, threshold=0.01)

# %% [markdown]
# **Exercise 3.** How many parameters does stage 3 of the chapter's cascade train? Its block is a
# $3 \times 3$ convolution from 8 to 16 channels (with biases); its output block average-pools
# the 16 feature maps to $2 \times 2$ and maps them linearly to 10 classes. Compare with the table.

# %%
your_answer = None
check.stage_parameters(your_answer, channels=(8, 8, 16, 16), layer=3, feature_shape=(16, 6, 6))

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The convolution has 16 * (9 * 8 + 1) weights and biases, the output block 10 * (16 * 4 + 1).
solution = 16 * (9 * 8 + 1) + 10 * (16 * 4 + 1)
check.stage_parameters(solution, channels=(8, 8, 16, 16), layer=3, feature_shape=(16, 6, 6))

# %% [markdown]
# **Exercise 4.** What is the largest value the factor $\prod_m \sigma'(a_m)$ can take over 10
# sigmoid layers, that is, how little do the sigmoids' derivatives alone shrink the error signal
# at best?

# %%
your_answer = None
check.sigmoid_bound(your_answer, n_layers=10)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# sigma' = sigma (1 - sigma) is at most 1/4 (at a = 0), so ten layers give at most 4^-10.
solution = 0.25**10
check.sigmoid_bound(solution, n_layers=10)

# %% [markdown]
# **Exercise 5 (open).** Run the cascade of the CNN again with `cache_pseudo_inputs=False`. Do the
# accuracies change? How do the stage times change, and why does the last stage slow down most?
#
# **Exercise 6 (open).** Give end-to-end training a fair chance: for seeds 0 and 2, where it
# stalled, try a few learning rates around $\eta = 0.05$ (and `patience=3`), choosing on the
# validation error. Does it start? Does it then beat the cascade on all three seeds? Give the
# cascade the same grid before you conclude.
#
# ## Summary
#
# * Back-propagation multiplies the error signal by one factor per layer; with sigmoids each
#   factor is at most $1/4$, and the first of ten layers received a gradient $7.5 \times 10^5$
#   times smaller than the output layer. Next to an output block, as in the cascade, every layer
#   gets a gradient of the same order.
# * Deep cascade learning (Algorithm 2) trains one block at a time under a fresh output block, for
#   $\text{epochs} + k\,l$ epochs, dividing $\eta$ by 10 on plateaus, and feeds the next block the
#   frozen block's outputs, computed once and cached.
# * On shifted digits, over three seeds, test accuracy rose with every stage and the cascade's
#   final stage landed between 0.8073 and 0.9065, while each stage trained fewer parameters,
#   held at most 0.62 of the end-to-end memory for backward, and all stages together took less
#   time. End-to-end training with the same optimizer, plateau rule and budget stalled near
#   chance on two of the three seeds and beat the cascade by 3.01 points on the third: which
#   method wins depends on the seed, and on whether end-to-end training gets started at all.
# * A short end-to-end fine-tuning turns the cascade into a pre-training method; here it added
#   2.78 to 5.23 points on every seed.
# * Training is chaotic, so the chapter computes in float64 and rounds the weights to float32
#   after every step: its printed numbers were the same on all four CPU kernel configurations we
#   checked, and every comparison rests on several seeds.
#
# ## References
#
# {cite}`marquez2018deep` (deep cascade learning), {cite}`ranjan2018efficient` (section II-D,
# Algorithm 2), {cite}`fahlman1990cascade` (cascade-correlation), {cite}`hochreiter1998vanishing`
# (the vanishing gradient), {cite}`glorot2010understanding` and {cite}`he2015delving`
# (initialisations that keep the signal's size). The full list is on the website's Bibliography
# page.
