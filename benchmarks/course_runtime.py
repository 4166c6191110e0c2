"""Execute every notebook of the course, as `make book` does, and report the seconds each takes.

    python benchmarks/course_runtime.py [--repeats 1] [notebooks/NN_name.py ...]

Each notebook is run from its .py source in a fresh kernel (kernel start-up included, as a
learner experiences it) on the CPU with progress bars off; nothing is written to disk. Goals on
the course's reference machine (2 cores): every notebook <= 60 s, the whole course <= 8 min.
The last line is JSON: {"notebooks": {name: seconds}, "total_s": ..., "goals_met": ...}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import jupytext  # noqa: E402
from execute_notebooks import run, use_build_settings  # noqa: E402

PER_NOTEBOOK_GOAL_S = 60.0
TOTAL_GOAL_S = 8 * 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="default: every notebooks/NN_*.py")
    parser.add_argument("--repeats", type=int, default=1, help="runs per notebook; the median is reported")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    sources = args.sources or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    use_build_settings()
    seconds: dict[str, float] = {}
    for src in sources:
        runs = [run(jupytext.read(src), src.parent, timeout=600) for _ in range(args.repeats)]
        seconds[src.stem] = round(statistics.median(runs), 1)
        flag = "" if seconds[src.stem] <= PER_NOTEBOOK_GOAL_S else "  (over the 60 s goal)"
        print(f"{src.stem:<40} {seconds[src.stem]:7.1f} s{flag}", flush=True)
    total = round(sum(seconds.values()), 1)
    goals_met = total <= TOTAL_GOAL_S and all(s <= PER_NOTEBOOK_GOAL_S for s in seconds.values())
    print(f"{'total':<40} {total:7.1f} s  (goal: each <= {PER_NOTEBOOK_GOAL_S:.0f} s, all <= {TOTAL_GOAL_S:.0f} s)")
    print(json.dumps({"notebooks": seconds, "total_s": total, "goals_met": goals_met}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
