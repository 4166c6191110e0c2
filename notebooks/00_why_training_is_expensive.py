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
# # 0. Why training is expensive
#
# Training a deep network means repeating one step, *forward pass, backward pass, parameter
# update*, many thousands of times, over a model with many parameters and a data set with many
# examples. The review this course follows {cite}`ranjan2018efficient` sorts the ways of making
# that cheaper into two families: **hardware acceleration** (make each step faster) and
# **algorithmic advances** (need fewer or cheaper steps). This chapter measures both sides of
# that equation on the machine in front of you, and counts exactly where the memory goes.
#
# **Learning objectives.** After this chapter you can
#
# 1. write training time as *steps x work per step / speed of the hardware*, and say which
#    factor hardware and which factor algorithms attack;
# 2. measure the matrix-multiply throughput of your CPU (and GPU), place it on a roofline
#    (arithmetic intensity against peak compute and memory bandwidth), and explain why small
#    matrices waste most of it;
# 3. count, to the byte, the memory of parameters, gradients, optimizer state (SGD, momentum,
#    Adam) and activations of a network, and check the count against PyTorch;
# 4. decide what to do when a model does not fit: smaller mini-batches, gradient accumulation,
#    less data at a time, and name the two standard remedies that chapter 11 teaches, activation
#    checkpointing and mixed precision.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from effdnn_lib import device as dev
from effdnn_lib.exercises import ch00 as check
from effdnn_lib.hardware import matmul_flops, matmul_throughput, time_matmul
from effdnn_lib.memory import (
    format_bytes,
    largest_batch_that_fits,
    make_mlp,
    measure_training_memory,
    mlp_memory,
    mlp_parameter_count,
)
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.plotting import FIGSIZE_WIDE, PALETTE
from effdnn_lib.widgets import memory_explorer, plot_memory

setup(seed=0)

# %% [markdown]
# ## The GPU toggle
#
# Every chapter asks one function, `effdnn_lib.device.get_device()`, where to run. It reads the
# environment variable `EFFDNN_DEVICE`: `auto` (the default) takes a CUDA GPU when there is one
# and the CPU otherwise, `cpu` forces the CPU, and `cuda` demands the GPU and stops with an
# error if there is none. The toggle below sets the same variable for the cells that follow.
# The output of these two cells depends on your machine, which is why the course's tests do not
# compare it.

# %% output_varies="device" tags=["nbval-ignore-output"]
device = dev.get_device(verbose=True)
dev.device_toggle()

# %% [markdown]
# ## Two routes to faster training
#
# Write the cost of training as a product of three factors:
#
# $$
# T_\text{train} \;=\; \underbrace{N_\text{steps}}_{\text{algorithm}} \times
# \underbrace{W_\text{step}}_{\text{model, batch}} \;/\; \underbrace{S}_{\text{hardware}}
# $$
#
# where $N_\text{steps}$ is the number of parameter updates needed to reach a target loss,
# $W_\text{step}$ the floating-point operations (FLOPs) of one step and $S$ the FLOPs per second
# the hardware sustains. Multi-core CPUs and GPUs raise $S$ {cite}`dean2012large,krizhevsky2012imagenet`;
# better optimizers, initialisations and training schemes lower $N_\text{steps}$ or
# $W_\text{step}$ {cite}`ruder2016overview,kingma2015adam,marquez2018deep`.
#
# A first taste of the algorithmic route: minimise the quadratic
# $f(\theta) = \tfrac12(\theta_1^2 + \kappa\,\theta_2^2)$, whose condition number is $\kappa$,
# with plain gradient descent and with gradient descent plus momentum, each with its best
# constant hyperparameters (chapter 2 derives them). Both methods do the same work per step, one
# gradient; they differ only in how many steps they need.

# %%
def steps_to_converge(kappa, momentum_method, tol=1e-6, max_steps=100_000):
    """Steps until ||theta|| < tol on f = (theta_1^2 + kappa theta_2^2) / 2, from (1, 1)."""
    h = np.array([1.0, kappa])  # the Hessian's diagonal: eigenvalues mu = 1 and L = kappa
    theta, velocity = np.array([1.0, 1.0]), np.zeros(2)
    if momentum_method:  # heavy ball with the optimal step size and momentum (Polyak)
        eta = 4 / (np.sqrt(kappa) + 1) ** 2
        beta = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    else:  # gradient descent with the optimal step size 2 / (mu + L)
        eta, beta = 2 / (1 + kappa), 0.0
    for step in range(1, max_steps + 1):
        velocity = beta * velocity - eta * h * theta
        theta = theta + velocity
        if np.linalg.norm(theta) < tol:
            return step
    raise RuntimeError(f"did not converge in {max_steps} steps")


print(f"{'kappa':>7} {'GD steps':>9} {'momentum steps':>15} {'speed-up':>9}")
for kappa in (10, 100, 1000):
    gd, hb = steps_to_converge(kappa, False), steps_to_converge(kappa, True)
    print(f"{kappa:>7} {gd:>9} {hb:>15} {gd / hb:>8.1f}x")

# %% [markdown]
# At $\kappa = 1000$ momentum needs roughly a twentieth of the steps, on the same hardware: as
# large a gain as a much faster chip, obtained for free. The rest of the course is about such
# gains. The remainder of this chapter looks at the other two factors: the speed $S$ and the
# memory a step needs.
#
# ## Counting FLOPs, measuring the hardware
#
# Almost all of the work in a network is matrix multiplication. Multiplying two $n \times n$
# matrices takes $n^2$ dot products of length $n$: about $2n^3$ FLOPs. Dividing that by the
# measured time gives the throughput actually achieved. The measurement code is short:

# %%
show_source(time_matmul)

# %% [markdown]
# Throughput against matrix size on this machine's CPU, and on the GPU when the toggle (or
# `EFFDNN_DEVICE`) selects one. The numbers are timings, different on every machine and every
# run, so this cell's output is not compared by the tests; the shape of the curve is what matters.

# %%
sizes = [16, 32, 64, 128, 256, 512, 1024]
measured = {"CPU": matmul_throughput(sizes, "cpu", repeats=5)}
device = dev.get_device()
if device.type == "cuda":
    measured["GPU"] = matmul_throughput(sizes + [2048, 4096, 8192], device, repeats=10)

# %% output_varies="timings" tags=["nbval-ignore-output"]
for name, gflops in measured.items():
    print(f"{name}: " + ", ".join(f"n={n}: {g:.1f}" for n, g in gflops.items()) + "  (GFLOP/s)")
    print(f"{name}: the largest size runs {max(gflops.values()) / gflops[16]:.0f}x faster per FLOP than n=16")

# %% [markdown]
# ### The roofline: compute, bandwidth, and what neither explains
#
# Two ceilings bound any kernel {cite}`williams2009roofline`. The arithmetic units deliver at most a
# peak $P$ FLOP/s; the memory delivers at most $\beta$ bytes/s, and a kernel that does $I$ FLOPs per
# byte it moves (its **arithmetic intensity**) can therefore use at most $I\beta$ FLOP/s. The
# attainable throughput is the lower of the two,
#
# $$
# S_\text{attainable}(I) = \min(P,\; I\,\beta).
# $$
#
# For an $n \times n$ product in float32, $C = AB$ reads $A$ and $B$ and writes $C$: at least
# $3 \times 4n^2 = 12n^2$ bytes for $2n^3$ FLOPs, an intensity of $2n^3 / 12n^2 = n/6$ FLOP per byte.
# It grows with $n$: a large product is **compute-bound** (right of the ridge $I^* = P/\beta$), a
# small one could be at most **bandwidth-bound** (left of it). The constants below are
# *assumptions*, round figures of the order of a two-core laptop CPU (replace them with your
# machine's data sheet); the printed numbers follow from them, not from a measurement:

# %%
PEAK_FLOPS = 300e9  # assumed peak compute P, FLOP/s (two cores with vector FMA units)
BANDWIDTH = 40e9  # assumed memory bandwidth beta, bytes/s
CALL_OVERHEAD = 4e-6  # assumed fixed cost of one kernel call, seconds (dispatch, thread start-up)


def matmul_intensity(n, bytes_per_number=4):
    """FLOPs per byte of an n x n product that reads A and B and writes C once: 2 n^3 / (3 n^2 b)."""
    return matmul_flops(n) / (3 * n * n * bytes_per_number)


def roofline(intensity, peak=PEAK_FLOPS, bandwidth=BANDWIDTH):
    """Attainable FLOP/s at an arithmetic intensity: min(peak, intensity x bandwidth)."""
    return np.minimum(peak, np.asarray(intensity) * bandwidth)


ridge = PEAK_FLOPS / BANDWIDTH
print(f"ridge point I* = P / beta = {ridge:.1f} FLOP/byte, reached by n = 6 I* = {6 * ridge:.0f}")
print(f"{'n':>5} {'intensity n/6':>14} {'roofline GFLOP/s':>17} {'bound':>8} {'with a fixed call cost, GFLOP/s':>32}")
for n in sizes:
    i = matmul_intensity(n)
    bound = roofline(i)
    seconds = CALL_OVERHEAD + matmul_flops(n) / bound  # the call cost, then the work at the roofline
    print(f"{n:>5} {i:>14.2f} {bound / 1e9:>17.0f} {'memory' if i < ridge else 'compute':>8} {matmul_flops(n) / seconds / 1e9:>32.2f}")

# %% [markdown]
# The roofline says that even the $16 \times 16$ product, with its intensity of 2.67, could run at
# 107 GFLOP/s on these assumptions: bandwidth alone does not explain why small products are slow.
# What does is a cost the roofline leaves out, a fixed time per kernel call (dispatching the
# operation, allocating the output, waking threads), which does not shrink with $n$. With an assumed
# $4\,\mu s$ per call, the $16 \times 16$ product runs at 2.01 GFLOP/s, about a fiftieth
# of its roofline; by $n = 256$ the call cost is a small fraction and the product runs at 290
# GFLOP/s, close to the assumed peak. The figure puts this machine's measurements on the same axes:
# intensity $n/6$ across, throughput up, the roofline drawn from the assumed constants (the
# measured points differ on every machine; the shape is what to compare).

# %% mystnb={"image": {"alt": "Log-log plot of throughput in GFLOP/s against the arithmetic intensity n/6 of n x n float32 matrix products, n = 16 to 1024. The solid black roofline rises with the intensity up to the assumed peak and is flat beyond it; the dotted curve, which adds a fixed cost per call, lies far below it for small n and approaches it by n = 256. This machine's measured points (blue for the CPU, orange-red for a GPU when one is selected) climb steeply with size and then level off, the shape of the dotted curve."}}
fig, ax = plt.subplots()
intensities = np.array([matmul_intensity(n) for n in sizes])
fine = np.logspace(np.log10(intensities.min() / 2), np.log10(intensities.max() * 2), 200)
ax.plot(fine, roofline(fine) / 1e9, color=PALETTE["black"], lw=1.5, label=r"roofline $\min(P, I\beta)$ (assumed $P$, $\beta$)")
with_overhead = [matmul_flops(n) / (CALL_OVERHEAD + matmul_flops(n) / roofline(matmul_intensity(n))) / 1e9 for n in sizes]
ax.plot(intensities, with_overhead, color=PALETTE["black"], ls=":", lw=1, label="roofline plus a fixed call cost")
for (name, gflops), colour in zip(measured.items(), (PALETTE["blue"], PALETTE["vermillion"])):
    ax.plot([matmul_intensity(n) for n in gflops], list(gflops.values()), marker="o", color=colour, label=f"{name}, measured")
for n, i in zip(sizes, intensities):
    ax.annotate(f"n={n}", (i, roofline(i) / 1e9), textcoords="offset points", xytext=(0, -10), fontsize=6, ha="center")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("arithmetic intensity I = n/6 (FLOP per byte, float32)")
ax.set_ylabel("GFLOP/s")
ax.set_title("Matrix products on the roofline")
ax.legend(fontsize=7, loc="lower right")
plt.show()

# %% [markdown]
# Measured throughput climbs steeply with size and then levels off, the shape of the dotted
# roofline-plus-call-cost curve (where your machine's points sit depends on its own peak and
# bandwidth, not on the assumed ones). At small sizes what holds a product back is the fixed cost
# per call, and moving data into the caches; at large sizes it is the compute ceiling (and, on a
# CPU, products too large for the caches, or a second thread competing for the same memory, can
# pull the curve down again). This is why the mini-batch size matters for speed (chapter 5
# measures examples per second against it) and why a GPU, with thousands of arithmetic units and
# a far higher peak, only pays off for large enough layers and batches: it has fixed costs per
# call of its own (launching a kernel, synchronising with the CPU), and only a large product does
# enough work per call to hide them.
#
# For the same reason, a second CPU thread helps a small model little or not at all: the
# threads' coordination costs about as much as the parallel work saves. The chapters that train
# small models therefore call `setup(threads=1)`, which leaves the other core to the rest of the
# machine (on a shared 2-core laptop, that matters). Here is the measurement behind that choice:
# a training step of a 64-wide MLP on a mini-batch of 32, and one of a 1024-wide MLP on 256.

# %%
def median_step_seconds(widths, batch_size, threads, repeats=30):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = make_mlp(widths)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(batch_size, widths[0]), torch.randint(0, widths[-1], (batch_size,))
    times = []
    for _ in range(repeats + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[3:]))


default_threads = torch.get_num_threads()
thread_options = sorted({1, default_threads})
step_times = {
    (name, t): median_step_seconds(widths, batch, t)
    for name, widths, batch in (("small MLP", [64, 64, 64, 10], 32), ("large MLP", [784, 1024, 1024, 10], 256))
    for t in thread_options
}
torch.set_num_threads(default_threads)

# %% output_varies="timings" tags=["nbval-ignore-output"]
for (name, threads), seconds in step_times.items():
    print(f"{name:>10}, {threads} thread(s): {seconds * 1e6:9.0f} microseconds per step")

# %% [markdown]
# The timings above are those of the machine and the moment that ran this page, so the text quotes
# none of them. The pattern is what to look for, and it should not change from one laptop to
# another: the small model's step takes about as long on one thread as on two (it is too small to
# share out), while the large model's step runs markedly faster on two threads.
# %% [markdown]
# ## Where the memory goes
#
# A GPU is fast only while the model and its working data fit in its memory; the review notes
# that this limit slows learning when a model does not fit {cite}`ranjan2018efficient,dean2012large`.
# So it pays to know exactly what a training step keeps in memory. For a multi-layer perceptron
# with layer widths $n_0, n_1, \dots, n_L$, trained in float32 (4 bytes a number) on mini-batches
# of $B$ examples:
#
# | term | numbers | grows with $B$? |
# |---|---|---|
# | parameters $\theta$ | $P = \sum_{l=1}^{L} (n_{l-1} n_l + n_l)$ | no |
# | gradients $\nabla_\theta J$ | $P$ | no |
# | optimizer state | SGD: $0$; momentum: $P$ (the velocity); Adam: $2P$ ($m$ and $v$) plus one step counter per tensor | no |
# | activations saved for backward | $B\,(n_0 + n_1 + \dots + n_{L-1} + n_L) + 1$ floats and $B$ int64 targets | **yes** |
#
# The activation count follows from what autograd must keep: each linear layer needs its input
# to form its weight gradient, each ReLU its output to know where the gradient passes (the same
# tensor as the next layer's input, so counted once), and the cross-entropy loss its
# log-probabilities and targets. In code:

# %%
show_source(mlp_memory)

# %% [markdown]
# Now the check. `measure_training_memory` builds the network in PyTorch, runs one real training
# step and asks PyTorch for each term: parameter and gradient tensors' sizes, the tensors in
# `optimizer.state`, and every tensor autograd packs for the backward pass (recorded with
# `torch.autograd.graph.saved_tensors_hooks`, each storage once).

# %%
widths = [784, 512, 256, 10]
model = make_mlp(widths)
n_params = sum(p.numel() for p in model.parameters())
print(f"widths {widths}: formula P = {mlp_parameter_count(widths):,}, PyTorch counts {n_params:,}")
print()
print(f"{'optimizer':>9} {'batch':>6} {'params':>10} {'grads':>10} {'opt state':>10} {'activations':>12} {'total':>11}  exact?")
for optimizer in ("sgd", "momentum", "adam"):
    for batch_size in (1, 64, 1024):
        predicted = mlp_memory(widths, batch_size, optimizer)
        measured_mem = measure_training_memory(widths, batch_size, optimizer)
        p = predicted.as_dict()
        print(
            f"{optimizer:>9} {batch_size:>6} {p['parameters']:>10,} {p['gradients']:>10,} "
            f"{p['optimizer_state']:>10,} {p['activations']:>12,} {p['total']:>11,}  {predicted == measured_mem}"
        )

# %% [markdown]
# Every prediction matches PyTorch to the byte. Three things stand out:
#
# * Adam's state costs twice the parameters, so with Adam the weights and their companions take
#   **four times** the parameter memory (parameters, gradients, $m$, $v$); plain SGD takes two.
# * Everything but the activations is independent of the batch size.
# * The activations grow linearly with $B$ and, for this model, overtake everything else at a
#   batch size of a few thousand:

# %%
for optimizer in ("sgd", "adam"):
    fixed = mlp_memory(widths, 1, optimizer)
    fixed_bytes = fixed.total - fixed.activations
    per_example = mlp_memory(widths, 2, optimizer).activations - fixed.activations
    print(
        f"{optimizer:>4}: fixed {format_bytes(fixed_bytes)}, {per_example:,} bytes per example; "
        f"activations exceed the fixed part from B = {fixed_bytes // per_example + 1:,}"
    )

# %% [markdown]
# On a GPU the same accounting can be checked against the allocator: the peak memory that
# `torch.cuda.max_memory_allocated` reports while the model trains (beyond the data batch) must be
# at least the predicted total. It is more: the allocator rounds blocks up, the backward pass
# and the multi-tensor optimizer step need temporary buffers, and the first matrix product
# reserves a fixed workspace for cuBLAS, which dominates while the model is small. On an NVIDIA
# H200 (PyTorch 2.11) this cell printed ratios of 5.05, 1.16 and 1.15 for batches of 64, 1,024
# and 8,192: the formula is a floor, and a close one once activations dominate. On a CPU there is
# no such counter, and the cell says so.

# %% output_varies="device (the GPU check runs only where there is a GPU)" tags=["nbval-ignore-output"]
def peak_cuda_bytes(widths, batch_size, optimizer, device):
    """Peak bytes that the model and its training take on the GPU, beyond the data batch itself."""
    torch.manual_seed(0)
    x = torch.randn(batch_size, widths[0], device=device)
    y = torch.randint(0, widths[-1], (batch_size,), device=device)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)  # the batch only
    model = make_mlp(widths).to(device)
    opt = torch.optim.Adam(model.parameters()) if optimizer == "adam" else torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(2):  # the second step runs with gradients and optimizer state already in place
        opt.zero_grad(set_to_none=False)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - base


device = dev.get_device()
if device.type == "cuda":
    for batch_size in (64, 1024, 8192):
        predicted = mlp_memory(widths, batch_size, "adam").total
        peak = peak_cuda_bytes(widths, batch_size, "adam", device)
        print(f"B={batch_size:>5}: predicted {format_bytes(predicted)}, CUDA peak {format_bytes(peak)}, ratio {peak / predicted:.2f}")
else:
    print("No GPU selected: torch.cuda.max_memory_allocated is only available on a CUDA device.")

# %% [markdown]
# ## Explore: width, depth and batch size
#
# Choose the width and the number of hidden layers of a ReLU MLP (784 inputs, 10 classes) and the
# batch size: the left panel stacks the four terms for SGD, momentum and Adam at that batch size,
# the right panel shows each optimizer's total against the batch size. On the website the controls
# switch between views precomputed for widths 512, 1024 and 2048, depths 3 and 6 and batch sizes
# 16, 256 and 4096; run the notebook for continuous sliders. Things to try:
#
# * At batch 16, compare the three bars: the activations are a sliver, and Adam's bar is about
#   twice SGD's, because its two state tensors add two copies of the parameters to SGD's
#   parameters and gradients.
# * Width 1024 to 2048 (depth 3, batch 256): the parameters, gradients and optimizer state more
#   than triple (the hidden weights are $n \times n$; only the first layer, $784 \times n$, grows
#   in proportion to $n$), while the activations grow by less than a factor of two.
# * Batch 256 to 4096 (width 1024, depth 3): the activations grow sixteen-fold and overtake the
#   fixed part of all three optimizers; nothing else changes.
# * Then width 2048, still at batch 4096: the activations still exceed SGD's fixed part, but no
#   longer momentum's or Adam's.

# %% output_varies="widget" tags=["nbval-ignore-output"]
memory_explorer()

# %% [markdown]
# ## When the model does not fit
#
# Suppose the training step must fit in a fixed memory budget, say the 64 MiB left over on a
# small accelerator. The fixed part (weights, gradients, optimizer state) must fit first; what
# remains, divided by the per-example activation cost, is the largest mini-batch that fits:

# %%
budget = 64 * 2**20
for optimizer in ("sgd", "momentum", "adam"):
    for w in ([784, 512, 256, 10], [784, 2048, 2048, 10]):
        b_max = largest_batch_that_fits(w, budget, optimizer)
        verdict = f"largest batch {b_max:,}" if b_max else "does not fit at any batch size"
        print(f"{optimizer:>8}, hidden {w[1:-1]}: {verdict}")

# %% [markdown]
# The larger network does not fit with momentum or Adam at all, but does with plain SGD: the
# optimizer's state alone decides it. When the model fits but the batch one wants does not, there are three
# classic ways out, all of them trading time for memory:
#
# 1. **Smaller mini-batches.** Activations shrink in proportion. The price is more steps per
#    epoch and noisier gradients (chapters 1 and 5).
# 2. **Gradient accumulation.** Split a batch of $B$ into $k$ micro-batches of $B/k$, add up their
#    gradients before one update. The update is *the same* as with the full batch (shown below),
#    the activation memory that of a micro-batch.
# 3. **Less data at a time.** Stream the data set in shards, or split the model and the data
#    across machines, as Dean et al.'s DistBelief does {cite}`dean2012large`. The review puts it
#    briefly: congestion "can be avoided by reducing the data size", an approach it calls "not a
#    common practice" {cite}`ranjan2018efficient` (section I-A).
#
# Two more remedies are standard today, and chapter 11 teaches both:
#
# 4. **Activation checkpointing** (also called gradient checkpointing or rematerialisation) keeps
#    only some of the activations during the forward pass and recomputes the others when the
#    backward pass needs them. Chen et al. {cite}`chen2016training` train an $n$-layer network in
#    $O(\sqrt n)$ activation memory for the price of about one extra forward pass per mini-batch.
# 5. **Mixed precision** stores activations and gradients, and computes the products, in 16-bit
#    floats, while a float32 master copy of the weights receives the updates and the loss is scaled
#    so that small gradients do not underflow {cite}`micikevicius2018mixed`: half the bytes per
#    number for the activations, and, on hardware with 16-bit matrix units, faster products too.
#
# Gradient accumulation gives the full-batch gradient, up to floating-point rounding. (We check
# it in float64: in float32 the rounding differences of differently-sized products can flip a
# ReLU whose input is within $10^{-7}$ of zero, which blurs the comparison.)

# %%
torch.manual_seed(0)
model = make_mlp([784, 256, 10]).double()
x, y = torch.randn(512, 784, dtype=torch.float64), torch.randint(0, 10, (512,))

model.zero_grad()
nn.functional.cross_entropy(model(x), y).backward()
full = [p.grad.clone() for p in model.parameters()]

k = 8  # micro-batches of 64
model.zero_grad()
for x_micro, y_micro in zip(x.chunk(k), y.chunk(k)):
    (nn.functional.cross_entropy(model(x_micro), y_micro) / k).backward()  # .grad adds up
accumulated = [p.grad.clone() for p in model.parameters()]

max_diff = max((a - f).abs().max().item() for a, f in zip(accumulated, full))
print(f"largest difference between accumulated and full-batch gradient below 1e-12: {max_diff < 1e-12}")
print(f"float64 activation memory, full batch 512: {format_bytes(mlp_memory([784, 256, 10], 512, bytes_per_number=8).activations)}")
print(f"float64 activation memory, micro-batch 64: {format_bytes(mlp_memory([784, 256, 10], 64, bytes_per_number=8).activations)}")

# %% [markdown]
# ## The course at a glance
#
# | # | chapter | review section | status |
# |---|---|---|---|
# | 0 | [Why training is expensive](00_why_training_is_expensive.ipynb) | I, I-A, I-B | this chapter |
# | 1 | [Gradient descent: batch, stochastic, mini-batch](01_gradient_descent.ipynb) | II-A | ready |
# | 2 | [Momentum and Nesterov](02_momentum_and_nesterov.ipynb) | II-A | ready |
# | 3 | [Adaptive learning rates: AdaGrad, RMSProp, AdaDelta](03_adaptive_learning_rates.ipynb) | II-A | ready |
# | 4 | [Adam, from Algorithm 1 to AdamW](04_adam.ipynb) | II-A | ready |
# | 5 | [Hyperparameters](05_hyperparameters.ipynb) | II-B | ready |
# | 6 | [Regularization](06_regularization.ipynb) | II-B | ready |
# | 7 | [Layer-wise pre-training and automatic differentiation](07_pretraining_and_autodiff.ipynb) | II-B | ready |
# | 8 | [Resource-Allocating Networks](08_resource_allocating_network.ipynb) | II-C | ready |
# | 9 | [RAN with an Extended Kalman Filter](09_ran_ekf.ipynb) | II-C | ready |
# | 10 | [Deep Cascade Learning](10_deep_cascade_learning.ipynb) | II-D | ready |
# | 11 | [When the model does not fit and a step is too slow](11_memory_and_speed.ipynb) | I-A | ready |
# | 12 | [Scaling out: data-parallel and asynchronous SGD](12_scaling_out.ipynb) | I-A | ready |
# | 13 | [A checklist for training efficiently, applied end to end](13_checklist.ipynb) | III | ready |

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** How many bytes does Adam's state take for the network with widths
# `[784, 512, 256, 10]` in float32? Remember the step counter, one float32 per parameter tensor.

# %%
your_answer = None  # replace with your number
check.adam_state_bytes(your_answer, widths=[784, 512, 256, 10])

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# 2 numbers per parameter (m and v) plus one step counter per tensor (6 tensors).
P = mlp_parameter_count([784, 512, 256, 10])
solution = (2 * P + 6) * 4
check.adam_state_bytes(solution, widths=[784, 512, 256, 10])

# %% [markdown]
# **Exercise 2.** A layer's forward pass multiplies a $B \times n_\text{in}$ mini-batch by an
# $n_\text{in} \times n_\text{out}$ weight matrix. The backward pass needs two products of the
# same size (one for the weight gradient, one for the input gradient). How many FLOPs does one
# training step of a single linear layer with $B = 256$, $n_\text{in} = n_\text{out} = 1024$ take,
# counting only these three products?

# %%
your_answer = None
check.linear_step_flops(your_answer, batch_size=256, n_in=1024, n_out=1024)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Each product is 2 * B * n_in * n_out FLOPs, and there are three of them.
solution = 3 * 2 * 256 * 1024 * 1024
check.linear_step_flops(solution, batch_size=256, n_in=1024, n_out=1024)

# %% [markdown]
# **Exercise 3.** With a budget of 64 MiB and momentum SGD, what is the largest mini-batch for a
# network with widths `[784, 1024, 1024, 10]`? Work it out from the table of terms, then check.

# %%
your_answer = None
check.largest_batch(your_answer, widths=[784, 1024, 1024, 10], budget_bytes=64 * 2**20, optimizer="momentum")

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Subtract the fixed part (3 P floats for parameters, gradients and velocity),
# then divide by the activation bytes of one example.
w = [784, 1024, 1024, 10]
P = mlp_parameter_count(w)
per_example = (sum(w[:-1]) + w[-1]) * 4 + 8  # floats of the saved tensors, and the int64 target
solution = (64 * 2**20 - 3 * P * 4 - 4) // per_example  # the loss also keeps one float scalar per step
check.largest_batch(solution, widths=w, budget_bytes=64 * 2**20, optimizer="momentum")

# %% [markdown]
# **Exercise 4 (open).** Re-run the throughput measurement with `dtype=torch.float64`. By what
# factor does the CPU's throughput drop at $n = 1024$, and why would you expect about two?
#
# ## Summary
#
# * Training time is steps x work per step / hardware speed. Hardware raises the speed;
#   algorithms, the subject of the rest of this course, cut the steps and the work.
# * Hardware delivers its speed only on large enough matrix products. The roofline
#   $\min(P, I\beta)$ bounds a kernel by its arithmetic intensity ($n/6$ FLOP per byte for an
#   $n \times n$ float32 product); small products fall far below it because of fixed costs per
#   call, and small models may even run best on a single CPU thread.
# * Training memory is parameters + gradients + optimizer state (0, 1 or 2 copies of the
#   parameters for SGD, momentum, Adam) + activations, and only the activations grow with the
#   batch size. The formula matches PyTorch to the byte.
# * When a model does not fit: a leaner optimizer, smaller or accumulated mini-batches, less data
#   at a time, and the two standard remedies of chapter 11, activation checkpointing and mixed
#   precision.
#
# ## References
#
# {cite}`ranjan2018efficient` (sections I, I-A, I-B), {cite}`dean2012large` (training beyond one
# machine's memory), {cite}`krizhevsky2012imagenet` (GPUs for deep networks),
# {cite}`williams2009roofline` (the roofline model), {cite}`polyak1964some` (momentum),
# {cite}`chen2016training` (activation checkpointing), {cite}`micikevicius2018mixed` (mixed precision).
# The full list is on the website's Bibliography page.
