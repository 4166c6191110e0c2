"""Scaling out (chapter 12): launching ``torchrun`` jobs, the all-reduce cost model, and staleness.

* :func:`run_torchrun` starts ``python -m torch.distributed.run --standalone --nproc_per_node=N``
  as a subprocess (``torch.multiprocessing.spawn`` fails inside Jupyter), streams its output, and
  raises a clear error when a rank fails or the job runs past its timeout.
* The **alpha-beta model** of a message: ``T(n) = alpha + n / bandwidth`` (Hockney 1994), fitted to
  measurements by least squares (:func:`fit_alpha_beta`), and the **ring all-reduce** of ``n`` bytes
  over ``N`` workers (Patarasuk & Yuan 2009): ``2 (N - 1)`` messages of ``n / N`` bytes each,

  ``T_ring(n, N) = 2 (N - 1) alpha + 2 (N - 1) / N * n / bandwidth``  (:func:`ring_allreduce_time`).
* :func:`data_parallel_step` predicts one synchronous data-parallel step from the compute time, the
  model's bytes, the number of buckets and whether communication overlaps the backward pass.
* :func:`delayed_gradient_descent`: SGD or AdaGrad whose gradient at step ``t`` is evaluated at the
  parameters of step ``t - tau`` (a controlled, deterministic model of an asynchronous worker's
  staleness).
"""

from __future__ import annotations

import math
import os
import selectors
import subprocess
import sys
import time
from collections import deque
from typing import Callable, Sequence

import numpy as np
import torch

from .checks import check_int, check_number


# ---- launching torchrun ------------------------------------------------------------------------


class DistributedJobError(RuntimeError):
    """A ``torchrun`` job failed: a rank exited with an error, or the job ran past its timeout."""


def torchrun_command(module: str, args: Sequence[str] = (), nproc: int = 2) -> list[str]:
    """The command line: ``python -m torch.distributed.run --standalone --nproc_per_node=N -m module args``."""
    check_int("nproc", nproc, 1, 64)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", module, *map(str, args)]


def run_torchrun(module: str, args: Sequence[str] = (), nproc: int = 2, timeout: float = 120.0,
                 echo: bool = True) -> list[str]:
    """Run ``module`` on ``nproc`` ranks with ``torchrun``; stream its output; return its lines.

    Each rank gets one thread (``OMP_NUM_THREADS=1``) and gloo talks over the loopback interface
    (``GLOO_SOCKET_IFNAME=lo``). A rank that fails makes ``torchrun`` stop the others and exit non-zero:
    that raises :class:`DistributedJobError` with the exit code and torchrun's own lines about the
    failed rank. A job still running after ``timeout`` seconds is killed (no hang) and raises too."""
    timeout = check_number("timeout", timeout, low=0, low_open=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo", MASTER_ADDR="127.0.0.1",
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(torchrun_command(module, args, nproc), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.killpg(proc.pid, 9)
                proc.wait()
                raise DistributedJobError(f"torchrun job {module!r} ran past its timeout of {timeout:g} s and was killed")
            if sel.select(timeout=min(left, 1.0)):
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line.rstrip("\n"))
                if echo:
                    print(line, end="", flush=True)
        rc = proc.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        sel.close()
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    if rc != 0:
        about = [ln.strip() for ln in lines if any(k in ln for k in ("rank", "exitcode", "Error", "error"))]
        raise DistributedJobError(f"torchrun job {module!r} failed with exit code {rc}; torchrun says:\n  "
                                  + "\n  ".join(about[-8:] or lines[-8:]))
    return lines


# ---- the alpha-beta model and the ring all-reduce ------------------------------------------------


def fit_alpha_beta(nbytes: Sequence[float], seconds: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of ``T(n) = alpha + n / bandwidth``, weighting each point by ``1 / T``
    (relative errors, so small messages count as much as large ones). Returns ``(alpha_s, bandwidth_B_per_s)``."""
    n = np.asarray(nbytes, dtype=float)
    t = np.asarray(seconds, dtype=float)
    if n.shape != t.shape or n.ndim != 1 or len(n) < 2:
        raise ValueError("nbytes and seconds must be 1-d sequences of the same length, at least 2")
    if np.any(t <= 0) or np.any(n <= 0):
        raise ValueError("nbytes and seconds must be positive")
    a = np.stack([np.ones_like(n), n], axis=1) / t[:, None]
    alpha, beta = np.linalg.lstsq(a, np.ones_like(t), rcond=None)[0]
    if beta <= 0:
        raise ValueError("the fitted time per byte is not positive: measure larger messages")
    return float(max(alpha, 0.0)), float(1.0 / beta)


def ring_allreduce_time(nbytes: float, workers: int, alpha: float, bandwidth: float) -> float:
    """Seconds for a ring all-reduce of ``nbytes`` over ``workers``: a reduce-scatter and an all-gather,
    each ``N - 1`` steps sending ``nbytes / N``: ``2 (N - 1) alpha + 2 (N - 1) / N * nbytes / bandwidth``."""
    nbytes = check_number("nbytes", nbytes, low=0)
    n = check_int("workers", workers, 1)
    alpha = check_number("alpha", alpha, low=0)
    bandwidth = check_number("bandwidth", bandwidth, low=0, low_open=True)
    return 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / bandwidth


def data_parallel_step(compute_s: float, nbytes: float, workers: int, alpha: float, bandwidth: float,
                       buckets: int = 1, overlap: bool = False, backward_fraction: float = 2 / 3) -> dict:
    """One synchronous data-parallel step: compute, then the gradients' all-reduce in ``buckets`` pieces.

    Without ``overlap`` the step takes ``compute + comm``. With it, the buckets are reduced while the
    backward pass (``backward_fraction`` of the compute) still runs, so only the part of ``comm`` that
    does not fit under it is exposed: ``compute + max(comm - backward, comm / buckets)`` (the last bucket
    can only start when the backward pass ends). Returns the times and ``efficiency = compute / step``."""
    compute_s = check_number("compute_s", compute_s, low=0, low_open=True)
    buckets = check_int("buckets", buckets, 1)
    backward_fraction = check_number("backward_fraction", backward_fraction, low=0, high=1)
    if not isinstance(overlap, bool):
        raise TypeError(f"overlap must be True or False; got {overlap!r}")
    if workers == 1:
        comm = 0.0
    else:
        comm = buckets * ring_allreduce_time(nbytes / buckets, workers, alpha, bandwidth)
    backward = backward_fraction * compute_s
    exposed = max(comm - backward, comm / buckets) if overlap else comm
    step = compute_s + exposed
    return {"compute_s": compute_s, "comm_s": comm, "exposed_s": exposed, "step_s": step,
            "efficiency": compute_s / step}


# ---- staleness: a controlled simulation -----------------------------------------------------------


def delayed_gradient_descent(grad: Callable[[torch.Tensor, int], torch.Tensor], theta0: torch.Tensor,
                             steps: int, lr: float, tau: int, method: str = "sgd",
                             eps: float = 1e-10) -> torch.Tensor:
    """``steps`` updates whose gradient is evaluated at parameters ``tau`` updates old:

    ``g_t = grad(theta_{t - tau}, t)`` (``theta_0`` while ``t < tau``), then
    SGD: ``theta_{t+1} = theta_t - lr g_t``; AdaGrad (Duchi et al. 2011):
    ``G_t = G_{t-1} + g_t^2``, ``theta_{t+1} = theta_t - lr g_t / (sqrt(G_t) + eps)``.

    ``grad(theta, t)`` returns the (stochastic) gradient of step ``t``; ``tau = 0`` is ordinary
    sequential training. This is what a parameter server sees when each pushed gradient was computed
    on parameters ``tau`` updates old."""
    steps = check_int("steps", steps, 0)
    tau = check_int("tau", tau, 0)
    lr = check_number("lr", lr, low=0, low_open=True)
    if method not in ("sgd", "adagrad"):
        raise ValueError(f"method must be 'sgd' or 'adagrad'; got {method!r}")
    theta = theta0.clone()
    history: deque[torch.Tensor] = deque([theta.clone()], maxlen=tau + 1)
    accum = torch.zeros_like(theta)
    for t in range(steps):
        g = grad(history[0], t)
        if method == "sgd":
            theta = theta - lr * g
        else:
            accum = accum + g * g
            theta = theta - lr * g / (accum.sqrt() + eps)
        history.append(theta.clone())
        if not torch.isfinite(theta).all():
            break
    return theta


# ---- the cost model as a picture and a widget -------------------------------------------------------

#: Stated assumptions of the simulation (not measured here): per-message latency and bandwidth of
#: three networks, and the rate one accelerator sustains on a model's matrix multiplies.
NETWORKS = {
    "10 Gb/s Ethernet": {"alpha": 25e-6, "bandwidth": 1.25e9},
    "100 Gb/s InfiniBand": {"alpha": 3e-6, "bandwidth": 12.5e9},
    "400 Gb/s InfiniBand": {"alpha": 2e-6, "bandwidth": 50e9},
}
FLOPS_PER_PARAMETER_PER_EXAMPLE = 6  # a multiply-add per weight forward (2), two backward (4)


def predicted_scaling(workers: int, n_parameters: float, bandwidth_gbit: float, batch_per_worker: int,
                      flops: float = 50e12, alpha: float = 5e-6, bucket_bytes: float = 25 * 2**20,
                      overlap: bool = True) -> dict:
    """Throughput (examples per second) and efficiency of synchronous data parallelism with float32
    gradients, ring all-reduce in buckets of ``bucket_bytes``, on ``bandwidth_gbit`` Gb/s links.

    An example costs ``6 * n_parameters`` FLOPs (a dense model; an example is a token of a language
    model), at a sustained ``flops`` per second per worker. Every constant is an assumption."""
    check_int("workers", workers, 1)
    check_int("batch_per_worker", batch_per_worker, 1)
    n_parameters = check_number("n_parameters", n_parameters, low=0, low_open=True)
    bandwidth = check_number("bandwidth_gbit", bandwidth_gbit, low=0, low_open=True) * 1e9 / 8
    nbytes = 4 * n_parameters
    compute = FLOPS_PER_PARAMETER_PER_EXAMPLE * n_parameters * batch_per_worker / flops
    buckets = max(1, math.ceil(nbytes / bucket_bytes))
    step = data_parallel_step(compute, nbytes, workers, alpha, bandwidth, buckets, overlap)
    step["throughput"] = workers * batch_per_worker / step["step_s"]
    return step


def plot_scaling(n_parameters_m: float = 100, bandwidth_gbit: float = 100, batch_per_worker: int = 8192,
                 workers: int = 64):
    """Predicted efficiency and throughput against the number of workers, with and without overlap."""
    import matplotlib.pyplot as plt

    from .plotting import FIGSIZE_WIDE, PALETTE

    ns = [2**k for k in range(0, 11)]
    fig, (ax_e, ax_t) = plt.subplots(1, 2, figsize=FIGSIZE_WIDE)
    for overlap, colour in ((True, PALETTE["blue"]), (False, PALETTE["orange"])):
        rows = [predicted_scaling(n, n_parameters_m * 1e6, bandwidth_gbit, batch_per_worker, overlap=overlap) for n in ns]
        label = "overlapped with backward" if overlap else "after backward"
        ax_e.plot(ns, [r["efficiency"] for r in rows], marker=".", color=colour, label=label)
        ax_t.plot(ns, [r["throughput"] for r in rows], marker=".", color=colour, label=label)
    ideal = predicted_scaling(1, n_parameters_m * 1e6, bandwidth_gbit, batch_per_worker)["throughput"]
    ax_t.plot(ns, [ideal * n for n in ns], color=PALETTE["black"], lw=0.8, ls=":", label="perfect scaling")
    here = predicted_scaling(workers, n_parameters_m * 1e6, bandwidth_gbit, batch_per_worker)
    for ax in (ax_e, ax_t):
        ax.axvline(workers, color=PALETTE["black"], lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("workers N")
    ax_t.set_yscale("log")
    ax_e.set_ylim(0, 1.05)
    ax_e.set_ylabel("efficiency")
    ax_t.set_ylabel("examples per second")
    ax_e.set_title(f"N={workers}: efficiency {here['efficiency']:.2f}")
    ax_t.set_title(f"{n_parameters_m:g}M parameters, {bandwidth_gbit:g} Gb/s, B={batch_per_worker}")
    ax_e.legend(fontsize=8)
    ax_t.legend(fontsize=8)
    return fig


def scaling_explorer():
    """:func:`plot_scaling` as an :func:`~effdnn_lib.widgets.explorer`: model size, link bandwidth and
    batch per worker on a grid (the website's views), every setting of the sliders in a kernel."""
    import ipywidgets as widgets

    from .widgets import Choice, explorer

    def slider(options, value, description):
        return widgets.SelectionSlider(options=options, value=value, description=description, continuous_update=False)

    def draw(n_parameters_m, bandwidth_gbit, batch_per_worker, workers):
        return plot_scaling(n_parameters_m, bandwidth_gbit, batch_per_worker, workers)

    return explorer(
        draw,
        alt=("Predicted efficiency (left) and throughput (right) of data parallelism against the number of workers, "
             "all-reduce overlapped with the backward pass or after it, for {n_parameters_m}M parameters, "
             "{bandwidth_gbit} Gb/s links and a batch of {batch_per_worker} per worker; the marker is at {workers} workers."),
        n_parameters_m=Choice([25, 100, 1000], 100, "params (M)", live=slider([1, 5, 25, 100, 350, 1000], 100, "params (M)")),
        bandwidth_gbit=Choice([10, 100, 400], 100, "Gb/s", live=slider([1, 10, 25, 100, 400, 1600], 100, "Gb/s")),
        batch_per_worker=Choice([1024, 8192], 8192, "batch/worker",
                                live=slider([256, 1024, 4096, 8192, 16384, 65536], 8192, "batch/worker")),
        workers=Choice([64], 64, "workers", live=slider([2**k for k in range(0, 11)], 64, "workers")),
    )