"""Time one optimizer step of each effdnn_lib.optim class against its torch.optim namesake.

    python benchmarks/optim_step.py [--steps 300] [--threads 1] [--device cpu|cuda|all]

The optimizers are discovered from ``effdnn_lib.optim.__all__``: every exported class whose name
also exists in ``torch.optim`` is timed (so optimizers added later are picked up). Each runs on its
own copy of an MLP with about 1M parameters (widths 784-1024-256-10, float32) whose gradients are
fixed random tensors, so only ``optimizer.step()`` is timed. Both sides use their *default*
implementation choice (``foreach=None``): on a CPU that is torch.optim's per-tensor loop, on a GPU
its multi-tensor ``_foreach`` path. Steps of the two alternate one by one, so a busy machine slows
both alike, and each step is timed on its own; the median is reported. On the CPU the clock is the
process's CPU time by default (``--clock cpu``), which a machine shared with other jobs inflates
far less than wall-clock time; on a GPU it is wall-clock time after a device synchronisation.
The goal: ours / torch <= 1.2.

The table goes to stdout; the last line is JSON: {"device": ..., "results": [...], "goal_met": ...}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from effdnn_lib import optim as ours  # noqa: E402
from effdnn_lib.device import describe, get_device, synchronize  # noqa: E402
from effdnn_lib.memory import make_mlp  # noqa: E402

WIDTHS = [784, 1024, 256, 10]
GOAL_RATIO = 1.2

#: Hyperparameters to time per optimizer (each must exercise the optimizer's main code paths);
#: an optimizer not listed here is timed with its defaults.
CONFIGS: dict[str, list[dict]] = {
    "SGD": [{"lr": 0.01}, {"lr": 0.01, "momentum": 0.9}, {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}],
    "Adagrad": [{}, {"lr_decay": 1e-3, "weight_decay": 1e-4}],
    "RMSprop": [{}, {"momentum": 0.9, "centered": True}],
    "Adadelta": [{}, {"weight_decay": 1e-4}],
    "Adam": [{}, {"amsgrad": True}],
    "AdamW": [{}],
    "Adamax": [{}],
}


def optimizers_to_time() -> list[str]:
    """Names exported by effdnn_lib.optim that have a torch.optim namesake, in export order."""
    return [name for name in ours.__all__ if hasattr(torch.optim, name) and isinstance(getattr(ours, name), type)]


def model_with_gradients(device: torch.device) -> torch.nn.Module:
    torch.manual_seed(0)
    model = make_mlp(WIDTHS).to(device)
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    return model


def time_steps(optimizer, n: int, device: torch.device, clock=time.perf_counter) -> list[float]:
    times = []
    for _ in range(n):
        synchronize(device)
        t0 = clock()
        optimizer.step()
        synchronize(device)
        times.append(clock() - t0)
    return times


def compare(name: str, config: dict, device: torch.device, steps: int, block: int = 1, warmup: int = 10, clock=time.perf_counter) -> dict:
    """Median step time of ours and torch.optim's ``name`` with ``config``, interleaved in blocks of steps."""
    opt_ours = getattr(ours, name)(model_with_gradients(device).parameters(), **config)
    opt_torch = getattr(torch.optim, name)(model_with_gradients(device).parameters(), **config)
    time_steps(opt_ours, warmup, device)
    time_steps(opt_torch, warmup, device)
    times = {"ours": [], "torch": []}
    for i in range(max(1, steps // block)):
        order = (("ours", opt_ours), ("torch", opt_torch)) if i % 2 == 0 else (("torch", opt_torch), ("ours", opt_ours))
        for key, opt in order:
            times[key] += time_steps(opt, block, device, clock)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "optimizer": name,
        "config": config,
        "device": device.type,
        "torch_us": round(med["torch"] * 1e6, 1),
        "ours_us": round(med["ours"] * 1e6, 1),
        "ratio": round(med["ours"] / med["torch"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per optimizer and side (default 300)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1: steadier on a shared machine)")
    parser.add_argument(
        "--clock", choices=("auto", "cpu", "wall"), default="auto",
        help="'auto' (default): process CPU time on the CPU, wall-clock time on a GPU",
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda", "all"), default="all",
        help="'all' (default): the CPU, and CUDA too when effdnn_lib.device.get_device() gives a GPU",
    )
    args = parser.parse_args(argv)
    if args.steps < 10 or args.threads < 1:
        parser.error("--steps must be >= 10 and --threads >= 1")
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")]
    if args.device == "cuda":
        devices = [torch.device("cuda")]
    elif args.device == "all" and get_device().type == "cuda":
        devices.append(get_device())
    tensors = list(make_mlp(WIDTHS).parameters())
    n_params = sum(p.numel() for p in tensors)
    print(f"MLP {WIDTHS}: {n_params:,} parameters in {len(tensors)} tensors, float32; {args.steps} timed steps per side; "
          f"torch {torch.__version__}, {args.threads} CPU thread(s)")
    results = []
    for device in devices:
        use_cpu_clock = args.clock == "cpu" or (args.clock == "auto" and device.type == "cpu")
        clock = time.process_time if use_cpu_clock else time.perf_counter
        print(f"\n{describe(device)}, {'process CPU time' if use_cpu_clock else 'wall-clock time'} per step (median)")
        print(f"{'optimizer':<9} {'hyperparameters':<60} {'torch.optim':>12} {'effdnn_lib':>12} {'ratio':>6}")
        for name in optimizers_to_time():
            for config in CONFIGS.get(name, [{}]):
                r = compare(name, config, device, args.steps, clock=clock)
                r["clock"] = "cpu" if use_cpu_clock else "wall"
                results.append(r)
                flag = "" if r["ratio"] <= GOAL_RATIO else f"  > {GOAL_RATIO}x"
                cfg = ", ".join(f"{k}={v}" for k, v in config.items()) or "defaults"
                print(f"{name:<9} {cfg:<60} {r['torch_us']:>9.1f} us {r['ours_us']:>9.1f} us {r['ratio']:>6.3f}{flag}", flush=True)
    goal_met = all(r["ratio"] <= GOAL_RATIO for r in results)
    print(f"\nall ratios <= {GOAL_RATIO}: {goal_met}")
    print(json.dumps({"devices": [describe(d) for d in devices], "threads": args.threads, "results": results, "goal_met": goal_met}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
