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
from effdnn_lib.data import load_digits, load_shifted_digits
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
# memory figures in this page are the CPU's; on a GPU the peak memory is what PyTorch's allocator
# reports, which includes its rounding and temporary buffers, so expect larger numbers there.

# %% tags=["nbval-ignore-output"]
# output varies between runs: device
device = dev.get_device(verbose=True)
dev.device_toggle()

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
# least 4, so unless the weights make up for it, ten sigmoid layers shrink it by $4^{10} \approx 10^6$
# or more {cite}`hochreiter1998vanishing`. Units that do not saturate (tanh near zero, ReLU) with
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
digits = load_digits(val_fraction=0.15)
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
# The sigmoid network's first layer gets a gradient almost half a million times ($4.5 \times
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
# Next to an output block, every sigmoid layer gets a gradient between $1.8 \times 10^{-2}$ and
# $1.7 \times 10^{-1}$, within a factor of 10 of each other, instead of spreading over five
# orders of magnitude:

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
# End to end, the training loss ends at 2.3018, next to $\ln 10 \approx 2.3026$ (a uniform guess
# over ten classes), and the test accuracy at chance: nothing useful reaches the lower layers
# within this budget. The cascade trains every layer, because
# every layer in turn is the one next to the output. Its accuracy does not *rise* with depth
# here, though: for 64 pixels of clean digits one layer of 32 sigmoid units is already enough,
# and each extra squashing layer, trained for only two epochs, loses accuracy: from 0.940 after one
# stage to 0.557 after ten. Depth pays when the
# features must be composed, as in the image task below.
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
# convolutions and pooling are built for: every digit is enlarged to 12 x 12 pixels and pasted at a
# random position on a 16 x 16 canvas of noise. Each of the 1,797 images appears twice at
# different positions; the split into training, validation and test data is made on the original
# images, so no handwritten sample is in two splits.

# %%
images = load_shifted_digits(canvas=16, digit_size=12, copies=2, seed=0)
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
# The network has four blocks, `Conv 3x3 -> ReLU` with 8, 16, 32 and 32 channels, and a
# $2 \times 2$ max-pool after blocks 2 and 4. The cascade trains block $l$ for $3 + l$ epochs
# (`epochs=3, k=1`: 4, 5, 6 and 7, 22 in all). End-to-end training gets the same 22 epochs, the
# same optimizer (SGD, momentum 0.9, $\eta = 0.05$, mini-batches of 64), the same plateau rule and
# the same output block as the cascade's last stage.

# %%
channels, epochs, k = (8, 16, 32, 32), 3, 1
budget = sum(epoch_schedule(len(channels), epochs, k))
cascade = cascade_train(
    conv_blocks(channels, seed=0), conv_head, images, epochs=epochs, k=k, lr=0.05, device=device, progress_bar=progress
)
blocks = conv_blocks(channels, seed=0)  # the same initial weights as the cascade's blocks
torch.manual_seed(len(channels))
head = conv_head(cascade.stages[-1].feature_shape)
end_to_end = train_end_to_end(blocks, head, images, epochs=budget, lr=0.05, device=device, progress_bar=progress)

# %%
print(f"{'':>12} {'epochs':>6} {'test acc':>9} {'trainable':>10} {'peak train mem':>15} {'cached inputs':>14}")
for s in cascade.stages:
    print(f"{'stage ' + str(s.layer):>12} {s.epochs:>6} {s.test_acc:>9.4f} {s.trainable_params:>10,} {format_bytes(s.peak_mem_bytes):>15} {format_bytes(s.cache_bytes):>14}")
print(f"{'end to end':>12} {end_to_end.epochs:>6} {end_to_end.test_acc:>9.4f} {end_to_end.trainable_params:>10,} {format_bytes(end_to_end.peak_mem_bytes):>15} {'-':>14}")
gap = 100 * (end_to_end.test_acc - cascade.stages[-1].test_acc)
print(f"\nend to end minus final cascade stage: {gap:+.2f} points of test accuracy")
print(f"largest stage memory / end-to-end memory: {max(s.peak_mem_bytes for s in cascade.stages) / end_to_end.peak_mem_bytes:.2f}")

# %% tags=["nbval-ignore-output"]
# output varies between runs: timings
for s in cascade.stages:
    print(f"stage {s.layer}: {s.seconds:.2f} s")
print(f"cascade in total: {cascade.total_seconds:.2f} s; end to end: {end_to_end.seconds:.2f} s "
      f"({end_to_end.seconds / cascade.total_seconds:.1f}x the cascade's time) on {dev.describe(device)}")

# %%
fig, (ax, ax_m) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
depth = [s.layer for s in cascade.stages]
ax.plot(depth, [s.test_acc for s in cascade.stages], marker="o", color=PALETTE["blue"], label="cascade, after stage l")
ax.axhline(end_to_end.test_acc, color=PALETTE["vermillion"], ls="--", label="end to end, 4 layers")
ax.set_xticks(depth)
ax.set_xlabel("depth l (blocks trained)")
ax.set_ylabel("test accuracy")
ax.set_title("Accuracy rises with every stage")
ax.legend(loc="lower right")
labels = [f"stage {l}" for l in depth] + ["end to end"]
mem = [s.peak_mem_bytes / 2**20 for s in cascade.stages] + [end_to_end.peak_mem_bytes / 2**20]
ax_m.bar(labels, mem, color=[PALETTE["blue"]] * len(depth) + [PALETTE["vermillion"]])
ax_m.set_ylabel("peak training memory (MiB)")
ax_m.set_title("Memory held for one training step")
plt.show()

# %% [markdown]
# Read the table from the top. The first stage, one layer of 8 filters under a small output
# block, gets about a quarter of the test images right (0.2595); every stage adds to that (0.7016,
# 0.9287), and the fourth (0.9777) ends 1.2 points *above* end-to-end training (0.9655) in this
# run. One test image is worth 0.11 points here, and a different seed can move both results by
# several images, so read this as "as good as". What each stage costs is a fraction of the whole
# network's:
#
# * **Trainable parameters.** A stage trains one block and one small output block, never the
#   blocks below it.
# * **Peak training memory.** A stage's backward pass holds the activations of one block (and the
#   output block), not of four. The largest stage is the second, at 0.59 of the end-to-end peak:
#   its 16 feature maps are still at full $16 \times 16$ resolution before the pooling. On the
#   CPU we count the bytes autograd saves for backward, plus the parameters, gradients and
#   momentum of what is trained (chapter 0's accounting).
# * **Time.** A stage's epoch runs one block forward and backward; an end-to-end epoch runs all
#   four. On the machine that built this page the four stages together took well under half of
#   the end-to-end time (the timings cell above; yours will differ).
#
# The price is the cache: the pseudo-inputs of every split, held between stages (the last column).
# After stage 1 they are 8 feature maps of $16 \times 16$ per image, eight times the size of the
# images themselves. When they
# do not fit, `cascade_train(..., cache_pseudo_inputs=False)` recomputes them for every mini-batch,
# without gradients: the same results, more time, no cache.
#
# ## The cascade as pre-training
#
# The paper also uses the cascade to initialise end-to-end training. Here the four trained
# blocks and the last output block are unfrozen and trained together for 2 more epochs at a tenth
# of the learning rate:

# %%
fine_tuned = train_end_to_end(
    copy.deepcopy(cascade.blocks), copy.deepcopy(cascade.heads[-1]), images, epochs=2, lr=0.005,
    device=device, progress_bar=progress,
)
print(f"cascade alone ({budget} epochs):           test accuracy {cascade.stages[-1].test_acc:.4f}")
print(f"cascade + 2 epochs of fine-tuning:  test accuracy {fine_tuned.test_acc:.4f}")
print(f"end to end from scratch ({budget} epochs): test accuracy {end_to_end.test_acc:.4f}")

# %% [markdown]
# Here fine-tuning does not help: the cascade alone already matched end-to-end training, and two
# more epochs move its test accuracy from 0.9777 to 0.9744, 3 of the 898 test images, which is
# within the noise of one run. Both stay above the end-to-end network trained from scratch. The
# paper reports that cascade pre-training followed by end-to-end training can improve on
# end-to-end training alone {cite}`marquez2018deep`; fine-tuning costs the memory of end-to-end
# training again, but only for a few epochs.
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
# (final stage 0.9885 against 0.9874, end to end 0.9800 against 0.9826).
#
# ## Inspect a stage
#
# Pick a stage and a test image. Left: the accuracy after each stage, with the chosen one
# marked. Right: the image and the first seven feature maps that the chosen stage's block
# produces for it (its pseudo-inputs for the next stage). Stage 1's maps are full-resolution
# pictures of the strokes, the background and their edges, wherever the digit sits; by stage 4
# the maps are $4 \times 4$ and only a few positions light up in each. The website shows the
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

# %% tags=["hide-cell"] jupyter={"source_hidden": true}
# Solution: sum over l = 1..6 of (2 + 3 l) = 6 * 2 + 3 * (1 + 2 + ... + 6) = 12 + 63.
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

# %% tags=["hide-cell"] jupyter={"source_hidden": true}
# Solution: 0.50 and 0.45 improve (best 0.45). 0.445 and 0.44 do not beat 0.45 - 0.01: two bad
# epochs > patience, so the rate drops to 0.01. 0.43 is below 0.44 (best 0.43). 0.425 and 0.424
# are not below 0.42: two bad epochs again, the rate drops to 0.001.
solution = 0.001
check.plateau_lr(solution, errors, lr=0.1, patience=1, threshold=0.01)

# %% [markdown]
# **Exercise 3.** How many parameters does stage 3 of the chapter's cascade train? Its block is a
# $3 \times 3$ convolution from 16 to 32 channels (with biases); its output block average-pools
# the 32 feature maps to $2 \times 2$ and maps them linearly to 10 classes. Compare with the table.

# %%
your_answer = None
check.stage_parameters(your_answer, channels=(8, 16, 32, 32), layer=3, feature_shape=(32, 8, 8))

# %% tags=["hide-cell"] jupyter={"source_hidden": true}
# Solution: the convolution has 32 * (9 * 16 + 1) weights and biases, the output block 10 * (32 * 4 + 1).
solution = 32 * (9 * 16 + 1) + 10 * (32 * 4 + 1)
check.stage_parameters(solution, channels=(8, 16, 32, 32), layer=3, feature_shape=(32, 8, 8))

# %% [markdown]
# **Exercise 4.** What is the largest value the factor $\prod_m \sigma'(a_m)$ can take over 10
# sigmoid layers, that is, how little do the sigmoids' derivatives alone shrink the error signal
# at best?

# %%
your_answer = None
check.sigmoid_bound(your_answer, n_layers=10)

# %% tags=["hide-cell"] jupyter={"source_hidden": true}
# Solution: sigma' = sigma (1 - sigma) is at most 1/4 (at a = 0), so ten layers give at most 4^-10.
solution = 0.25**10
check.sigmoid_bound(solution, n_layers=10)

# %% [markdown]
# **Exercise 5 (open).** Run the cascade of the CNN again with `cache_pseudo_inputs=False`. Do the
# accuracies change? How do the stage times change, and why does the last stage slow down most?
#
# ## Summary
#
# * Back-propagation multiplies the error signal by one factor per layer; with sigmoids each
#   factor is at most $1/4$, and the first of ten layers received a gradient $4.5 \times 10^5$
#   times smaller than the output layer. Next to an output block, as in the cascade, every layer
#   gets a gradient of the same order.
# * Deep cascade learning (Algorithm 2) trains one block at a time under a fresh output block, for
#   $\text{epochs} + k\,l$ epochs, dividing $\eta$ by 10 on plateaus, and feeds the next block the
#   frozen block's outputs, computed once and cached.
# * On shifted digits, test accuracy rose with every stage, and the final stage matched
#   end-to-end training on the same network and number of epochs, while each stage trained fewer
#   parameters and held at most 0.59 of the memory for backward, and all stages together took
#   less time.
# * A short end-to-end fine-tuning turns the cascade into a pre-training method; here it had
#   nothing left to gain.
#
# ## References
#
# {cite}`marquez2018deep` (deep cascade learning), {cite}`ranjan2018efficient` (section II-D,
# Algorithm 2), {cite}`fahlman1990cascade` (cascade-correlation), {cite}`hochreiter1998vanishing`
# (the vanishing gradient), {cite}`glorot2010understanding` and {cite}`he2015delving`
# (initialisations that keep the signal's size). The full list is on the website's Bibliography
# page.
