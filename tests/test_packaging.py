"""A regular (non-editable) install contains the whole library: build the wheel, check its file
list against the source tree, and import every module from the unpacked wheel alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(names):
    return sorted(n[:-3].replace("/", ".").removesuffix(".__init__") for n in names if n.endswith(".py"))


def test_wheel_contains_and_imports_every_module(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "effdnn_lib", source / "effdnn_lib", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("effdnn_lib-*.whl")
    in_wheel = zipfile.ZipFile(wheel).namelist()
    expected = _modules(str(p.relative_to(ROOT)) for p in (ROOT / "effdnn_lib").rglob("*.py"))
    assert _modules(in_wheel) == expected

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(unpacked)!r})\n"
        f"for name in {expected!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(unpacked)!r}), module.__file__\n"
        "import effdnn_lib.data.mackey_glass_series as series\n"
        "from effdnn_lib.data import mackey_glass\n"
        "assert callable(mackey_glass) and series.mackey_glass is mackey_glass\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
