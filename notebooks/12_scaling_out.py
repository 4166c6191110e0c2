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
# # 12. Scaling out: many workers, one model
#
# The review's first reference is Dean et al.'s *Large Scale Distributed Deep Networks*
# {cite}`dean2012large`: when a model or its data outgrow one machine, the work is split across
# many. Dean et al. did it with a parameter server and asynchronous workers (Downpour SGD); today
# the default is synchronous data parallelism with an all-reduce of the gradients. This chapter runs
# both for real, on an existing distributed engine (`torch.distributed`, gloo on the CPU), launched the
# way practitioners launch it (`torchrun`), with two processes on a laptop, and plans past the laptop
# with a cost model whose constants are stated.
#
# **Learning objectives.** After this chapter you can
#
# 1. launch a DistributedDataParallel job with `torchrun`, and show that $N$ ranks with batch $B$ each
#    train exactly like one process with batch $NB$;
# 2. scale the learning rate with the batch (the linear scaling rule with warm-up) and find where
#    it stops working;
# 3. measure all-reduce times, fit the alpha-beta model, and predict the scaling efficiency of
#    thousands of workers, with and without overlap and bucketing;
# 4. shard the optimizer state with ZeRO stage 1 and predict each rank's memory;
# 5. explain asynchronous SGD (Downpour, Hogwild!), measure what staleness does to convergence, and
#    say where AdaGrad helps.

# %%
import json
import os
import sys
import tempfile
import time
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from effdnn_lib import dist_job
from effdnn_lib.async_sgd import loss_and_grad, softmax_problem
from effdnn_lib.data.digits import load_digits
from effdnn_lib.distributed import (
    NETWORKS,
    data_parallel_step,
    delayed_gradient_descent,
    fit_alpha_beta,
    ring_allreduce_time,
    run_torchrun,
    scaling_explorer,
)
from effdnn_lib.exercises import ch12 as check
from effdnn_lib.memory import optimizer_state_bytes_predicted
from effdnn_lib.memory_saving import bytes_per_parameter, partition_parameters
from effdnn_lib.notebook import setup, show_source
from effdnn_lib.plotting import FIGSIZE, FIGSIZE_WIDE, PALETTE

setup(seed=0, threads=1)
workdir = tempfile.mkdtemp(prefix="ch12_")

# %% [markdown]
# ## 1. Synchronous data parallelism
#
# Each of $N$ processes (*ranks*) holds a full copy of the model. A `DistributedSampler` gives rank
# $r$ every $N$-th example of a shuffled order, so the ranks see disjoint mini-batches of $B$
# examples. Each rank computes the gradient of the mean loss over its own batch, $g_r$; then
# `DistributedDataParallel` (DDP) **all-reduces** them, so that every rank ends the backward pass with
# the same average
#
# $$\bar g = \frac{1}{N}\sum_{r=1}^{N} g_r = \nabla \frac{1}{NB}\sum_{i \in \text{all } NB \text{ examples}} \ell_i ,$$
#
# the gradient of one batch of $NB$ examples, and applies the same optimizer step. The ranks stay
# identical without ever exchanging parameters. Here is the part of the job (the module
# `effdnn_lib.dist_job`) that trains with DDP; rank 0 then replays the same global batches in one
# process without DDP and compares the parameters.

# %%
show_source(dist_job.ddp_equivalence)

# %% [markdown]
# The notebook starts the job as a subprocess, exactly as on a cluster node:
# `python -m torch.distributed.run --standalone --nproc_per_node=2 -m effdnn_lib.dist_job`
# (`torch.multiprocessing.spawn` does not work inside Jupyter). One launch runs every distributed
# experiment of this chapter, DDP, ZeRO and the all-reduce timings, and rank 0 writes a JSON file.

# %%
show_source(run_torchrun)

# %% output_varies="timings" tags=["nbval-ignore-output"]
start = time.perf_counter()
run_torchrun("effdnn_lib.dist_job", ["--out", os.path.join(workdir, "job.json")], nproc=2, timeout=300)
print(f"the torchrun launch took {time.perf_counter() - start:.1f} s")

# %%
with open(os.path.join(workdir, "job.json")) as f:
    job = json.load(f)
ddp = job["ddp"]
print(f"{job['world_size']} ranks, backend {job['backend']}, batch {ddp['batch_per_rank']} per rank, "
      f"{ddp['steps']} steps of SGD with momentum (float64)")
print(f"one process, batch {job['world_size'] * ddp['batch_per_rank']}: {ddp['reference_steps']} steps on the same global batches")
print(f"largest parameter difference below 1e-12: {ddp['max_parameter_gap'] < 1e-12}")
print(f"first step, local gradient norms: " + ", ".join(f"rank {r}: {g:.3f}" for r, g in enumerate(ddp["local_gradient_norms"])))
print(f"  |g_0 - g_1| / |mean|: {ddp['local_gradients_relative_gap']:.2f}")
print(f"  after the all-reduce, both ranks hold a gradient of norm {ddp['reduced_gradient_norm']:.3f}")
print(f"  all-reduced = (g_0 + g_1) / 2 below 1e-12: {ddp['reduced_minus_mean_of_locals'] < 1e-12}")
print(f"  all-reduced = gradient of the batch of {job['world_size'] * ddp['batch_per_rank']} below 1e-12: {ddp['reduced_minus_full_batch'] < 1e-12}")

# %% [markdown]
# In float64 two ranks with batch 32 each end within $10^{-12}$ of one process with batch 64 after
# 42 steps (float64 rounds at $10^{-16}$ per operation; the only difference is the order in which
# the two halves of each sum are added). The two ranks' own gradients differ by more than their
# average (a batch of 32 is a noisy sample), yet after the all-reduce both hold the average, which is
# the gradient of the whole batch of 64: data parallelism changes *where* the gradient is computed,
# not *what* the optimizer does. Its cost is one all-reduce of all the gradients per step, the
# subject of section 3.
#
# ## 2. Large batches: the linear scaling rule and where it breaks
#
# Data parallelism multiplies the batch. With a fixed number of epochs, a batch $k$ times larger
# takes $k$ times fewer steps; Goyal et al. {cite}`goyal2017accurate` keep the progress per epoch
# with the **linear scaling rule**, "when the minibatch size is multiplied by k, multiply the learning
# rate by k", and a **gradual warm-up** that ramps the learning rate from small to the scaled value
# during the first epochs, because the scaled rate is too large while the network changes fast. Because
# section 1 showed that $N$ ranks with batch $B$ compute the same steps as one process with batch
# $NB$, we can measure the rule in one process. We tune the learning rate at $B = 32$ on a grid
# (validation loss, three seeds), then scale it with the batch, with and without two epochs of
# warm-up, for the same 10 epochs.

# %%
digits = load_digits(seed=0, val_fraction=0.2)
x_train, y_train = digits["train"].x.double(), digits["train"].y
x_val, y_val = digits["val"].x.double(), digits["val"].y
EPOCHS, BASE_BATCH, SEEDS = 10, 32, (0, 1, 2)


def train_large_batch(batch, lr, warmup_epochs, seed, epochs=EPOCHS):
    """SGD with momentum 0.9 on a 64-64-10 tanh MLP (float64); the learning rate ramps linearly from
    lr / warmup_steps to lr over the warm-up. Returns the validation loss."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10)).double()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    order = torch.Generator().manual_seed(seed)
    steps_per_epoch = len(y_train) // batch
    warmup_steps = warmup_epochs * steps_per_epoch
    t = 0
    for _ in range(epochs):
        perm = torch.randperm(len(y_train), generator=order)
        for k in range(steps_per_epoch):
            opt.param_groups[0]["lr"] = lr * min(1.0, (t + 1) / warmup_steps) if warmup_steps else lr
            idx = perm[k * batch:(k + 1) * batch]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            opt.step()
            t += 1
    with torch.no_grad():
        loss = nn.functional.cross_entropy(model(x_val), y_val).item()
    return loss if np.isfinite(loss) else float("inf")


base_grid = [0.01, 0.03, 0.1, 0.3]
base_losses = {lr: np.mean([train_large_batch(BASE_BATCH, lr, 0, s) for s in SEEDS]) for lr in base_grid}
base_lr = min(base_losses, key=base_losses.get)
assert base_lr not in (base_grid[0], base_grid[-1]), "the best base learning rate is on the edge of the grid"
print(f"B = {BASE_BATCH}: mean validation loss " + ", ".join(f"lr {lr:g}: {v:.3f}" for lr, v in base_losses.items()))
print(f"tuned base learning rate: {base_lr:g} (inside the grid); {len(y_train)} training examples, {len(y_val)} for validation")

# %%
batches = [32, 64, 128, 256, 512]
large_batch = {}
print(f"{'batch':>5} {'lr':>6} {'steps':>5}   validation loss, mean (min-max) of {len(SEEDS)} seeds")
for batch in batches:
    lr = base_lr * batch / BASE_BATCH
    row = []
    for warmup in (0, 2):
        losses = [train_large_batch(batch, lr, warmup, s) for s in SEEDS]
        large_batch[batch, warmup] = losses
        row.append(f"{'warm-up' if warmup else 'none':>7}: {np.mean(losses):.3f} ({min(losses):.3f}-{max(losses):.3f})")
    print(f"{batch:>5} {lr:>6.3g} {EPOCHS * (len(y_train) // batch):>5}   " + "   ".join(row))

# %% [markdown]
# Up to a batch of 128 the rule keeps the mean validation loss near the small-batch
# value (0.145 against 0.141; the seeds' ranges overlap). At 256 it loses ground on every seed (0.168 against
# 0.141), and at 512 the 989 training examples give one step per epoch: 10 steps in all at a
# learning rate of 0.48, and a mean loss of 0.246. The rule assumes that one step at $k$ times the
# rate does what $k$ small steps did, which holds only while the gradient changes little over those
# $k$ steps; here it fails once the number of steps becomes small. Warm-up does not rescue it on this
# problem: with two epochs of warm-up the mean loss is the same or slightly worse at every batch
# size. Warm-up is a remedy for the large early steps of deep networks that change fast at the start
# of training, which Goyal et al. needed for ResNet-50 on ImageNet; a small tanh MLP started near
# zero does not have that problem, and on it the fixed budget of epochs is what breaks the rule.
#
# ## 3. Communication cost: measured, fitted, and simulated at scale
#
# A message of $n$ bytes costs a latency plus a transfer time, the **alpha-beta model**
# $T(n) = \alpha + n/\beta$ with $\beta$ the bandwidth. A **ring all-reduce** over $N$ workers cuts the
# gradients into $N$ chunks and passes them around the ring twice (a reduce-scatter, then an
# all-gather): $2(N-1)$ messages of $n/N$ bytes,
#
# $$T_\text{ring}(n, N) = 2(N-1)\,\alpha + \frac{2(N-1)}{N}\,\frac{n}{\beta},$$
#
# whose bandwidth term tends to $2n/\beta$: it hardly grows with $N$, which is why the ring is the
# default of NCCL and gloo. The job timed `all_reduce` on 2 ranks (gloo, this machine's loopback) for
# messages from 64 B to 4 MiB; these numbers are **measured** and differ between machines and runs.

# %%
show_source(fit_alpha_beta)

# %% mystnb={"image": {"alt": "All-reduce time in seconds against the message size in bytes, both on log scales, from 64 B to 4 MiB: the times measured on this machine with gloo on 2 ranks (blue dots) and the fitted ring model (orange line), which is flat where the latency dominates and rises with the size for the largest messages."}} output_varies="timings" tags=["nbval-ignore-output"]
timing = job["allreduce"]
alpha_fit, bandwidth_fit = fit_alpha_beta(timing["bytes"], timing["seconds"])
for n, s in zip(timing["bytes"], timing["seconds"]):
    print(f"{n:>9,} B: {s * 1e6:8.1f} us measured, {ring_allreduce_time(n, 2, alpha_fit, bandwidth_fit) * 1e6:8.1f} us fitted")
print(f"fitted on this machine: alpha = {alpha_fit * 1e6:.1f} us, bandwidth = {bandwidth_fit / 1e9:.2f} GB/s")
fig, ax = plt.subplots(figsize=FIGSIZE)
ax.loglog(timing["bytes"], timing["seconds"], "o", color=PALETTE["blue"], label="measured (gloo, 2 ranks)")
grid = np.logspace(6, 22, 50, base=2)
ax.loglog(grid, [ring_allreduce_time(n, 2, alpha_fit, bandwidth_fit) for n in grid], color=PALETTE["orange"], label="fitted ring model")
ax.set_xlabel("message size (bytes)")
ax.set_ylabel("all-reduce time (s)")
ax.legend()
plt.show()

# %% [markdown]
# On one machine the "network" is shared memory and loopback sockets, so the fitted values say little
# about a cluster. To plan past the laptop we use the same model with **stated** constants (not
# measured here): the latency and bandwidth of three networks, a model of 100 million float32
# parameters (400 MB of gradients), 8,192 examples per worker at 6 FLOPs per parameter per example,
# and a sustained 50 TFLOP/s per worker, which gives a compute time of about 98 ms per step.

# %%
show_source(data_parallel_step)

# %%
N_PARAMS, BATCH_PER_WORKER, FLOPS = 100e6, 8192, 50e12
grad_bytes = 4 * N_PARAMS
compute_s = 6 * N_PARAMS * BATCH_PER_WORKER / FLOPS
bucket_count = int(np.ceil(grad_bytes / (25 * 2**20)))
print(f"model: {N_PARAMS / 1e6:.0f}M parameters, {grad_bytes / 1e6:.0f} MB of gradients; {BATCH_PER_WORKER:,} examples per worker "
      f"at {FLOPS / 1e12:.0f} TFLOP/s: compute {compute_s * 1e3:.0f} ms per step, of which backward {2 / 3 * compute_s * 1e3:.0f} ms; "
      f"{bucket_count} buckets of 25 MiB")
workers_list = [8, 32, 128, 512, 1024]
print(f"\n{'network':>20} {'schedule':>26} " + " ".join(f"{'N=%d' % n:>7}" for n in workers_list) + "   (simulated efficiency)")
schedules = {
    "one message, after": dict(buckets=1, overlap=False),
    "buckets, after backward": dict(buckets=bucket_count, overlap=False),
    "buckets, overlapped": dict(buckets=bucket_count, overlap=True),
    "per tensor (200), overlap": dict(buckets=200, overlap=True),
}
simulated = {}
for net, c in NETWORKS.items():
    for name, kw in schedules.items():
        eff = [data_parallel_step(compute_s, grad_bytes, n, c["alpha"], c["bandwidth"], **kw)["efficiency"] for n in workers_list]
        simulated[net, name] = eff
        print(f"{net:>20} {name:>26} " + " ".join(f"{e:>7.2f}" for e in eff))
    print(f"{'':>20} {'alpha, bandwidth':>26}  {c['alpha'] * 1e6:.0f} us, {c['bandwidth'] / 1e9:.2f} GB/s (assumed); "
          f"bandwidth term 2 n / beta = {2 * grad_bytes / c['bandwidth']:.3f} s")

# %% [markdown]
# Every number in this table is **modelled**, from the stated constants. What it shows:
#
# * **Bandwidth decides first**: on 10 Gb/s Ethernet the 400 MB all-reduce (about 0.64 s) takes far
#   longer than the 98 ms of compute, and no schedule lifts the efficiency above 0.16; on 400 Gb/s
#   links overlapped buckets keep it at 0.97 or more up to 512 workers.
# * **Overlap** hides the communication of a bucket behind the backward pass of the layers before it
#   (DDP starts reducing a bucket as soon as all its gradients are ready): on 100 Gb/s links it
#   raises the efficiency at 8 workers from 0.63 to 0.97, because the all-reduce nearly fits under
#   the 66 ms backward pass. On 10 Gb/s there is far too much to hide and it gains almost nothing.
# * **Bucketing** trades latency against overlap. Every message pays $2(N-1)\alpha$: reducing 200
#   tensors one by one costs 200 latencies, fine at 8 workers and ruinous at 1,024 (0.07 on
#   100 Gb/s). Even 16 buckets pay enough latency at 1,024 workers that one single message after the
#   backward pass does better there on 100 Gb/s (0.58 against 0.50): the best bucket size grows with
#   the number of workers. Without overlap, buckets only add latency.
#
# ## 4. Sharded optimizer state: ZeRO stage 1
#
# Chapter 11 predicted that sharding Adam's state over $N$ workers (ZeRO stage 1
# {cite}`rajbhandari2020zero`) leaves each with $4 + 4 + 8/N$ bytes per float32 parameter instead of
# 16, and that PyTorch's `ZeroRedundancyOptimizer` assigns whole tensors, largest first, to the
# least-loaded rank. The job trained the same MLP with Adam and with `ZeroRedundancyOptimizer`
# around Adam (float64, 10 steps on 2 ranks), and measured each rank's optimizer state for a
# float32 MLP of widths 64-256-256-256-10.

# %%
zero = job["zero"]
print(f"ZeRO-1 and plain Adam, {zero['steps']} steps on {job['world_size']} ranks: largest parameter difference below 1e-12: "
      f"{zero['max_parameter_gap'] < 1e-12}")
model32 = dist_job.make_model(zero["memory_widths"], torch.float32)
params = list(model32.parameters())
owned = partition_parameters(params, job["world_size"])
print(f"\nfloat32 MLP {zero['memory_widths']}: {zero['n_parameters']:,} parameters in {zero['n_tensors']} tensors")
print(f"unsharded Adam state on every rank: {zero['unsharded_state_bytes']:,} B, predicted "
      f"{optimizer_state_bytes_predicted(zero['n_parameters'], zero['n_tensors'], 'adam'):,} B")
for rank in range(job["world_size"]):
    mine = [params[i] for i in owned[rank]]
    predicted = optimizer_state_bytes_predicted(sum(p.numel() for p in mine), len(mine), "adam")
    print(f"rank {rank}: owns {zero['per_rank_parameters'][rank]:,} parameters ({zero['per_rank_tensors'][rank]} tensors), "
          f"state measured {zero['per_rank_state_bytes'][rank]:,} B, chapter 11's partition predicts {predicted:,} B: "
          f"{'equal' if predicted == zero['per_rank_state_bytes'][rank] else 'DIFFERENT'}")
busiest = max(zero["per_rank_state_bytes"])
print(f"busiest rank keeps {busiest / zero['unsharded_state_bytes']:.3f} of the unsharded state (ideal 1/{job['world_size']}); "
      f"bytes per parameter for weights, gradients and state: {8 + busiest / zero['n_parameters']:.2f} "
      f"against {bytes_per_parameter('adam', 1):.0f} unsharded and the ideal {bytes_per_parameter('adam', job['world_size']):.0f}")

# %% [markdown]
# ZeRO stage 1 gives the same parameters as plain Adam (below $10^{-12}$ in float64: each rank updates
# its own tensors with the same arithmetic, then broadcasts them), and each rank's optimizer state is
# exactly what chapter 11's partition predicts, byte for byte (two tensors of $m$ and $v$, plus one
# step counter per tensor). With only 8 tensors of unequal size, the busiest rank keeps 0.543 of
# the state rather than half: the partition is of whole tensors, and it approaches $1/N$ only when
# the tensors are many and alike.
#
# ## 5. Asynchronous SGD after Dean et al.: Downpour and Hogwild!
#
# Dean et al. {cite}`dean2012large` train with **Downpour SGD**: model replicas fetch the parameters
# from a parameter server every $n_\text{fetch}$ steps and push their gradients every
# $n_\text{push}$ steps, each on its own schedule, with no barrier. A pushed gradient was computed on
# parameters that the server has since updated: it is **stale** by the number $\tau$ of updates in
# between. Recht et al.'s **Hogwild!** {cite}`recht2011hogwild` goes further on one machine: threads
# update shared parameters without any lock. The review notes that AdaGrad has been "instrumental in
# training large NNs owing to the increased robustness of SGD" {cite}`ranjan2018efficient`; Dean et al.
# used it in Downpour. We first measure staleness under control: SGD and AdaGrad whose gradient at
# step $t$ is evaluated at $\theta_{t-\tau}$, on softmax regression of the digits (float64, batch 16,
# 200 steps, the same mini-batches for every $\tau$), each method's learning rate tuned on a grid at
# each $\tau$ (training loss, the objective here; three seeds).

# %%
show_source(delayed_gradient_descent)

# %%
x_soft, y_soft, dim = softmax_problem()
STALE_STEPS, STALE_BATCH, TAUS = 200, 16, (0, 8, 32)
stale_grids = {"sgd": [0.03, 0.1, 0.3, 1.0, 3.0], "adagrad": [0.01, 0.03, 0.1, 0.3, 1.0]}


def stale_loss(method, lr, tau, seed):
    idx = torch.randint(len(y_soft), (STALE_STEPS, STALE_BATCH), generator=torch.Generator().manual_seed(seed))
    theta = delayed_gradient_descent(lambda th, t: loss_and_grad(th, x_soft[idx[t]], y_soft[idx[t]])[1],
                                     torch.zeros(dim, dtype=torch.float64), STALE_STEPS, lr, tau, method)
    loss = loss_and_grad(theta, x_soft, y_soft)[0] if torch.isfinite(theta).all() else float("inf")
    return loss if np.isfinite(loss) else float("inf")


staleness_table = {}
print(f"{'method':>8} {'tau':>4} {'best lr':>8}   training loss, mean (min-max) of {len(SEEDS)} seeds;   loss at the lr tuned for tau = 0")
for method, grid in stale_grids.items():
    tuned_at_0 = None
    for tau in TAUS:
        losses = {lr: [stale_loss(method, lr, tau, s) for s in SEEDS] for lr in grid}
        best = min(grid, key=lambda lr: np.mean(losses[lr]))
        assert best not in (grid[0], grid[-1]), f"{method}, tau={tau}: best lr on the edge of the grid"
        tuned_at_0 = best if tuned_at_0 is None else tuned_at_0
        staleness_table[method, tau] = (best, losses[best], losses[tuned_at_0])
        b, at0 = losses[best], losses[tuned_at_0]
        print(f"{method:>8} {tau:>4} {best:>8g}   {np.mean(b):.3f} ({min(b):.3f}-{max(b):.3f});   "
              f"lr {tuned_at_0:g}: {np.mean(at0):.3f} ({min(at0):.3f}-{max(at0):.3f})")

# %% [markdown]
# Staleness costs convergence, and the cost grows with $\tau$: for both methods the best learning
# rate falls as $\tau$ grows (SGD from 1 to 0.1, AdaGrad from 0.3 to 0.1) and the best mean loss
# rises (SGD 0.101, 0.112, 0.171 at $\tau$ = 0, 8, 32). Keeping the learning rate tuned for $\tau = 0$ is far worse (SGD at $\tau = 32$:
# 0.616 instead of 0.171): the delay makes large steps unstable, and the stable step shrinks
# as $\tau$ grows. On this problem AdaGrad is **not** the more robust method: its mean is better
# without staleness (0.079 against 0.101, the seeds' ranges overlapping) but at $\tau = 32$ every
# AdaGrad seed is worse than every SGD seed (0.231-0.238 against 0.160-0.176). So we could not show the robustness the review attributes to AdaGrad in this controlled
# setting, a small, dense, convex problem with a controlled delay. Dean et al. used AdaGrad in
# Downpour with many model replicas of large deep networks, a different regime; our guess (not
# tested here) is that a per-parameter step size pays off where gradient magnitudes differ widely
# between parameters, which standardized pixels do not give.
#
# Now the real thing: `effdnn_lib.async_sgd` runs a parameter server in shared memory and two
# worker processes (`torch.multiprocessing`, forked from a script that the notebook launches). We
# chose shared memory over `torch.distributed.rpc` because it needs no rendezvous, no network and no
# RPC thread pools: on 2 cores it starts in a fraction of a second and cannot deadlock on a port.
# Each Downpour worker fetches every 5 steps and pushes every step; the server counts each push's
# staleness. Which worker runs when is up to the operating system, so the raw numbers change from
# run to run; we print them as such, and below them verdicts that hold for every run.

# %%
show_source(sys.modules["effdnn_lib.async_sgd"]._worker)

# %% output_varies="timings" tags=["nbval-ignore-output"]
import subprocess

start = time.perf_counter()
subprocess.run([sys.executable, "-m", "effdnn_lib.async_sgd", "--out", os.path.join(workdir, "async.json"), "--steps", "500"],
               check=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
with open(os.path.join(workdir, "async.json")) as f:
    runs = json.load(f)
for name in ("downpour_adagrad", "downpour_sgd", "hogwild", "sequential_sgd"):
    r = runs[name]
    common = Counter(r["staleness"]).most_common(6)
    print(f"{name:>17}: loss {r['loss']:.4f}, {r['updates']} updates in {r['seconds']:.2f} s; staleness (value: count) {common}")
print(f"the async runs took {time.perf_counter() - start:.1f} s")

# %%
print(f"initial loss {runs['initial_loss']:.3f}")
for name in ("downpour_adagrad", "downpour_sgd", "hogwild", "sequential_sgd"):
    r = runs[name]
    print(f"{name:>17}: {r['workers']} worker(s) x {r['steps']} steps, training loss below 0.1: {r['loss'] < 0.1}")
for name in ("downpour_adagrad", "downpour_sgd"):
    r = runs[name]
    print(f"{name:>17}: fetch every {r['n_fetch']} steps, push every {r['n_push']}; every push applied and counted: "
          f"{r['updates'] == sum(r['pushes']) == len(r['staleness']) == 2 * r['steps']}; "
          f"staleness at least 0 and at least {r['n_fetch'] - 1} somewhere (its own fetch period): "
          f"{min(r['staleness']) == 0 and max(r['staleness']) >= r['n_fetch'] - 1}")

# %% [markdown]
# All four runs converge: on this small convex problem, two workers reading parameters up to several
# updates old (Downpour), or writing over each other without a lock (Hogwild!), reach a training
# loss below 0.1, like a single sequential worker doing the same total number of steps. The tests
# check the staleness counter exactly on one worker (it must count $0, 1, \dots, n_\text{fetch}-1$ in
# turn). What staleness costs, and how the learning rate must shrink as it grows, is what the
# controlled simulation above measured; the real runs show only that the mechanism works.
#
# ## Explore: the cost model
#
# Choose the model size, the link bandwidth, the batch per worker and the number of workers; the
# left panel shows the predicted efficiency against the number of workers, the right the throughput
# against perfect scaling, with the all-reduce overlapped with the backward pass (in 25 MiB buckets) or
# after it, and the title the efficiency at the chosen number of workers. All constants besides the
# controls are the stated assumptions above (5 us latency, 50 TFLOP/s per worker). On the website
# the controls switch between views precomputed for three model sizes, three bandwidths and two
# batches at 64 workers (every other number of workers is on the curves); run the notebook for
# sliders over all of them. Things to try:
#
# * From the default (100M parameters, 100 Gb/s, batch 8192), go to 10 Gb/s: both curves collapse
#   from 2 workers on, and overlap gains almost nothing, as in the table above. At 400 Gb/s the
#   overlapped curve stays near 1 up to about 256 workers.
# * Batch 1024 at 100 Gb/s: the compute per step shrinks eightfold while the all-reduce does not,
#   and at 64 workers the efficiency falls to about that of the 10 Gb/s case.
# * Model size 25M, then 1000M: the curve without overlap hardly moves (compute and gradient bytes
#   both grow in proportion to the model), but the overlapped one rises, because a larger model
#   has more buckets and all but the last of them hide behind the backward pass.

# %% output_varies="widget" tags=["nbval-ignore-output"]
scaling_explorer()

# %% [markdown]
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** How long does a ring all-reduce of 1 GB take on 64 workers with a latency of
# 10 us and a bandwidth of 10 GB/s (in seconds)?

# %%
your_answer = None  # replace with your number of seconds
check.ring_allreduce_seconds(your_answer, nbytes=1e9, workers=64, alpha=10e-6, bandwidth=10e9)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# 2 (N - 1) latencies and 2 (N - 1) / N of the bytes through the link.
solution = 2 * 63 * 10e-6 + 2 * 63 / 64 * 1e9 / 10e9
check.ring_allreduce_seconds(solution, nbytes=1e9, workers=64, alpha=10e-6, bandwidth=10e9)

# %% [markdown]
# **Exercise 2.** A learning rate of 0.1 works at batch 256. Following the linear scaling rule, what
# learning rate goes with 32 workers of batch 256 each?

# %%
your_answer = None
check.linear_scaling_lr(your_answer, base_lr=0.1, base_batch=256, batch=32 * 256)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The batch is 32 times larger, so is the learning rate.
solution = 0.1 * 32 * 256 / 256
check.linear_scaling_lr(solution, base_lr=0.1, base_batch=256, batch=32 * 256)

# %% [markdown]
# **Exercise 3.** With `ZeroRedundancyOptimizer` around Adam on 4 ranks, how many bytes of
# optimizer state does the busiest rank keep for four float32 tensors of 1,000, 1,000, 1,000 and
# 3,000 numbers? (Count $m$, $v$ and one 4-byte step counter per tensor; the partition is chapter
# 11's: largest first, to the least-loaded rank.)

# %%
your_answer = None
check.zero1_busiest_rank_bytes(your_answer, sizes=[1000, 1000, 1000, 3000], shards=4)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# The 3,000-number tensor goes to a rank of its own; the three others take one each.
solution = (2 * 3000 + 1) * 4
check.zero1_busiest_rank_bytes(solution, sizes=[1000, 1000, 1000, 3000], shards=4)

# %% [markdown]
# **Exercise 4 (open).** Run the Downpour workers of `effdnn_lib.async_sgd.train_async` with
# `n_fetch=50`. How does the staleness histogram change, and what learning rate still converges?
#
# ## Summary
#
# * `torchrun` starts one process per rank; DDP all-reduces the gradients, so $N$ ranks with batch $B$
#   compute exactly what one process with batch $NB$ does (below $10^{-12}$ in float64).
# * The linear scaling rule kept the validation loss up to a batch of 128 here and broke when a fixed
#   budget of epochs left too few steps; warm-up did not change that on this small problem.
# * The ring all-reduce costs $2(N-1)\alpha + 2\frac{N-1}{N} n/\beta$: bandwidth decides whether
#   data parallelism scales, overlap hides the all-reduce behind the backward pass, and bucketing
#   keeps the latency term small at large $N$. The measured figures are for one machine; the
#   scaling table is a model with stated constants.
# * ZeRO stage 1 gives the same parameters as the unsharded optimizer and divides the optimizer
#   state among the ranks, tensor by tensor, as chapter 11 predicts.
# * Asynchronous SGD (Downpour, Hogwild!) removes the barrier and pays with stale gradients: real
#   workers converge on a small problem, and in a controlled simulation staleness forces a smaller
#   learning rate and a worse loss. AdaGrad was not more robust to staleness in that simulation.
#
# ## References
#
# {cite}`dean2012large` (Downpour SGD, the parameter server), {cite}`ranjan2018efficient` (section
# I-A), {cite}`goyal2017accurate` (linear scaling and warm-up), {cite}`recht2011hogwild` (Hogwild!),
# {cite}`duchi2011adaptive` (AdaGrad), {cite}`rajbhandari2020zero` (ZeRO), {cite}`patarasuk2009bandwidth`
# (ring all-reduce), {cite}`li2020pytorch` (PyTorch DDP, gradient bucketing and overlap).
