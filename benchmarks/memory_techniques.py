"""Predicted against measured memory and step time for each of chapter 11's techniques.

    python benchmarks/memory_techniques.py [--batch 1024] [--repeats 15] [--threads 1]

Model: the chapter's deep MLP (widths 64, 16 hidden layers of 64, 10), float32, on a random batch.
For each technique (plain, gradient accumulation k = 2, 4, 8, checkpointing s = 2, 4, 8, bfloat16
autocast) the script prints

* memory held after the forward pass: predicted (chapter 0's count, ``effdnn_lib.memory_saving``)
  and measured (``MemoryTracker``); the prediction is exact;
* the peak of the step: the predicted upper bound (``mlp_checkpoint_memory``) and measured;
* the step time: predicted as the plain step's measured median times the FLOP ratio (accumulation:
  1, the same FLOPs in smaller products; checkpointing: the ratio ``FlopCounterMode`` counts), and
  measured (median of ``--repeats``, all configurations timed in turn so that a busy machine slows
  them alike).

Goal: measured within 10% of predicted where the prediction is exact (the held memory), and the
printed ratios for the rest. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from effdnn_lib.hardware import time_interleaved  # noqa: E402
from effdnn_lib.memory import make_mlp  # noqa: E402
from effdnn_lib.memory_saving import (  # noqa: E402
    accumulate_gradients,
    checkpointed_forward,
    measure_step_memory,
    mlp_accumulation_memory,
    mlp_checkpoint_memory,
)

WIDTHS = [64] + [64] * 16 + [10]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.batch < 8 or args.repeats < 3 or args.threads < 1:
        parser.error("--batch >= 8, --repeats >= 3, --threads >= 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = make_mlp(WIDTHS)
    x, y = torch.randn(args.batch, WIDTHS[0]), torch.randint(0, WIDTHS[-1], (args.batch,))
    loss_fn = nn.functional.cross_entropy

    configs = {"plain": {}}
    configs |= {f"accumulate k={k}": {"k": k} for k in (2, 4, 8)}
    configs |= {f"checkpoint s={s}": {"segments": s} for s in (2, 4, 8)}
    configs["bfloat16 autocast"] = {"autocast": torch.bfloat16}

    def step(cfg):
        def run():
            k, s, dt = cfg.get("k", 1), cfg.get("segments"), cfg.get("autocast")
            model.zero_grad(set_to_none=True)
            for xb, yb in zip(x.chunk(k), y.chunk(k)):
                with torch.autocast("cpu", dtype=dt or torch.bfloat16, enabled=dt is not None):
                    out = model(xb) if s is None else checkpointed_forward(model, xb, s)
                    loss = loss_fn(out, yb) / k
                loss.backward()
        return run

    def flops(cfg):
        with FlopCounterMode(display=False) as counter:
            step(cfg)()
        return counter.get_total_flops()

    times = time_interleaved({name: step(cfg) for name, cfg in configs.items()}, args.repeats)
    base_flops = flops({})
    rows = []
    print(f"deep MLP {WIDTHS[0]}-{len(WIDTHS) - 2}x{WIDTHS[1]}-{WIDTHS[-1]}, batch {args.batch}, float32, "
          f"torch {torch.__version__}, {args.threads} thread(s); times: median of {args.repeats}, interleaved")
    print(f"{'technique':<18} {'held pred':>10} {'held meas':>10} {'meas/pred':>9} {'peak bound':>11} {'peak meas':>10} "
          f"{'FLOPs x':>8} {'time pred ms':>12} {'time meas ms':>12} {'meas/pred':>9}")
    for name, cfg in configs.items():
        k, s, dt = cfg.get("k", 1), cfg.get("segments"), cfg.get("autocast")
        measured = measure_step_memory(model, x, y, accumulation_steps=k, segments=s, autocast_dtype=dt)
        if dt is not None:
            held_pred, peak_pred = None, None  # autocast's copies: measured only (see the chapter)
        elif s is not None:
            p = mlp_checkpoint_memory(WIDTHS, args.batch, s)
            held_pred, peak_pred = p.held_after_forward, p.peak
        else:
            held_pred = mlp_accumulation_memory(WIDTHS, args.batch, k)
            peak_pred = mlp_checkpoint_memory(WIDTHS, args.batch // k, None).peak
        flop_ratio = flops(cfg) / base_flops
        time_pred = times["plain"] * flop_ratio if dt is None else None
        r = {
            "technique": name, "held_predicted": held_pred, "held_measured": measured.held_after_forward,
            "peak_bound": peak_pred, "peak_measured": measured.peak, "flop_ratio": round(flop_ratio, 3),
            "time_predicted_ms": None if time_pred is None else round(time_pred * 1e3, 2),
            "time_measured_ms": round(times[name] * 1e3, 2),
        }
        rows.append(r)
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"  # noqa: E731
        held_ratio = fmt(None if held_pred is None else measured.held_after_forward / held_pred, "9.3f")
        time_ratio = fmt(None if time_pred is None else times[name] / time_pred, "9.2f")
        print(f"{name:<18} {fmt(held_pred, '10,')} {measured.held_after_forward:>10,} {held_ratio:>9} {fmt(peak_pred, '11,'):>11} "
              f"{measured.peak:>10,} {flop_ratio:>8.3f} {fmt(None if time_pred is None else time_pred * 1e3, '12.2f'):>12} "
              f"{times[name] * 1e3:>12.2f} {time_ratio:>9}")
    exact = [r for r in rows if r["held_predicted"] is not None]
    goal = all(abs(r["held_measured"] / r["held_predicted"] - 1) <= 0.10 for r in exact)
    print(f"\nheld memory within 10% of the prediction wherever it is predicted: {goal} "
          f"(exact to the byte: {all(r['held_measured'] == r['held_predicted'] for r in exact)})")
    print(json.dumps({"threads": args.threads, "batch": args.batch, "results": rows, "goal_met": goal}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
