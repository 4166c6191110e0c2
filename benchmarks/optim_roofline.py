"""The Adam step on the memory-bandwidth roofline: four implementations against the bound.

    python benchmarks/optim_roofline.py [--sizes 1000000 50000000] [--steps 20] [--threads 1] [--no-compile]

A float32 Adam step must read the parameter, its gradient, m and v and write the parameter, m and v:
28 bytes per parameter (``effdnn_lib.hardware.ADAM_BYTES_PER_PARAMETER``). At the machine's memory
bandwidth ``W`` no step
can take less than ``28 P / W`` seconds. Timed, on one flat parameter tensor of ``P`` numbers whose
gradient is fixed (so only ``optimizer.step()`` runs), interleaved step by step, median of ``--steps``:

* ``course loop``: ``effdnn_lib.optim.Adam(foreach=False)``, the readable per-tensor update;
* ``course foreach``: ``effdnn_lib.optim.Adam(foreach=True)``, the ``torch._foreach_*`` path;
* ``torch fused``: ``torch.optim.Adam(fused=True)``;
* ``course fused``: ``effdnn_lib.optim.Adam(fused=True)``, the course's update compiled by ``torch.compile``;

and, in the same rotation, a triad ``a = b + 2 c`` on vectors of the same ``P`` (12 bytes per element),
which gives the bandwidth ``W`` of that moment (the machine may be shared).

Goals: the course's fused step at least as fast as torch's fused step, and within 1.5x of the bound
at the largest size. The table goes to stdout; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from effdnn_lib import optim as ours  # noqa: E402
from effdnn_lib.hardware import ADAM_BYTES_PER_PARAMETER, time_interleaved, triad  # noqa: E402

BOUND_GOAL = 1.5


def make_optimizers(n: int, compile_ok: bool) -> dict[str, torch.optim.Optimizer]:
    def param():
        p = torch.nn.Parameter(torch.randn(n, generator=torch.Generator().manual_seed(0)))
        p.grad = torch.randn(n, generator=torch.Generator().manual_seed(1)) * 1e-3
        return [p]

    opts = {
        "course loop": ours.Adam(param(), foreach=False),
        "course foreach": ours.Adam(param(), foreach=True),
        "torch fused": torch.optim.Adam(param(), fused=True),
    }
    if compile_ok:
        opts["course fused"] = ours.Adam(param(), fused=True)
    return opts


def check_fused_matches_torch() -> bool:
    """The course's fused step equals torch.optim.Adam to float32 rounding after 5 steps."""
    results = []
    for make in (lambda ps: torch.optim.Adam(ps), lambda ps: ours.Adam(ps, fused=True)):
        g = torch.Generator().manual_seed(0)
        p = torch.nn.Parameter(torch.randn(10_000, generator=g))
        opt = make([p])
        for _ in range(5):
            p.grad = torch.randn(10_000, generator=g)
            opt.step()
        results.append(p.detach())
    return torch.allclose(results[0], results[1], rtol=1e-6, atol=1e-7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 50_000_000])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-compile", action="store_true", help="leave out the compiled course step")
    args = parser.parse_args(argv)
    if args.steps < 3 or args.threads < 1 or min(args.sizes) < 1:
        parser.error("--steps >= 3, --threads >= 1, sizes >= 1")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s); the bandwidth W is that of a triad on the same n, "
          f"timed in turn with the steps; bound = {ADAM_BYTES_PER_PARAMETER} B/parameter / W")
    compile_ok = not args.no_compile
    if compile_ok:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            probe = ours.Adam([torch.nn.Parameter(torch.zeros(8))], fused=True)
            probe.param_groups[0]["params"][0].grad = torch.ones(8)
            probe.step()
            compile_s = time.perf_counter() - t0
        compile_ok = not any("torch.compile is not available" in str(w.message) for w in caught)
        print(f"course fused: {'compiled in %.1f s (once, for every size)' % compile_s if compile_ok else 'torch.compile unavailable; left out'}")
        if compile_ok:
            print(f"course fused equals torch.optim.Adam after 5 steps (rtol 1e-6): {check_fused_matches_torch()}")
    results = []
    print(f"\n{'parameters':>12} {'implementation':<15} {'median ms':>10} {'GB/s':>7} {'x bound':>8}")
    bandwidths = {}
    for n in args.sizes:
        calls = {"triad": triad(n)} | {k: o.step for k, o in make_optimizers(n, compile_ok).items()}
        med = time_interleaved(calls, args.steps)
        bandwidth = bandwidths[n] = 12 * n / med.pop("triad")
        bound_s = ADAM_BYTES_PER_PARAMETER * n / bandwidth
        print(f"{n:>12,} {'(triad)':<15} {12 * n / bandwidth * 1e3:>10.3f} {bandwidth / 1e9:>7.1f} {'':>8}")
        for name, s in med.items():
            r = {"parameters": n, "implementation": name, "median_ms": round(s * 1e3, 3),
                 "GBps": round(ADAM_BYTES_PER_PARAMETER * n / s / 1e9, 2), "x_bound": round(s / bound_s, 2)}
            results.append(r)
            print(f"{n:>12,} {name:<15} {r['median_ms']:>10.3f} {r['GBps']:>7.1f} {r['x_bound']:>8.2f}", flush=True)
    goals = {}
    if compile_ok:
        big = max(args.sizes)
        row = {r["implementation"]: r for r in results if r["parameters"] == big}
        goals = {"course_fused_le_torch_fused": row["course fused"]["median_ms"] <= row["torch fused"]["median_ms"],
                 "course_fused_within_1.5x_bound": row["course fused"]["x_bound"] <= BOUND_GOAL}
        print(f"\nat {big:,} parameters: course fused <= torch fused: {goals['course_fused_le_torch_fused']}; "
              f"within {BOUND_GOAL}x of the bound: {goals['course_fused_within_1.5x_bound']}")
    print(json.dumps({"threads": args.threads, "bandwidth_GBps": {n: round(b / 1e9, 2) for n, b in bandwidths.items()}, "results": results, "goals": goals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
