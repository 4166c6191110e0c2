"""Execute every notebook of the course, as `make book` does, and report the seconds each takes.

    python benchmarks/course_runtime.py [--repeats 1] [--write] [notebooks/NN_name.py ...]

Each notebook is run from its .py source in a fresh kernel (kernel start-up included, as a
learner experiences it) on the CPU with progress bars off; nothing is written to disk. Goals on
the course's reference machine (2 cores): every notebook <= 60 s, the whole course <= 8 min.
The last line is JSON: {"notebooks": {name: seconds}, "total_s": ..., "goals_met": ...}.
`--write` also stores it, with the machine and the date, in book/_data/course_runtime.json, where
the syllabus page (tools/syllabus.py) reads each chapter's execution time (`make bench` does).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
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
    parser.add_argument("--write", action="store_true", help="store the figures in book/_data/course_runtime.json")
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
    summary = {"notebooks": seconds, "total_s": total, "goals_met": goals_met}
    if args.write:
        stored = ROOT / "book" / "_data" / "course_runtime.json"
        previous = json.loads(stored.read_text()) if stored.exists() else {}
        previous_seconds = previous.get("notebooks", {})
        if args.sources:  # a partial run updates only the chapters it measured
            previous_seconds.update(seconds)
            seconds_all = dict(sorted(previous_seconds.items()))
        else:
            seconds_all = seconds
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps({"machine": machine(), "date": time.strftime("%Y-%m-%d"), "repeats": args.repeats,
                                      "notebooks": seconds_all}, indent=1) + "\n")
        print(f"wrote {stored.relative_to(ROOT)}", file=sys.stderr)
    print(json.dumps(summary))
    return 0


def machine() -> str:
    """'<CPU model>, <n> cores' from /proc/cpuinfo (Linux), or what platform knows elsewhere."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


if __name__ == "__main__":
    sys.exit(main())
