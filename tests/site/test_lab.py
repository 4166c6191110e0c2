"""What a student sees when a chapter is opened in a real JupyterLab, before any cell runs.

A JupyterLab server is started on 127.0.0.1 with throw-away Jupyter data, config and settings
directories, after `tools/lab_setup.py` (what `make lab` runs): the course notebooks are trusted
and the Lab settings installed. Chromium then opens chapter 4, which has MyST citations, a widget
and hidden exercise solutions, and checks:

* the notebook opens (jupytext's "the .ipynb is more recent than the .py" refusal would show a
  dialog instead: tools/check_sync.py keeps each .py in jupytext's own form so it never does);
* MyST renders the `{cite}` roles (jupyterlab-myst) instead of showing them as raw text;
* the saved widget views render (a trusted notebook), not `interactive(children=(...` text;
* a collapsed exercise solution shows a neutral first line in both its input and output
  placeholders, and a self-check echoes no `True`/`False` after its verdict.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "04_adam.ipynb"
TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    home = tmp_path_factory.mktemp("lab")
    env = dict(
        os.environ,
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        EFFDNN_DEVICE="cpu",
    )
    subprocess.run([sys.executable, str(ROOT / "tools" / "lab_setup.py")], check=True, env=env, timeout=TIMEOUT_S)
    port = free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    log = open(home / "lab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={ROOT / 'notebooks'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: see {home / 'lab.log'}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def chapter(browser, lab_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab_url}/lab/tree/{CHAPTER}", timeout=TIMEOUT_S * 1000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_S * 1000)
    # the kernel starts and the widget manager restores the saved state: wait for the sliders
    try:
        page.wait_for_selector(".jp-Notebook .widget-slider", state="attached", timeout=TIMEOUT_S * 1000)
    except Exception:  # noqa: BLE001 - the widget test reports what is shown instead
        pass
    yield page
    page.close()


def test_the_chapter_opens_without_a_dialog(chapter):
    dialogs = chapter.evaluate("() => Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.textContent.slice(0, 300))")
    assert dialogs == []


def test_myst_roles_render_instead_of_raw_text(chapter):
    rendered = chapter.evaluate(
        """() => Array.from(document.querySelectorAll('.jp-MarkdownCell')).map(c => {
             const r = c.querySelector('.jp-RenderedMarkdown, .jp-MarkdownOutput, .myst');
             return r ? r.textContent : null; })"""
    )
    shown = [t for t in rendered if t is not None]
    assert shown, "no rendered markdown cell"
    assert not [t[:80] for t in shown if "{cite}" in t]
    assert chapter.evaluate("document.querySelectorAll('.jp-Notebook .myst').length") > 0


def test_saved_widget_views_show_before_a_cell_runs(chapter):
    outputs = chapter.evaluate("() => Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(o => o.textContent)")
    assert not [t[:80] for t in outputs if "interactive(children=" in t]
    assert chapter.evaluate("document.querySelectorAll('.jp-Notebook .widget-slider').length") > 0


def collapsed_cells(notebook: Path) -> tuple[int, int]:
    """How many cells of the notebook open with their input, and their output, collapsed."""
    cells = json.loads(notebook.read_text())["cells"]
    hidden = [c["metadata"].get("jupyter", {}) for c in cells]
    return sum(bool(h.get("source_hidden")) for h in hidden), sum(bool(h.get("outputs_hidden")) for h in hidden)


def test_collapsed_solutions_give_nothing_away(chapter):
    # Lab draws the collapsed placeholders while it renders the cells, which on a loaded machine
    # goes on after the widgets show: wait until every collapsed cell has its placeholder.
    n_inputs, n_outputs = collapsed_cells(ROOT / "notebooks" / CHAPTER)
    assert n_inputs and n_outputs
    chapter.wait_for_function(
        f"() => document.querySelectorAll('.jp-InputPlaceholder').length >= {n_inputs}"
        f" && document.querySelectorAll('.jp-OutputPlaceholder').length >= {n_outputs}",
        timeout=TIMEOUT_S * 1000,
    )
    placeholders = chapter.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-InputPlaceholder, .jp-OutputPlaceholder'))"
        ".map(e => [e.classList.contains('jp-InputPlaceholder') ? 'input' : 'output', e.textContent.trim()])"
    )
    inputs = [text for kind, text in placeholders if kind == "input"]
    outputs = [text for kind, text in placeholders if kind == "output"]
    assert inputs and set(inputs) == {"# Solution (expand the cell to read it)."}
    assert outputs and all(text.startswith("Exercise ") and ": correct." in text.split("\n")[0] for text in outputs), outputs
    echoes = chapter.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-OutputArea-executeResult')).map(o => o.textContent.trim())"
    )
    assert "True" not in echoes and "False" not in echoes
