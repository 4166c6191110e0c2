"""Fail when a notebook's .ipynb is out of sync with its .py source (or missing).

    python tools/check_sync.py notebooks/*.py

For each source it re-pairs a *copy* of the committed .ipynb with the .py (what
`jupytext --to ipynb --update` does) and compares the cells' sources and metadata. Nothing in
the working tree is changed.
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
