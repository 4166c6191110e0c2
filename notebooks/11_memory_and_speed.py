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
# # 11. When the model does not fit and a step is too slow
#
# The review this course follows notes that GPUs learn slowly "in cases where the model does not
# fit in the GPU memory", and that such congestion can be avoided by reducing the data size, which
# it calls "not a common practice" {cite}`ranjan2018efficient`. Today there is a standard kit of
# remedies, and chapter 0's byte count is enough to predict what each one buys. This chapter
# takes them one at a time: **predict first, then measure**.
#
# **Learning objectives.** After this chapter you can
#
# 1. measure the memory of a training step on any device, and check it against chapter 0's formula;
# 2. use gradient accumulation and say when it gives exactly the full-batch update (and when,
#    with BatchNorm, it does not);
# 3. trade recomputation for memory with activation checkpointing, and choose the number of
#    segments (the $\sqrt{L}$ rule);
# 4. explain why float16 needs loss scaling and bfloat16 does not, and what each gives up;
# 5. count the bytes per parameter of SGD, momentum and Adam, and what sharding the optimizer
#    state (ZeRO stage 1) saves;
# 6. put an optimizer step on the memory-bandwidth roofline, and find where a step's time goes
#    with the profiler.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from effdnn_lib import device as dev
from effdnn_lib import optim as course_optim
from effdnn_lib.data.digits import load_digits
from effdnn_lib.exercises import ch11 as check
from effdnn_lib.hardware import ADAM_BYTES_PER_PARAMETER, matmul_throughput, time_interleaved, triad
from effdnn_lib.memory import format_bytes, make_mlp, mlp_memory, mlp_parameter_count, optimizer_state_bytes
from effdnn_lib.memory_saving import (
    DynamicLossScaler,
    MemoryTracker,
    accumulate_gradients,
    bytes_per_parameter,
    checkpointed_forward,
    count_underflow,
    measure_step_memory,
    mlp_accumulation_memory,
    mlp_checkpoint_memory,
    partition_parameters,
)
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.plotting import FIGSIZE_WIDE, PALETTE
from effdnn_lib.widgets import measure_step, plot_step_budget, predict_step, step_budget_explorer

setup(seed=0, threads=1)

# %% [markdown]
# ## Measuring memory on any device
#
# On a GPU, `torch.cuda.max_memory_allocated` reports the peak. The CPU has no such counter, so the
# course measures what a step allocates itself: `MemoryTracker` sees every tensor that every
# operation creates, forward and backward, adds its storage's bytes when it appears and subtracts
# them when the last tensor on that storage dies. What it counts follows from the shapes and from
# the lifetimes autograd gives the tensors, so it is the same number on every machine.

# %%
show_source(MemoryTracker)

# %% [markdown]
# The test model is deep and narrow, so that activations, not weights, dominate: 16 hidden
# layers of 64 units on a batch of 1,024 random inputs. `measure_step_memory` runs one forward
# and backward pass under the tracker and reports what the forward pass leaves for the backward
# pass (the batch, every tensor saved for backward, the loss), and the peak of the whole step.
# Chapter 0's activation count plus the loss's 4 bytes predicts the first number:

# %%
widths = [64] + [64] * 16 + [10]
batch_size = 1024
torch.manual_seed(0)
model = make_mlp(widths)
x, y = torch.randn(batch_size, widths[0]), torch.randint(0, widths[-1], (batch_size,))
P = mlp_parameter_count(widths)
plain = measure_step_memory(model, x, y)
print(f"{len(model)} modules, P = {P:,} parameters ({format_bytes(4 * P)} of weights)")
print(f"held after forward: predicted {mlp_accumulation_memory(widths, batch_size, 1):,} B, measured {plain.held_after_forward:,} B")
print(f"peak of the step:   measured {plain.peak:,} B ({format_bytes(plain.peak)})")

# %% [markdown]
# The prediction is exact to the byte. The peak is larger: during the backward pass the
# gradients of the weights appear while the saved activations are still being consumed.
#
# ## 1. Gradient accumulation
#
# Split a batch of $B$ into $k$ micro-batches of $B/k$, run forward and backward on each, let
# `.grad` add the contributions up, and step once. Dividing each micro-batch's mean loss by $k$
# makes the sum the full batch's mean:
# $\frac1k\sum_j \frac{k}{B}\sum_{i\in j}\ell_i = \frac1B\sum_i \ell_i$.

# %%
show_source(accumulate_gradients)

# %% [markdown]
# The claim is exactness, so it is checked in float64, where a real difference would be many
# orders of magnitude above the rounding of $10^{-16}$ per operation. BatchNorm is the caveat:
# it normalises with the statistics of the batch it sees, so micro-batches of 128 see other means
# and variances than a batch of 1,024, and the gradient changes.

# %%
def max_grad_difference(model, k):
    loss_fn = nn.functional.cross_entropy
    accumulate_gradients(model, loss_fn, x64, y, 1)
    full = [p.grad.clone() for p in model.parameters()]
    accumulate_gradients(model, loss_fn, x64, y, k)
    return max((p.grad - f).abs().max().item() for p, f in zip(model.parameters(), full))


x64 = x.double()
torch.manual_seed(0)
mlp64 = make_mlp(widths).double()
for k in (2, 4, 8):
    print(f"k = {k}: accumulated gradient equals the full-batch gradient (below 1e-12): {max_grad_difference(mlp64, k) < 1e-12}")
torch.manual_seed(0)
with_bn = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10)).double()
print(f"with BatchNorm, k = 8: largest difference {max_grad_difference(with_bn, 8):.2g} (not rounding)")

# %% [markdown]
# Now memory against $k$. The prediction is chapter 0's count for a micro-batch of $B/k$. The peak
# adds the gradients, which do not shrink (they are the size of the weights), and the gradient
# flowing back; the bound for it is the one of the checkpointing section below, with a single
# segment (`mlp_checkpoint_memory(widths, B // k, None)`). So the peak falls less than the held
# activations do.

# %%
print(f"{'k':>3} {'micro-batch':>11} {'held predicted':>15} {'held measured':>14} {'peak bound':>11} {'peak measured':>14}")
accumulation_rows = []
for k in (1, 2, 4, 8, 16):
    m = measure_step_memory(model, x, y, accumulation_steps=k)
    predicted = mlp_accumulation_memory(widths, batch_size, k)
    peak_bound = mlp_checkpoint_memory(widths, batch_size // k, None).peak
    accumulation_rows.append((k, predicted, m))
    print(f"{k:>3} {batch_size // k:>11} {predicted:>15,} {m.held_after_forward:>14,} {peak_bound:>11,} {m.peak:>14,}")
print(f"every prediction of the held bytes exact: {all(p == m.held_after_forward for _, p, m in accumulation_rows)}")
print(f"peak, k = 16 against k = 1: {accumulation_rows[-1][2].peak / accumulation_rows[0][2].peak:.2f} "
      f"(held: {accumulation_rows[-1][2].held_after_forward / accumulation_rows[0][2].held_after_forward:.4f})")

# %% [markdown]
# ## 2. Activation checkpointing
#
# Chen et al. {cite}`chen2016training` keep, during the forward pass, only the input of each of
# $s$ segments of the network; the backward pass runs each segment's forward again just before
# its backward. With $L$ layers in $s$ equal segments the memory is about
# $s + L/s$ layer activations (the checkpoints, plus one segment's recomputed activations), which is
# smallest at $s = \sqrt{L}$; the price is one more forward pass. PyTorch provides the mechanism,
# `torch.utils.checkpoint.checkpoint`; the course splits an `nn.Sequential` with it:

# %%
show_source(checkpointed_forward)

# %% [markdown]
# First the check that nothing changes but the memory: the gradients are those of the plain
# network (float64, tolerance $10^{-12}$).

# %%
torch.manual_seed(0)
accumulate_gradients(mlp64, nn.functional.cross_entropy, x64, y, 1)
plain_grads = [p.grad.clone() for p in mlp64.parameters()]
for segments in (2, 4, 8):
    mlp64.zero_grad()
    nn.functional.cross_entropy(checkpointed_forward(mlp64, x64, segments), y).backward()
    gap = max((p.grad - g).abs().max().item() for p, g in zip(mlp64.parameters(), plain_grads))
    print(f"{segments} segments: gradients equal the plain network's (below 1e-12): {gap < 1e-12}")

# %% [markdown]
# The prediction, `mlp_checkpoint_memory`: after the forward pass the step holds the batch, the
# input of every segment but the first and the loss (exact); the peak comes in the backward pass
# of the largest segment, where the gradients, that segment's recomputed activations and the
# gradient flowing back are live as well (an upper bound: it counts all gradients, although the
# layers the backward pass has not reached have none yet).

# %%
print(f"{'segments':>8} {'held predicted':>15} {'held measured':>14} {'peak bound':>11} {'peak measured':>14} {'measured/bound':>15}")
checkpoint_rows = []
for segments in (None, 2, 3, 4, 6, 8, 16):
    m = measure_step_memory(model, x, y, segments=segments)
    p = mlp_checkpoint_memory(widths, batch_size, segments)
    checkpoint_rows.append((segments or 1, p, m))
    print(f"{segments or 'none':>8} {p.held_after_forward:>15,} {m.held_after_forward:>14,} {p.peak:>11,} {m.peak:>14,} {m.peak / p.peak:>15.2f}")
print(f"held after forward exact in every row: {all(p.held_after_forward == m.held_after_forward for _, p, m in checkpoint_rows)}")
best = min(checkpoint_rows[1:], key=lambda r: r[2].peak)
print(f"smallest measured peak: {best[0]} segments, {best[2].peak / plain.peak:.2f} of the plain step's peak")

# %% mystnb={"image": {"alt": "Memory in MiB against the number of checkpointed segments s, 2 to 16 on a log scale, for the MLP of 16 hidden layers: the measured peak (blue) and the predicted bound (orange, dashed, a little above it) are both lowest at s = 4, the square root of 16 (green dotted line), and rise towards the peak without checkpointing (black dotted line) at s = 16, while the bytes held after the forward pass (green squares) grow with s."}}
fig, ax = plt.subplots()
s_values = [r[0] for r in checkpoint_rows[1:]]
ax.plot(s_values, [r[2].peak / 2**20 for r in checkpoint_rows[1:]], marker="o", label="peak, measured")
ax.plot(s_values, [r[1].peak / 2**20 for r in checkpoint_rows[1:]], marker=".", ls="--", label="peak, predicted bound")
ax.plot(s_values, [r[2].held_after_forward / 2**20 for r in checkpoint_rows[1:]], marker="s", label="held after forward")
ax.axhline(plain.peak / 2**20, color=PALETTE["black"], lw=0.8, ls=":", label="no checkpointing")
ax.axvline(np.sqrt(16), color=PALETTE["green"], lw=0.8, ls=":", label="sqrt(16 hidden layers)")
ax.set_xscale("log", base=2)
ax.set_xlabel("segments s")
ax.set_ylabel("MiB")
ax.set_title("Checkpointing: fewest bytes near s = sqrt(L)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The bound is at most about a fifth above the measurement, and both have their minimum near
# $\sqrt{L}$: with few segments each recomputed segment is large, with many the checkpoints add up.
# The price is recomputation. FLOPs are counted exactly by PyTorch's `FlopCounterMode` (matrix
# products only), so they can be printed; the time follows in a cell of timings.
# The same holds for a small convolutional network on 8 x 8 images (six 3 x 3 convolutions of 16
# channels, no formula this time: measured only).

# %%
def step_flops(model, x, y, segments):
    with FlopCounterMode(display=False) as counter:
        out = model(x) if segments is None else checkpointed_forward(model, x, segments)
        nn.functional.cross_entropy(out, y).backward()
    return counter.get_total_flops()


torch.manual_seed(0)
cnn = nn.Sequential(
    *[layer for i in range(6) for layer in (nn.Conv2d(1 if i == 0 else 16, 16, 3, padding=1), nn.ReLU())],
    nn.Flatten(), nn.Linear(16 * 8 * 8, 10),
)
x_img = torch.randn(256, 1, 8, 8)
y_img = torch.randint(0, 10, (256,))
for name, net, xb, yb, segments in (("deep MLP", model, x, y, 4), ("small CNN", cnn, x_img, y_img, 3)):
    base, ckpt = step_flops(net, xb, yb, None), step_flops(net, xb, yb, segments)
    m0, m1 = measure_step_memory(net, xb, yb), measure_step_memory(net, xb, yb, segments=segments)
    print(f"{name}, {segments} segments: FLOPs x {ckpt / base:.3f} (one more forward pass: x {4 / 3:.3f}); "
          f"peak {format_bytes(m0.peak)} -> {format_bytes(m1.peak)}")

# %%
def median_step_seconds(step, repeats=7):
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def train_step(net, xb, yb, segments):
    net.zero_grad()
    out = net(xb) if segments is None else checkpointed_forward(net, xb, segments)
    nn.functional.cross_entropy(out, yb).backward()


checkpoint_times = {
    (name, s): median_step_seconds(lambda: train_step(net, xb, yb, s))
    for name, net, xb, yb, seg in (("deep MLP", model, x, y, 4), ("small CNN", cnn, x_img, y_img, 3))
    for s in (None, seg)
}

# %% output_varies="timings" tags=["nbval-ignore-output"]
for (name, s), seconds in checkpoint_times.items():
    base = checkpoint_times[(name, None)]
    print(f"{name:>9}, {'no checkpointing' if s is None else f'{s} segments':>16}: {seconds * 1e3:7.2f} ms per step ({seconds / base:.2f} x)")

# %% [markdown]
# The FLOP count says the price exactly: forward and backward cost about $2 + 4$ FLOPs per
# weight and example, one more forward adds 2, so the step costs at most about $4/3$ as much. It
# costs less when a segment ends in an operation whose output the backward pass does not need:
# PyTorch's checkpoint stops recomputing a segment as soon as it has rebuilt every tensor that was
# saved, so the CNN's segments, which end in convolutions (a ReLU saves its own output, not its
# input), skip their last convolution, and the MLP skips its final layer. The measured times rise
# too, by an amount that depends on the machine and its load (the text quotes none of their
# digits): on a quiet machine `benchmarks/memory_techniques.py` finds a rise close to the FLOP
# ratio, on a busy one it can be larger, since the checkpoint's own bookkeeping (a hook on every
# saved tensor, a second pass through Python) costs time as well. Recomputation is not free.
#
# ## 3. Mixed precision
#
# A 16-bit number takes half the memory and, on hardware built for it, half the time or less.
# The two formats spend their 16 bits differently {cite}`micikevicius2018mixed,kalamkar2019study`:
#
# | format | exponent bits | mantissa bits |
# |---|---|---|
# | float32 | 8 | 23 |
# | float16 | 5 | 10 |
# | bfloat16 | 8 | 7 |
#
# The cell below prints what follows for each: the smallest positive number and the rounding unit.
# float16's range is the problem: gradients below its smallest positive number become zero.
# Here are the float64 gradients of the deep MLP, cast to each format, counting the nonzero entries
# that become zero (underflow) or infinite (overflow), with the loss multiplied by a scale $S$ first:

# %%
for dt in (torch.float32, torch.float16, torch.bfloat16):
    info = torch.finfo(dt)
    mantissa = round(-np.log2(info.eps))
    smallest = round(np.log2(info.smallest_normal)) - mantissa  # the smallest subnormal
    print(f"{str(dt)[6:]:>9}: {mantissa} mantissa bits, smallest positive 2^{smallest}, rounding unit 2^{-mantissa - 1} = {info.eps / 2:.2g}")
torch.manual_seed(0)
mlp64 = make_mlp(widths).double()
accumulate_gradients(mlp64, nn.functional.cross_entropy, x64, y, 1)
grads = [p.grad for p in mlp64.parameters()]
print(f"\n{'format':>9} {'scale S':>8} {'nonzero':>8} {'underflow':>10} {'overflow':>9}")
for dt, name in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
    for scale in ((1.0, 2.0**8, 2.0**16, 2.0**24, 2.0**32) if dt == torch.float16 else (1.0,)):
        c = count_underflow(grads, dt, scale)
        print(f"{name:>9} {'2^%d' % np.log2(scale):>8} {c['nonzero']:>8,} {c['underflow']:>10,} {c['overflow']:>9,}")

# %% [markdown]
# Without scaling, float16 loses most of this gradient to zero (21,635 of 30,759 entries: the deep,
# narrow network's early layers get tiny gradients). A scale of $2^{16}$ (the default of PyTorch's
# `GradScaler`) brings back all but 19 of them, and too large a scale overflows. bfloat16 keeps
# float32's exponent, so nothing underflows, but it rounds coarsely: its rounding unit is 8 times
# float16's. Since the right scale is not known in advance,
# *dynamic* loss scaling starts high, halves the scale (and skips the step) whenever a gradient
# overflows, and doubles it after a run of good steps. The course's scaler, from scratch:

# %%
show_source(DynamicLossScaler)

# %% [markdown]
# It follows the same rule as `torch.amp.GradScaler`. A constructed check: a parameter whose
# gradient overflows on steps 3 and 4 and is finite otherwise, growth after 2 good steps; both
# scalers must produce the same sequence of scales and the same parameter values.

# %%
def run_scaler(use_torch):
    w = nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**4, growth_interval=2) if use_torch else DynamicLossScaler(2.0**4, growth_interval=2)
    scales = []
    for step in range(8):
        opt.zero_grad()
        loss = (w * (1e38 if step in (3, 4) else 1.0)).sum()  # scaled, 1e38 overflows float32
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale() if use_torch else scaler.scale_value)
    return scales, w.item()


ours_run, torch_run = run_scaler(False), run_scaler(True)
print(f"course scaler: scales {[int(s) for s in ours_run[0]]}, w = {ours_run[1]:.2f}")
print(f"torch scaler:  scales {[int(s) for s in torch_run[0]]}, w = {torch_run[1]:.2f}")
print(f"identical: {ours_run == torch_run}")

# %% [markdown]
# On the CPU, `torch.autocast` runs matrix products in bfloat16 (and keeps losses and reductions
# in float32). Memory first, measured exactly: autocast saves 16-bit copies of the layer inputs
# (and of the weights) for the backward pass.

# %%
bf16 = measure_step_memory(model, x, y, autocast_dtype=torch.bfloat16)
print(f"held after forward: float32 {format_bytes(plain.held_after_forward)}, bfloat16 autocast {format_bytes(bf16.held_after_forward)} "
      f"({bf16.held_after_forward / plain.held_after_forward:.2f} x)")
print(f"peak of the step:   float32 {format_bytes(plain.peak)}, bfloat16 autocast {format_bytes(bf16.peak)} ({bf16.peak / plain.peak:.2f} x)")

# %% [markdown]
# And the accuracy kept: the same MLP (two hidden layers of 128) trained on the digits for 30
# epochs with Adam, in float32 and under bfloat16 autocast, three seeds each (different
# initialisation and data order). bfloat16 arithmetic differs between CPUs in its last bits, and
# training amplifies them, so the cell prints verdicts that hold with a wide margin, not
# accuracies to the last digit.

# %%
digits = load_digits(test_fraction=0.25, seed=0)
train, test = digits["train"], digits["test"]


def train_digits(seed, autocast_dtype, epochs=30, batch=64):
    torch.manual_seed(seed)
    net = make_mlp([64, 128, 128, 10])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(train))
        for idx in order.split(batch):
            with torch.autocast("cpu", dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None):
                loss = nn.functional.cross_entropy(net(train.x[idx]), train.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return (net(test.x).argmax(1) == test.y).double().mean().item()


accuracy = {(seed, name): train_digits(seed, dt) for seed in (0, 1, 2) for name, dt in (("float32", None), ("bfloat16", torch.bfloat16))}
gaps = [abs(accuracy[(s, "bfloat16")] - accuracy[(s, "float32")]) for s in (0, 1, 2)]
print(f"float32 test accuracy above 0.9 on every seed: {all(accuracy[(s, 'float32')] > 0.9 for s in (0, 1, 2))}")
print(f"bfloat16 test accuracy above 0.9 on every seed: {all(accuracy[(s, 'bfloat16')] > 0.9 for s in (0, 1, 2))}")
print(f"bfloat16 within 2 percentage points of float32 on every seed: {max(gaps) < 0.02}")

# %% [markdown]
# Time: whether bfloat16 is faster on a CPU depends on the chip. CPUs with bfloat16 matrix
# instructions (AVX512-BF16, AMX) run the products much faster; others convert to float32 and back,
# and may run *slower* than float32. This cell times one training step of the deep MLP both ways on
# the machine in front of you; on a GPU it also runs float16 with the gradient scaler.

# %%
def autocast_step(dtype, scaler=None, device="cpu"):
    net, xb, yb = model.to(device), x.to(device), y.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    def step():
        opt.zero_grad()
        with torch.autocast(device, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(net(xb), yb)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        dev.synchronize(device)
    return median_step_seconds(step)


precision_times = {"float32": autocast_step(None), "bfloat16 autocast": autocast_step(torch.bfloat16)}
device = dev.get_device()
if device.type == "cuda":
    precision_times["cuda float32"] = autocast_step(None, device="cuda")
    precision_times["cuda float16 + GradScaler"] = autocast_step(torch.float16, torch.amp.GradScaler("cuda"), device="cuda")
    model.to("cpu")

# %% output_varies="timings" tags=["nbval-ignore-output"]
for name, seconds in precision_times.items():
    print(f"{name:>26}: {seconds * 1e3:7.2f} ms per step")

# %% [markdown]
# ## 4. Optimizer state, and sharding it
#
# Per parameter, in bytes: 4 for the weight and 4 for its gradient in float32, plus 4 per state
# tensor (0 for SGD, 1 for momentum, 2 for Adam). Mixed-precision training keeps 16-bit weights and
# gradients (2 + 2) and a float32 master copy of the weights (4) with the optimizer state
# {cite}`micikevicius2018mixed`. With $N$ data-parallel workers, each holds all of it; ZeRO stage 1
# {cite}`rajbhandari2020zero` gives each worker the optimizer state (and master copy) of only a
# $1/N$ share of the parameters. Chapter 12 runs it for real; here is the arithmetic:

# %%
show_source(bytes_per_parameter)

# %%
print(f"{'optimizer':>9} {'precision':>9} " + " ".join(f"{'N=%d' % n:>6}" for n in (1, 2, 4, 8)) + "   (bytes per parameter, each worker)")
for opt_name in ("sgd", "momentum", "adam"):
    for mixed in (False, True):
        row = " ".join(f"{bytes_per_parameter(opt_name, n, mixed):>6.2f}" for n in (1, 2, 4, 8))
        print(f"{opt_name:>9} {'mixed' if mixed else 'float32':>9} {row}")

# %% [markdown]
# With Adam, sharding removes half of the float32 bytes on many workers (16 per parameter falls
# towards 8), and three quarters of the mixed-precision bytes (16 falls towards 4). The
# prediction for one worker is what PyTorch keeps; and a real partition of whole tensors (the
# greedy rule of PyTorch's `ZeroRedundancyOptimizer`: largest tensor first, to the least-loaded
# worker) is close to the ideal $1/N$ when the tensors are many and alike:

# %%
opt = torch.optim.Adam(model.parameters())
nn.functional.cross_entropy(model(x), y).backward()
opt.step()
predicted_state = mlp_memory(widths, 1, "adam").optimizer_state
print(f"Adam state of the deep MLP: predicted {predicted_state:,} B, torch.optim keeps {optimizer_state_bytes(opt):,} B")
params = list(model.parameters())
for shards in (2, 4, 8):
    owned = partition_parameters(params, shards)
    largest = max(sum(params[i].numel() for i in o) for o in owned)
    print(f"N = {shards}: the busiest worker holds state for {largest:,} parameters; ideal {P / shards:,.0f} ({largest / (P / shards):.3f} x)")
model.zero_grad(set_to_none=True)

# %% [markdown]
# ## 5. The optimizer step at the memory-bandwidth limit
#
# An optimizer step does almost no arithmetic per byte: float32 Adam reads the parameter, its
# gradient, $m$ and $v$ and writes the parameter, $m$ and $v$, at least
# $7 \times 4 = 28$ bytes per parameter, for about a dozen FLOPs. On the roofline
# {cite}`williams2009roofline` that is far left of the ridge: the step is bound by memory bandwidth
# $W$, and no implementation can take less than $28P/W$ seconds. Measure $W$ with a STREAM-style
# triad {cite}`mccalpin1995memory` (`a = b + 2c` moves 12 bytes per element), then time four Adam
# implementations on one tensor of $P$ parameters: the course's readable per-tensor update, its
# `_foreach` form, torch's `fused=True`, and the course's own fused step, the same arithmetic
# compiled into one loop by `torch.compile`:

# %%
show_source(course_optim.adam.adam_kernel)

# %% [markdown]
# Compiling takes a while (tens of seconds on a busy 2-core machine, once), so this notebook runs
# the compiled step only when `EFFDNN_COMPILE=1` is set; `benchmarks/optim_roofline.py` measures
# all four at 1M and 50M parameters. Where `torch.compile` cannot run (no C++ compiler),
# `Adam(fused=True)` says so in a warning and falls back to the readable update. First the check
# that the compiled step is Adam (float32, against `torch.optim.Adam`, relative tolerance
# $10^{-6}$: the compiled loop may contract a multiply and an add into one rounding).

# %%
def adam_pair(n, seed=0, **kwargs):
    g = torch.Generator().manual_seed(seed)
    p = nn.Parameter(torch.randn(n, generator=g))
    p.grad = torch.randn(n, generator=g) * 1e-3
    return p, kwargs


run_compiled = os.environ.get("EFFDNN_COMPILE", "0") == "1"
implementations = {
    "course loop": lambda ps: course_optim.Adam(ps, foreach=False),
    "course foreach": lambda ps: course_optim.Adam(ps, foreach=True),
    "torch fused": lambda ps: torch.optim.Adam(ps, fused=True),
}
if run_compiled:
    implementations["course fused"] = lambda ps: course_optim.Adam(ps, fused=True)
reference = nn.Parameter(adam_pair(1000)[0].detach().clone())
reference.grad = adam_pair(1000)[0].grad.clone()
torch_adam = torch.optim.Adam([reference])
for _ in range(5):
    torch_adam.step()
for name, make in implementations.items():
    p = adam_pair(1000)[0]
    o = make([p])
    for _ in range(5):
        o.step()
    print(f"{name:>14}: equals torch.optim.Adam after 5 steps (relative 1e-6): {torch.allclose(p, reference, rtol=1e-6, atol=0)}")
if not run_compiled:
    print("course fused: not run here (set EFFDNN_COMPILE=1; benchmarks/optim_roofline.py runs it)")
print(f"bytes per parameter of a float32 Adam step: {ADAM_BYTES_PER_PARAMETER}")

# %%
n_roofline = 1_000_000
calls = {"triad": triad(n_roofline)}
for name, make in implementations.items():
    p = adam_pair(n_roofline)[0]
    calls[name] = make([p]).step
roofline = time_interleaved(calls, repeats=15)
bandwidth = 12 * n_roofline / roofline.pop("triad")  # bytes per second, measured in turn with the steps
bound = ADAM_BYTES_PER_PARAMETER * n_roofline / bandwidth

# %% output_varies="timings" tags=["nbval-ignore-output"]
print(f"triad bandwidth {bandwidth / 1e9:.1f} GB/s; Adam bound at {n_roofline:,} parameters: {bound * 1e3:.3f} ms")
for name, seconds in roofline.items():
    print(f"{name:>14}: {seconds * 1e3:7.3f} ms, {seconds / bound:5.2f} x the bandwidth bound")

# %% [markdown]
# Time is measured in turn with a triad on vectors of the same length, so that a machine shared
# with other jobs slows the bound and the steps alike. The readable loop and the `_foreach` form
# pass over memory many times per step (each line of the update reads and writes whole tensors),
# so they sit several times above the bound; a fused step makes one pass and comes close to it, or
# even below it: a triad has three streams of memory, a fused Adam step seven, and one core can keep
# more transfers in flight with more streams, so the triad's bandwidth is an estimate from below.
# `benchmarks/optim_roofline.py` prints the same table for 1M and 50M parameters, the compiled
# course step included.
#
# ## 6. Where the time goes
#
# Before optimising a step, measure where its time goes. `torch.profiler` records every operator
# of one training step. Its table of times belongs to this machine and this moment (the profiler
# also logs its start and stop); which operators run, and how often, is a fact of the program and is
# printed in the cell after it.

# %% output_varies="timings" tags=["nbval-ignore-output"]
from torch.profiler import ProfilerActivity, profile

opt = torch.optim.Adam(model.parameters())


def one_step():
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


one_step()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    one_step()
events = prof.key_averages()
print(events.table(sort_by="self_cpu_time_total", row_limit=8, max_name_column_width=28))

# %%
counts = {e.key: e.count for e in events}
for op in ("aten::addmm", "aten::mm", "aten::relu", "aten::threshold_backward", "aten::_log_softmax"):
    print(f"{op:<26} called {counts.get(op, 0):>3} times")

# %% [markdown]
# Forward matrix products (`addmm`), the two backward products per layer (`mm`) and the optimizer's
# element-wise kernels share the time; the table shows the split on this machine.
#
# The other place time goes is the **input pipeline**. A `DataLoader` with `num_workers=0` prepares
# each batch in the training process, between steps; with workers, other processes prepare the next
# batches while the model trains. It is the bottleneck when preparing a batch (reading, decoding,
# augmenting) takes longer than a step. `pin_memory=True` copies batches into page-locked memory so
# that the transfer to a GPU can overlap computation; on a CPU-only run it does nothing useful. Below,
# a data set whose examples cost a fixed amount of preparation each (a stand-in for decoding), timed
# as a whole epoch with and without workers, beside the pure training time.

# %%
class SlowDataset(torch.utils.data.Dataset):
    """The digits, with ``work`` seconds of preparation per example (a stand-in for decoding)."""

    def __init__(self, split, work=2e-4):
        self.split, self.work = split, work

    def __len__(self):
        return len(self.split)

    def __getitem__(self, i):
        deadline = time.perf_counter() + self.work
        while time.perf_counter() < deadline:
            pass
        return self.split.x[i], self.split.y[i]


def epoch_seconds(num_workers, pipeline=True):
    torch.manual_seed(0)
    net = make_mlp([64, 128, 128, 10])
    opt = torch.optim.Adam(net.parameters())
    loader = torch.utils.data.DataLoader(
        SlowDataset(train), batch_size=64, shuffle=True, num_workers=num_workers, pin_memory=device.type == "cuda"
    )
    batches = list(zip(train.x.split(64), train.y.split(64)))
    t0 = time.perf_counter()
    for xb, yb in (loader if pipeline else batches):
        opt.zero_grad()
        nn.functional.cross_entropy(net(xb), yb).backward()
        opt.step()
    return time.perf_counter() - t0


pipeline_times = {"training only (data in memory)": epoch_seconds(0, pipeline=False),
                  "DataLoader, num_workers=0": epoch_seconds(0), "DataLoader, num_workers=2": epoch_seconds(2)}

# %% output_varies="timings" tags=["nbval-ignore-output"]
for name, seconds in pipeline_times.items():
    print(f"{name:>32}: {seconds:6.2f} s per epoch")

# %% [markdown]
# Here preparing the data costs more than training on it: the loop without workers is bound by its
# input, and the gap between the first two lines is the time the model waits. Workers can only hide
# that wait if there are idle cores to run them: on a laptop with cores to spare they do, while on a
# busy 2-core machine (such as the one that built this page may have been) they compete with the
# training process and may even slow it down; the timings above show which case this machine is in.
# When preparing a batch is cheap compared with a step, workers gain nothing and cost start-up time.
#
# ## Explore: predicted and measured, side by side
#
# Choose the model size, the batch, the precision, the number of checkpointed segments and the
# number of accumulated micro-batches. Running the notebook, each change predicts the step and then
# measures it on your machine: the left bar is the predicted memory (weights, gradients and Adam
# state as chapter 0 counts them; the activations as this chapter does), beside it the measured
# activations; the right panel the predicted step time (FLOPs at this machine's measured
# matrix-multiply rate, plus Adam's bytes at its bandwidth) beside the measured one. The prediction
# of time is rough: small layers run far below the peak rate (chapter 0), and the bfloat16
# prediction assumes the float32 rate.
#
# A measurement is a fact about one machine, so the website does not show any: there the controls
# switch between views precomputed for a network of 4 hidden layers of 256 units that show only
# the predictions, the memory and, in place of the time, the step's work in FLOPs. Run the notebook
# for the measurements, the other model sizes and up to 8 segments. Things to try:
#
# * Batch 256, then 1024: the activations grow fourfold and so does the work; the weights,
#   gradients and Adam state stay as they are.
# * At batch 1024, accumulate 4: the activations fall back to those of batch 256 (one micro-batch
#   is held at a time), and the work does not change.
# * Segments 3 instead of 1: the activations nearly halve, and the work grows by a third, the
#   recomputed forward pass.
# * bfloat16 at batch 1024: the activations shrink, but by less than half, because autocast's
#   16-bit copy of the weights is counted with them; at batch 256 that copy takes back most of the
#   saving.

# %%
throughput = max(matmul_throughput([256, 512], "cpu", repeats=3).values()) * 1e9

# %% output_varies="widget" tags=["nbval-ignore-output"]
step_budget_explorer(throughput, bandwidth)

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** How many bytes does the deep MLP's step (widths `[64] + [64] * 16 + [10]`,
# $B = 1024$) hold after the forward pass of one micro-batch when it accumulates over $k = 8$?
# Use chapter 0's activation count (and the loss itself, one float32).

# %%
your_answer = None  # replace with your number
check.accumulation_bytes(your_answer, widths=[64] + [64] * 16 + [10], batch_size=1024, k=8)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# A micro-batch of 128: 128 * (64 * 17 + 10) + 1 floats, 128 int64 targets, and the loss value.
b = 1024 // 8
solution = (b * (64 * 17 + 10) + 1) * 4 + b * 8 + 4
check.accumulation_bytes(solution, widths=[64] + [64] * 16 + [10], batch_size=1024, k=8)

# %% [markdown]
# **Exercise 2.** Mixed-precision Adam with ZeRO stage 1 on 4 workers: how many bytes per parameter
# does each worker keep for weights, gradients and optimizer state?

# %%
your_answer = None
check.zero1_bytes_per_parameter(your_answer, optimizer="adam", shards=4, mixed_precision=True)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# 16-bit weights and gradients (2 + 2) stay whole; m, v and the float32 master copy (12) are split in 4.
solution = 2 + 2 + 12 / 4
check.zero1_bytes_per_parameter(solution, optimizer="adam", shards=4, mixed_precision=True)

# %% [markdown]
# **Exercise 3.** A machine sustains 40 GB/s. What is the shortest possible float32 Adam step, in
# milliseconds, for 50M parameters?

# %%
your_answer = None
check.adam_bound_ms(your_answer, n_parameters=50_000_000, bandwidth_gb_per_s=40)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# 28 bytes per parameter, divided by the bandwidth.
solution = 28 * 50_000_000 / 40e9 * 1e3
check.adam_bound_ms(solution, n_parameters=50_000_000, bandwidth_gb_per_s=40)

# %% [markdown]
# **Exercise 4 (open).** Checkpoint the deep MLP with `torch.utils.checkpoint.checkpoint_sequential`
# instead of `checkpointed_forward`. It does not checkpoint its last segment: what does that change
# in the memory held after the forward pass, and in the FLOPs?
#
# ## Summary
#
# * A step's memory can be measured on any device by tracking the tensors it creates; what the
#   forward pass leaves for the backward pass matches chapter 0's count to the byte.
# * Gradient accumulation gives the full-batch gradient exactly (float64, below $10^{-12}$) with the
#   activations of a micro-batch, except with BatchNorm, whose statistics depend on the batch.
# * Checkpointing cuts the step's peak memory, most near $\sqrt{L}$ segments, for at most one extra
#   forward pass (at most a third more FLOPs); the gradients do not change.
# * float16 loses small gradients to zero unless the loss is scaled; bfloat16 keeps float32's range
#   and gives up mantissa bits; bfloat16 autocast halves the saved activations and, on the digits,
#   keeps the accuracy on every seed.
# * Adam keeps 16 bytes per float32 parameter; ZeRO stage 1 shares the optimizer state among the
#   workers.
# * An optimizer step is bound by memory bandwidth, 28 bytes per parameter for Adam: a fused step
#   makes one pass over memory, the readable one many. Profile before optimising, and check that the
#   input pipeline keeps up.
#
# ## References
#
# {cite}`ranjan2018efficient` (section I-A), {cite}`chen2016training` (checkpointing),
# {cite}`griewank2008evaluating` (checkpointing in reverse-mode differentiation),
# {cite}`micikevicius2018mixed` (mixed precision and loss scaling), {cite}`kalamkar2019study`
# (bfloat16), {cite}`rajbhandari2020zero` (ZeRO), {cite}`williams2009roofline` (the roofline model),
# {cite}`mccalpin1995memory` (STREAM).
