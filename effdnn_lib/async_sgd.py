"""Asynchronous SGD after Dean et al. (2012) and Recht et al. (2011), with real processes.

A **parameter server** is a block of shared memory (``theta``, AdaGrad's accumulator, a version
counter) that worker processes reach without messages: ``torch.multiprocessing`` with tensors in
shared memory. We chose it over ``torch.distributed.rpc`` because it needs no network set-up, no
thread pools per process and no rendezvous, so it starts in a fraction of a second and runs
robustly on two cores; the algorithm is the same.

* **Downpour SGD**: each worker fetches the parameters every ``n_fetch`` steps, computes gradients
  on its own mini-batches with its (possibly stale) copy, and pushes the sum every ``n_push`` steps;
  the server applies each push (SGD or AdaGrad, under a lock) and counts its **staleness**: how many
  updates the server applied since the pushing worker fetched.
* **Hogwild!**: no lock and no copy: each worker reads the shared parameters, computes a gradient
  and writes its update straight into shared memory, racing the others.

Run as ``python -m effdnn_lib.async_sgd --out result.json`` (processes are forked, which works in a
script but not reliably in a Jupyter kernel; the notebook launches this as a subprocess).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.multiprocessing as mp


def softmax_problem():
    """Multinomial logistic regression on the digits' training split, float64: ``(x, y, dim)``."""
    from effdnn_lib.data.digits import load_digits

    train = load_digits(seed=0)["train"]
    x = torch.cat([train.x.double(), torch.ones(len(train.y), 1, dtype=torch.float64)], dim=1)
    return x, train.y, x.shape[1] * 10


def loss_and_grad(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
    w = theta.view(x.shape[1], 10)
    logits = x @ w
    p = torch.softmax(logits, dim=1)
    loss = -torch.log_softmax(logits, dim=1)[torch.arange(len(y)), y].mean()
    p[torch.arange(len(y)), y] -= 1
    return loss.item(), (x.T @ p / len(y)).flatten()


def _worker(rank, mode, theta, accum, version, lock, steps, batch, lr, n_fetch, n_push, method, seed,
            staleness, pushes):
    torch.set_num_threads(1)
    x, y, _ = softmax_problem()
    g = torch.Generator().manual_seed(seed + 1000 * rank)
    local = theta.clone()
    fetched_at = version.value
    pending = torch.zeros_like(theta)
    count = 0
    for t in range(steps):
        idx = torch.randint(len(y), (batch,), generator=g)
        if mode == "hogwild":
            _, grad = loss_and_grad(theta.clone(), x[idx], y[idx])  # read without a lock
            theta.sub_(lr * grad)  # write without a lock
            continue
        if t % n_fetch == 0:
            with lock:
                local.copy_(theta)
                fetched_at = version.value
        _, grad = loss_and_grad(local, x[idx], y[idx])
        pending += grad
        if (t + 1) % n_push == 0:
            with lock:
                staleness[rank, count] = version.value - fetched_at
                if method == "adagrad":
                    accum.add_(pending * pending)
                    theta.sub_(lr * pending / (accum.sqrt() + 1e-10))
                else:
                    theta.sub_(lr * pending)
                version.value += 1
            pending.zero_()
            count += 1
    pushes[rank] = count


def train_async(mode: str = "downpour", workers: int = 2, steps: int = 300, batch: int = 16, lr: float = 0.1,
                n_fetch: int = 1, n_push: int = 1, method: str = "adagrad", seed: int = 0) -> dict:
    """Train the softmax regression with ``workers`` forked processes. Returns the final training
    loss, the server's number of updates, and each push's staleness (Downpour)."""
    if mode not in ("downpour", "hogwild"):
        raise ValueError(f"mode must be 'downpour' or 'hogwild'; got {mode!r}")
    if method not in ("sgd", "adagrad"):
        raise ValueError(f"method must be 'sgd' or 'adagrad'; got {method!r}")
    for name, v in (("workers", workers), ("steps", steps), ("batch", batch), ("n_fetch", n_fetch), ("n_push", n_push)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
    torch.set_num_threads(1)
    ctx = mp.get_context("fork")
    x, y, dim = softmax_problem()
    theta = torch.zeros(dim, dtype=torch.float64).share_memory_()
    accum = torch.zeros(dim, dtype=torch.float64).share_memory_()
    staleness = torch.full((workers, steps // n_push), -1, dtype=torch.int64).share_memory_()
    pushes = torch.zeros(workers, dtype=torch.int64).share_memory_()
    version = ctx.Value("l", 0, lock=False)
    lock = ctx.Lock()
    start = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(r, mode, theta, accum, version, lock, steps, batch, lr, n_fetch,
                                               n_push, method, seed, staleness, pushes)) for r in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        if p.exitcode != 0:
            for q in procs:
                q.kill()
            raise RuntimeError(f"an async worker failed (exit code {p.exitcode})")
    seconds = time.perf_counter() - start
    loss, _ = loss_and_grad(theta, x, y)
    stale = [int(s) for row in staleness for s in row if s >= 0]
    return {"mode": mode, "method": method, "workers": workers, "steps": steps, "lr": lr, "n_fetch": n_fetch,
            "n_push": n_push, "loss": loss, "updates": int(version.value) if mode == "downpour" else workers * steps,
            "pushes": pushes.tolist(), "staleness": stale, "seconds": seconds}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Downpour and Hogwild runs of chapter 12")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args(argv)
    runs = {
        "downpour_adagrad": train_async("downpour", 2, args.steps, lr=0.1, n_fetch=5, n_push=1, method="adagrad"),
        "downpour_sgd": train_async("downpour", 2, args.steps, lr=0.1, n_fetch=5, n_push=1, method="sgd"),
        "hogwild": train_async("hogwild", 2, args.steps, lr=0.1),
        "sequential_sgd": train_async("downpour", 1, 2 * args.steps, lr=0.1, method="sgd"),
    }
    x, y, dim = softmax_problem()
    runs["initial_loss"] = loss_and_grad(torch.zeros(dim, dtype=torch.float64), x, y)[0]
    with open(args.out, "w") as f:
        json.dump(runs, f)


if __name__ == "__main__":
    main()
