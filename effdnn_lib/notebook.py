"""What every notebook does first, and how it shows library code to the reader."""

from __future__ import annotations

import inspect
import random

import numpy as np
import torch

from .plotting import use_style


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(seed: int = 0, threads: int | None = None) -> None:
    """Seed everything, apply the course plotting style and, optionally, fix torch's threads.

    Small models train faster on one thread on a 2-core laptop (chapter 0 measures it), so
    chapters that train small models pass ``threads=1``.
    """
    seed_everything(seed)
    use_style()
    if threads is not None:
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int or None; got {threads!r}")
        torch.set_num_threads(threads)
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)


def show_source(obj):
    """Display the source code of a library function or class, highlighted.

    Notebooks use it to put the algorithm's own code in front of the reader, so that what is
    explained is exactly what runs.
    """
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


#: Where the chapters live, next to the package in a clone of the course.
NOTEBOOKS_DIR = __import__("pathlib").Path(__file__).resolve().parents[1] / "notebooks"


def printed_lines(notebook) -> list[str]:
    """Every line of text a committed notebook printed, in order, from the cells nbval checks.

    ``notebook`` is a path to an ``.ipynb`` file or a chapter's name (``"05_hyperparameters"``),
    looked up in :data:`NOTEBOOKS_DIR`. Cells tagged ``nbval-ignore-output`` (timings, widgets)
    are skipped: what they print is not a fact the course stands behind.
    """
    import json
    from pathlib import Path

    if not isinstance(notebook, (str, Path)):
        raise TypeError(f"notebook must be a path or a chapter name (str); got {type(notebook).__name__}")
    path = Path(notebook)
    if path.suffix != ".ipynb":
        path = NOTEBOOKS_DIR / f"{path.name}.ipynb"
    if not path.is_file():
        raise ValueError(f"notebook must name a committed .ipynb file; {str(path)!r} does not exist")
    lines = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code" or "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            text = output.get("text") if output.get("output_type") == "stream" else output.get("data", {}).get("text/plain")
            if text is not None:
                lines.extend(("".join(text) if isinstance(text, list) else text).splitlines())
    return lines


def printed_line(notebook, contains: str) -> str:
    """The first line that ``notebook`` printed (see :func:`printed_lines`) containing ``contains``,
    stripped of surrounding blanks. A chapter that quotes another chapter's result reads it this
    way, so that the quote cannot drift from what the other chapter prints; ``LookupError`` if no
    line contains it (the other chapter changed: update the quote)."""
    if not isinstance(contains, str):
        raise TypeError(f"contains must be a str; got {type(contains).__name__}")
    if not contains.strip():
        raise ValueError("contains must be a non-empty str (the text that identifies the line)")
    for line in printed_lines(notebook):
        if contains in line:
            return line.strip()
    raise LookupError(f"no line printed by {notebook!r} contains {contains!r}")
