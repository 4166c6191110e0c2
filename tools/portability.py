"""Re-run the notebook comparison (nbval) under other CPU kernel configurations of this machine.

    python tools/portability.py notebooks/*.ipynb [--jobs 2] [--only avx2-1thread]

The committed outputs must be facts about the algorithms, not about the CPU that made them. A
different x86-64 CPU changes which vector kernels PyTorch and MKL run, and with them the order in
which sums are rounded; a different core count changes how reductions are split. One machine can
stand in for those others:

* ``ATEN_CPU_CAPABILITY`` picks PyTorch's own kernels (``default`` = no vector extensions,
  ``avx2``, ``avx512``), whatever the CPU offers;
* ``MKL_CBWR`` picks MKL's code path (``AVX2`` is what MKL runs on AMD EPYC/Zen CPUs, the
  machine on which the committed outputs first failed);
* ``OMP_NUM_THREADS`` the thread count (chapters that call ``setup(threads=1)`` fix theirs).

Each configuration runs the same nbval comparison as ``make test-notebooks`` in its own process;
``--jobs`` of them at a time (the chapters train on one thread, so two fit on two cores). Prints
a table of configurations and the cells that differ, and exits non-zero if any cell differs.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name -> environment. Native (this CPU's own kernels, all its threads) is `make test-notebooks`.
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "avx2-1thread": {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    "default-2threads": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
    "mkl-avx2": {"MKL_CBWR": "AVX2"},
}

FAILED = re.compile(r"^FAILED (\S+)::(Cell \d+)", re.M)
SUMMARY = re.compile(r"^=*\s*(.*\b(?:passed|failed)\b.*?)\s*=*$", re.M)


def run_config(name: str, notebooks: list[str], timeout: int) -> tuple[str, int, list[str], str, float]:
    env = dict(os.environ, EFFDNN_DEVICE="cpu", EFFDNN_PROGRESS="0", **CONFIGURATIONS[name])
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
        "--nbval-cell-timeout=300", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", *notebooks,
    ]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        out, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        out, code = out + f"\ntimed out after {timeout} s", 124
    failed = [f"{Path(nb).stem}::{cell}" for nb, cell in FAILED.findall(out)]
    summary = SUMMARY.findall(out)
    return name, code, failed, summary[-1] if summary else out[-300:], time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", help="the committed .ipynb files")
    parser.add_argument("--jobs", type=int, default=2, help="configurations run at the same time")
    parser.add_argument("--only", action="append", choices=sorted(CONFIGURATIONS), help="run just these")
    parser.add_argument("--timeout", type=int, default=1500, help="seconds allowed per configuration")
    args = parser.parse_args(argv)
    names = args.only or list(CONFIGURATIONS)
    print(f"nbval under {len(names)} CPU configurations ({args.jobs} at a time): " + ", ".join(names), flush=True)
    start = time.perf_counter()
    results = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_config, name, args.notebooks, args.timeout) for name in names]
        for future in as_completed(futures):  # say each one as it ends: a CI log shows progress
            results.append(future.result())
            name, _, failed, summary, seconds = results[-1]
            print(f"  {name}: {summary} ({seconds:.0f} s)", flush=True)
    results.sort(key=lambda r: names.index(r[0]))
    print(f"\n{'configuration':<18} {'environment':<52} {'cells differing':>15} {'seconds':>8}")
    bad = False
    for name, code, failed, summary, seconds in results:
        env = " ".join(f"{k}={v}" for k, v in CONFIGURATIONS[name].items())
        print(f"{name:<18} {env:<52} {len(failed):>15} {seconds:>8.0f}   {summary}")
        for cell in failed:
            print(f"{'':<18} differs: {cell}")
        bad |= code != 0
    print(f"\nportability check: {'FAILED' if bad else 'passed'} in {time.perf_counter() - start:.0f} s")
    if bad:
        print("A cell whose output depends on the CPU: see CONTRIBUTING.md, 'Outputs that reproduce on every machine'.")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
