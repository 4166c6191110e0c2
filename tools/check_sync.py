"""Fail when a notebook's .ipynb is out of sync with its .py source (or missing).

    python tools/check_sync.py notebooks/*.py

For each source it re-pairs a *copy* of the committed .ipynb with the .py (what
`jupytext --to ipynb --update` does) and compares the cells' sources and metadata. It also checks
that the .py is exactly what jupytext writes for that notebook: JupyterLab's jupytext extension
compares the two files when a notebook is opened, and refuses to open one whose .ipynb is newer
than a .py that differs from it even in the order of a cell's metadata keys (after a clone, which
file is newer is arbitrary). Nothing in the working tree is changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import jupytext
    import nbformat
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("jupytext is not installed: run `make env` (or `make test`, which sets it up) first.")


def cell_inputs(nb) -> list[tuple]:
    return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


def check(py_path: Path) -> str | None:
    ipynb_path = py_path.with_suffix(".ipynb")
    if not ipynb_path.exists():
        return f"{ipynb_path} is missing: run `make notebook NB={py_path}`"
    committed = nbformat.read(ipynb_path, as_version=4)
    source = jupytext.read(py_path)
    paired = jupytext.combine.combine_inputs_with_outputs(source, committed, fmt="py:percent")
    if cell_inputs(paired) != cell_inputs(committed):
        changed = sum(a != b for a, b in zip(cell_inputs(paired), cell_inputs(committed)))
        changed += abs(len(paired.cells) - len(committed.cells))
        return (
            f"{ipynb_path} is out of sync with {py_path} ({changed} cell(s) differ): edit the .py, then "
            f"run `make notebook NB={py_path}` to regenerate and execute the .ipynb. Never edit the .ipynb by hand."
        )
    canonical = jupytext.writes(committed, fmt="py:percent")
    if canonical != py_path.read_text():
        written = py_path.read_text().splitlines()
        line = next((i + 1 for i, (a, b) in enumerate(zip(written, canonical.splitlines())) if a != b), None)
        where = f" (first difference at line {line})" if line else ""
        return (
            f"{py_path} is not in jupytext's own form{where}: JupyterLab would refuse to open {ipynb_path}. "
            f"Write cell metadata as jupytext does (keys in alphabetical order), or run "
            f"`jupytext --to py:percent {ipynb_path}` after `make notebook NB={py_path}`."
        )
    if not any(c.get("outputs") for c in committed.cells if c.cell_type == "code"):
        return f"{ipynb_path} has no outputs: run `make notebook NB={py_path}`"
    return None


def main(paths: list[str]) -> int:
    if not paths:
        print("no notebooks given")
        return 2
    problems = [p for p in (check(Path(x)) for x in paths) if p]
    for p in problems:
        print(p)
    print(f"pair sync: {len(paths) - len(problems)} of {len(paths)} notebooks in sync")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
