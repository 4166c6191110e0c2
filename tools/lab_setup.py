"""Prepare JupyterLab for the course (run by `make lab` before it starts the Lab).

Two settings make a chapter look in JupyterLab as it does on the website before any cell runs:

* **Widgets show their saved views.** Every committed notebook stores the state of its widgets
  (the website renders it). JupyterLab renders a widget only in a *trusted* notebook: in an
  untrusted one it falls back to the widget's text, ``interactive(children=(FloatSlider(...``.
  So this script trusts the course's own notebooks, ``notebooks/NN_*.ipynb`` (nothing else),
  exactly as ``jupyter trust`` would: their signatures go into the user's Jupyter data directory.
  Re-executing a notebook changes it, so `make lab` trusts them again every time it starts.
* **Lab settings** from ``lab/overrides.json``, copied into this environment's
  ``share/jupyter/lab/settings/overrides.json``: the widget manager saves widget state when a
  notebook is saved, and the Lab does not try to fetch news or updates (the course is offline).

MyST roles such as ``{cite}`` render in Lab through the ``jupyterlab-myst`` extension, which the
lock file installs; nothing to configure here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
from nbformat.sign import NotebookNotary

ROOT = Path(__file__).resolve().parents[1]


def install_overrides(prefix: Path = Path(sys.prefix)) -> Path:
    target = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "lab" / "overrides.json", target)
    return target


def trust_course_notebooks(notebooks: list[Path] | None = None) -> int:
    notary = NotebookNotary()
    paths = notebooks if notebooks is not None else sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if not notary.check_signature(nb):
            notary.sign(nb)
    return len(paths)


def main() -> int:
    target = install_overrides()
    count = trust_course_notebooks()
    print(f"JupyterLab settings: {target.relative_to(Path(sys.prefix).parent) if target.is_relative_to(Path(sys.prefix).parent) else target}")
    print(f"trusted {count} course notebooks (their saved widget views show before a cell runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
