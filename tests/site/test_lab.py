"""What a student sees in a real JupyterLab: a chapter before any cell runs, and after Run All.

A JupyterLab server is started on 127.0.0.1 with a token and throw-away Jupyter data, config and
settings directories, after `tools/lab_setup.py` (what `make lab` runs): the course notebooks are
trusted and the Lab settings installed. It serves a scratch copy of notebooks/ (running a chapter
must not rewrite the committed outputs). Chromium then opens chapter 4, which has MyST
citations, a widget and hidden exercise solutions, and checks, before any cell runs:

* the notebook opens (jupytext's "the .ipynb is more recent than the .py" refusal would show a
  dialog instead: tools/check_sync.py keeps each .py in jupytext's own form so it never does);
* MyST renders the `{cite}` roles (jupyterlab-myst) instead of showing them as raw text;
* the saved widget views render (a trusted notebook), not `interactive(children=(...` text, and
  the precomputed views respond to their controls with no cell run;
* a collapsed exercise solution shows a neutral first line in both its input and output
  placeholders, and a self-check echoes no `True`/`False` after its verdict.

Then it opens chapter 0 (a widget and the device toggle), runs all its cells in the kernel and
waits until the kernel is idle: no cell shows an error or writes to stderr, moving the live
widget's slider redraws its figure, and on a machine without a CUDA GPU the device toggle is
disabled and says why.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "04_adam.ipynb"
RUN_ALL_CHAPTER = "00_why_training_is_expensive.ipynb"
TIMEOUT_S = 120
TOKEN = secrets.token_hex(16)


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
    scratch = home / "notebooks"  # the same files (and times: jupytext compares them), signatures still valid
    scratch.mkdir()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.*")):
        if path.suffix in {".ipynb", ".py"}:
            shutil.copy2(path, scratch / path.name)
    port = free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    log = open(home / "lab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", "--ServerApp.password=", f"--ServerApp.root_dir={scratch}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5)
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
    # each page its own fresh workspace: Lab would otherwise reopen the other page's notebook beside it
    page.goto(f"{lab_url}/lab/workspaces/first-look/tree/{CHAPTER}?reset&token={TOKEN}", timeout=TIMEOUT_S * 1000)
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
    assert not [t[:80] for t in outputs if "interactive(children=" in t or "VBox(children=" in t]
    assert chapter.evaluate("document.querySelectorAll('.jp-Notebook .widget-slider').length") > 0


def nudge_and_wait(widget, changed_js: str, before: str | None) -> None:
    """One keyboard step on the widget's first slider (away from the end it may sit at), then wait
    until ``changed_js(widget, before)`` holds in the page."""
    handle = widget.locator(".noUi-handle").first
    at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    handle.press("ArrowLeft" if at_end else "ArrowRight")
    widget.page.wait_for_function(f"([w, before]) => ({changed_js})(w, before)",
                                  arg=[widget.element_handle(), before], timeout=TIMEOUT_S * 1000)


def test_precomputed_views_respond_before_a_cell_runs(chapter):
    """The saved explorer is linked in the browser: in Lab too, with no cell run, a control swaps the view."""
    explorer = chapter.locator(".jp-Notebook .effdnn-explorer").first
    explorer.scroll_into_view_if_needed()
    view = explorer.locator(".effdnn-view").first
    view.wait_for(timeout=TIMEOUT_S * 1000)
    nudge_and_wait(explorer, "(e, before) => { const v = e.querySelector('.effdnn-view'); return v && v.dataset.view !== before; }",
                   view.get_attribute("data-view"))


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


def click_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def wait_for_idle_kernel(page, timeout_s: float) -> None:
    """Until the status bar names the notebook's kernel and says it is idle (not "No Kernel", not starting)."""
    page.wait_for_function(
        "() => { const s = document.querySelector('#jp-main-statusbar');"
        " return s && /Python 3 \\(ipykernel\\) \\| Idle/.test(s.textContent); }", timeout=timeout_s * 1000)


PROMPTS_JS = "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent)"


@pytest.fixture(scope="module")
def run_all(browser, lab_url):
    """Chapter 0 after Run All, and how long Run All took (printed with pytest -s)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{lab_url}/lab/workspaces/run-all/tree/{RUN_ALL_CHAPTER}?reset&token={TOKEN}", timeout=TIMEOUT_S * 1000)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=TIMEOUT_S * 1000)
    wait_for_idle_kernel(page, TIMEOUT_S)
    tabs = page.evaluate("() => [...document.querySelectorAll('.lm-DockPanel .lm-TabBar-tabLabel')].map(e => e.textContent)")
    assert tabs == [RUN_ALL_CHAPTER], tabs
    start = time.monotonic()
    click_menu(page, "Run", "Run All Cells")
    # Run All queues every cell at once and marks it [*] (the saved prompts are numbered already, so
    # a numbered prompt proves nothing): wait for the queue, then until no cell is left waiting
    page.wait_for_function(f"() => ({PROMPTS_JS})().some(t => t.includes('*'))", timeout=TIMEOUT_S * 1000)
    page.wait_for_function(f"() => !({PROMPTS_JS})().some(t => t.includes('*'))", timeout=TIMEOUT_S * 3 * 1000)
    wait_for_idle_kernel(page, TIMEOUT_S)
    print(f"\nJupyterLab: Run All of {RUN_ALL_CHAPTER} took {time.monotonic() - start:.1f} s")
    yield page, errors
    page.close()


def test_run_all_shows_no_error_and_no_stderr(run_all):
    page, errors = run_all
    bad = page.evaluate(
        """() => [...document.querySelectorAll('.jp-OutputArea-output')]
             .filter(o => ['application/vnd.jupyter.stderr', 'application/vnd.jupyter.error'].includes(o.dataset.mimeType)
                          || o.querySelector('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'))
             .map(o => o.textContent.slice(0, 200))""")
    assert bad == [], bad
    if errors:  # JupyterLab's own scripts (e.g. a widget view replaced while its cell re-runs): reported, not the course's
        print(f"\nJupyterLab logged {len(errors)} script error(s) during Run All: {errors[:3]}")


def test_moving_a_live_slider_redraws_the_figure(run_all):
    page, _ = run_all
    widget = page.locator(".jp-Notebook .widget-interact").first
    widget.scroll_into_view_if_needed()
    image = widget.locator("img").first
    image.wait_for(timeout=TIMEOUT_S * 1000)
    nudge_and_wait(widget, "(w, before) => { const i = w.querySelector('img'); return i && i.src !== before && i.naturalWidth > 0; }",
                   image.get_attribute("src"))


def test_the_device_toggle_says_why_the_gpu_is_disabled(run_all):
    page, _ = run_all
    import torch

    toggle = page.locator(".jp-Notebook .widget-toggle-buttons", has=page.locator("button", has_text="GPU")).first
    toggle.wait_for(timeout=TIMEOUT_S * 1000)
    text = toggle.locator("xpath=..").text_content()
    if torch.cuda.is_available():
        assert "GPU" in text
        return
    assert "no CUDA GPU here, so the GPU choice is disabled" in text
    assert toggle.locator("button", has_text="GPU").is_disabled()
