"""The course's conventions, checked on every notebook (what each new chapter must follow).

See CONTRIBUTING.md for the reasons behind each rule.
"""

from __future__ import annotations

import base64
import configparser
import io
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
IDS = [p.stem for p in SOURCES]

#: A cell may skip nbval's comparison only if its output cannot be stable: timings, widgets,
#: device names. It says which in its metadata (``output_varies``, written by jupytext in the
#: cell's ``# %%`` line, which the reader does not see), so a reviewer can check the claim.
UNSTABLE_OUTPUT = re.compile(r"\A(timings|widget|device)\b")
MAX_PNG_BYTES = 120_000
REQUIRED_SECTIONS = ("Learning objectives", "## Exercises", "## Summary", "## References")


def load(nb_path: Path) -> dict:
    return json.loads(nb_path.read_text())


def test_there_are_notebooks():
    assert SOURCES, "no notebooks/NN_name.py sources found"


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_source_header(src):
    text = src.read_text()
    assert "formats: ipynb,py:percent" in text, f"{src.name}: pair it with `formats: ipynb,py:percent`"
    assert re.search(r"kernelspec:\n#\s+display_name: .*\n#\s+language: python\n#\s+name: python3", text), (
        f"{src.name}: the jupytext header needs a python3 kernelspec, or execution cannot find a kernel"
    )


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_committed_notebook_is_clean(src):
    nb = load(src.with_suffix(".ipynb"))
    ids = [c.get("id") for c in nb["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), "cell ids must exist and be unique"
    for cell in nb["cells"]:
        assert "execution" not in cell["metadata"], "per-cell timing metadata must not be committed"
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                size = len(base64.b64decode(png))
                assert size <= MAX_PNG_BYTES, f"a figure of {size:,} bytes: keep PNGs small (dpi 80, FIGSIZE)"
            assert out.get("output_type") != "error", "a committed notebook must not contain errors"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert any(c.get("outputs") for c in code), "the notebook has no outputs: nbval has nothing to compare"


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_chapter_structure(src):
    nb = load(src.with_suffix(".ipynb"))
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for section in REQUIRED_SECTIONS:
        assert section in markdown, f"{src.name}: every chapter has a '{section}' section"
    assert "{cite}" in markdown, f"{src.name}: cite the review or its references from book/references.bib"
    assert nb["metadata"].get("widgets"), f"{src.name}: every chapter has at least one interactive widget"
    solutions = [c for c in nb["cells"] if "hide-cell" in c["metadata"].get("tags", [])]
    assert solutions, f"{src.name}: exercise solutions go in cells tagged hide-cell"
    for cell in solutions:
        assert cell["metadata"].get("jupyter", {}).get("source_hidden"), "solutions are collapsed in JupyterLab too"
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "effdnn_lib.exercises" in code, f"{src.name}: exercises come with a self-check from effdnn_lib.exercises"


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_ignore_output_only_where_output_cannot_be_stable(src):
    nb = load(src.with_suffix(".ipynb"))
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        assert not source.startswith("# output varies between runs"), (
            f"{src.name}: the reason an output varies goes in the cell's metadata (output_varies), not in its source")
        if "nbval-ignore-output" in cell["metadata"].get("tags", []):
            reason = cell["metadata"].get("output_varies", "")
            assert UNSTABLE_OUTPUT.search(reason), (
                f"{src.name}: a cell tagged nbval-ignore-output must say why in its metadata, "
                f'`# %% output_varies="timings|widget|device" tags=["nbval-ignore-output"]` (and be true); '
                f"otherwise round its numbers so that they are stable:\n{source[:300]}"
            )
        elif "output_varies" in cell["metadata"]:
            raise AssertionError(f"{src.name}: output_varies without the nbval-ignore-output tag:\n{source[:300]}")


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_widgets_respond_on_the_website_and_figures_have_alt_text(src):
    """Issue 16: a widget cell calls ``explorer`` and its precomputed views are saved with the
    notebook; every figure has alt text in its cell's metadata (myst-nb puts it on the website's
    ``<img>``) and an opaque background (readable on a dark page)."""
    from PIL import Image

    nb = load(src.with_suffix(".ipynb"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if cell["metadata"].get("output_varies", "").startswith("widget"):
            assert "explorer(" in source, (
                f"{src.name}: a widget cell calls effdnn_lib.widgets.explorer (directly or through a library "
                f"function built on it), so that it also responds on the website:\n{source[:300]}")
            stderr = [o["text"] for o in cell.get("outputs", []) if o.get("name") == "stderr"]
            assert not stderr, f"{src.name}: precomputing the widget's views wrote to stderr: {''.join(stderr)[:300]}"
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if pngs:
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) >= 40 and not alt.startswith("<"), (
                f'{src.name}: a figure needs alt text that says what it shows: `# %% mystnb={{"image": {{"alt": "..."}}}}`'
                f"\n{source[:300]}")
        for png in pngs:
            image = Image.open(io.BytesIO(base64.b64decode(png))).convert("RGBA")
            assert image.getextrema()[3][0] == 255, f"{src.name}: a figure with a transparent background:\n{source[:200]}"
    state = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    views = [m for m in state.values() if "effdnn-view" in str(m["state"].get("value", ""))]
    assert views, f"{src.name}: no precomputed views saved: execute it with tools/execute_notebooks.py"


def test_every_notebook_is_in_the_book_and_vice_versa():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = {ch["file"] for part in toc["parts"] for ch in part["chapters"]}
    in_toc = {f.split("/", 1)[1] for f in files if f.startswith("notebooks/")}
    assert in_toc == set(IDS)


def sanitizers() -> list[tuple[str, str, str]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg")
    return [(name, cfg[name]["regex"], cfg[name]["replace"]) for name in cfg.sections()]


NUMBERS = ["0.1234", "12", "-3.5e-04", "1,048,576", "100.0%", "loss 0.0312 at step 40", "n=1024: 98.3", "0x1f", "7082"]


@pytest.mark.parametrize("name,regex,replace", sanitizers())
def test_no_sanitizer_rewrites_numbers(name, regex, replace):
    for text in NUMBERS:
        assert re.sub(regex, replace, text) == text, f"sanitizer [{name}] rewrites the number in {text!r}"


def test_sanitizer_test_would_catch_a_digit_rewriter():
    digit_rewriter = r"\d+\.\d+"
    assert any(re.sub(digit_rewriter, "N", t) != t for t in NUMBERS)


#: A number printed in scientific notation below 1e-12 is made of float64 rounding: its digits
#: change with the CPU's kernels. Print a verdict against a tolerance instead ("below 1e-12:
#: True", "< 1e-12"). See CONTRIBUTING.md, "Outputs that reproduce on every machine".
ROUNDING_LEVEL = re.compile(r"(?<![<\w.])(?<!below )(?<!< )(\d+(?:\.\d+)?)[eE]-(\d+)")


def rounding_level_numbers(text: str) -> list[str]:
    eps64 = (2.0**-52, 2.0**-53)  # float64's rounding unit is a constant, and may be printed
    return [
        m.group(0)
        for m in ROUNDING_LEVEL.finditer(text)
        if 0 < float(m.group(0)) < 1e-12 and not any(abs(float(m.group(0)) / e - 1) < 0.05 for e in eps64)
    ]


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_no_output_prints_rounding_level_digits(src):
    nb = load(src.with_suffix(".ipynb"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "nbval-ignore-output" in cell["metadata"].get("tags", []):
            continue
        text = "".join("".join(out.get("text", "")) for out in cell.get("outputs", []))
        found = rounding_level_numbers(text)
        assert not found, f"{src.name}: prints rounding-level digits {found}; print a verdict against a tolerance"


def test_rounding_level_check_catches_digits():
    assert rounding_level_numbers("difference 3.3e-16; gap 4.8e-47") == ["3.3e-16", "4.8e-47"]
    assert rounding_level_numbers("below 1e-12: True; f - f* < 1e-12; 5.0e-04; 1.4e-12; eps 2.2e-16") == []
