"""Regenerate each notebook's .ipynb from its .py source and execute it in place.

    python tools/execute_notebooks.py notebooks/00_why_training_is_expensive.py [...]

The .py (jupytext py:percent) file is the source. This script pairs it into the .ipynb
(keeping the existing cell ids, so diffs stay small), executes it top to bottom with the
settings the committed outputs must have, and writes it back:

* ``EFFDNN_DEVICE=cpu`` unless set: the committed outputs are the CPU's, like CI's;
* ``EFFDNN_PROGRESS=0``: no progress bars (their timings differ on every run);
* ``EFFDNN_WIDGETS=precomputed``: each widget is stored with its precomputed views, linked in
  the browser, so it responds on the website with no kernel (see ``effdnn_lib.widgets``);
* no per-cell timing metadata, widget state stored (the website renders it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

try:
    import jupytext
    import nbformat
    from nbclient import NotebookClient
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("jupytext/nbclient are not installed: run `make env` first (or use `make notebook NB=...`).")

ROOT = Path(__file__).resolve().parents[1]


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stdout (or stderr) chunks: how the kernel splits them varies by run."""
    merged: list = []
    for out in outputs:
        if out.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == out.name:
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


def run(nb, cwd: Path, timeout: int) -> float:
    """Execute notebook ``nb`` in place (outputs replaced) from directory ``cwd``; return seconds."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        store_widget_state=True,
    )
    client.execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    return seconds


def use_build_settings() -> None:
    """The environment the committed outputs are made in: CPU, no progress bars, precomputed widgets."""
    os.environ.setdefault("EFFDNN_DEVICE", "cpu")
    os.environ["EFFDNN_PROGRESS"] = "0"
    os.environ["EFFDNN_WIDGETS"] = "precomputed"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def execute(py_path: Path, timeout: int) -> float:
    if py_path.suffix != ".py":
        raise SystemExit(f"{py_path}: give the .py source, not the {py_path.suffix} file")
    if not py_path.exists():
        raise SystemExit(f"{py_path}: no such file")
    ipynb_path = py_path.with_suffix(".ipynb")
    nb = jupytext.read(py_path)
    if ipynb_path.exists():
        old = nbformat.read(ipynb_path, as_version=4)
        nb = jupytext.combine.combine_inputs_with_outputs(nb, old, fmt="py:percent")
    seconds = run(nb, py_path.parent, timeout)
    nbformat.write(nb, ipynb_path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="notebooks/NN_name.py files")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    use_build_settings()
    for src in args.sources:
        seconds = execute(src.resolve(), args.timeout)
        print(f"{src}: executed in {seconds:.1f} s -> {src.with_suffix('.ipynb')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
