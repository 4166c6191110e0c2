"""The website is usable by everyone: axe-core's audit, alt text, dark mode, one search box.

* axe-core (vendored from npm in book/_vendor, injected into each page by this test, never
  served by the site) audits every page in the light and the dark theme after its widgets have
  rendered: no serious or critical violation. ``EXPLAINED`` lists the ones left, with why.
* Every figure (cell outputs and the widgets' precomputed views) has alt text that says what it
  shows: not empty, not matplotlib's ``<Figure size ...>``.
* In the dark theme every figure is still drawn on a light background, so black axes and labels
  stay readable (checked on a screenshot of each figure's border).
* One search field, whatever the width of the window.

Run with ``pytest -s`` to print each page's axe results (counts by impact).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from test_site import CHAPTERS, PAGES, open_page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "book" / "_vendor" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
#: rule id -> why a remaining serious/critical violation is accepted (none today).
EXPLAINED: dict[str, str] = {}
THEMES = ("light", "dark")


def themed_page(browser, site_url, docname, theme):
    """A page in the given theme (pydata-sphinx-theme reads it from localStorage), widgets rendered."""
    context = browser.new_context(viewport={"width": 1300, "height": 900}, color_scheme=theme)
    context.add_init_script(f"localStorage.setItem('theme', '{theme}'); localStorage.setItem('mode', '{theme}');")
    page, outside, errors = open_page(context, site_url, docname)
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    if docname in CHAPTERS:
        page.wait_for_selector(".effdnn-explorer .effdnn-view img", timeout=30_000)
    page.wait_for_timeout(300)
    return context, page


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document)).violations.map(v => ({
             id: v.id, impact: v.impact, help: v.help,
             nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5), count: v.nodes.length}))"""
    )


def border_luminance(png: bytes, width: int = 4) -> float:
    """Mean luminance (0-255) of the outer frame of a screenshot: the figure's background."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    w, h = image.size
    pixels = image.load()
    frame = [pixels[x, y] for x in range(w) for y in range(h) if x < width or y < width or x >= w - width or y >= h - width]
    return sum(frame) / len(frame)


def dark_figures(page) -> list[str]:
    figures = page.locator("main .cell_output img, main .effdnn-view img")
    dark = []
    for i in range(figures.count()):
        figure = figures.nth(i)
        figure.scroll_into_view_if_needed()
        luminance = border_luminance(figure.screenshot())
        if luminance < 200:
            dark.append(f"figure {i} ({(figure.get_attribute('alt') or '')[:60]!r}): border luminance {luminance:.0f}")
    return dark


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("docname", PAGES)
def test_page_is_accessible(browser, site_url, docname, theme):
    """axe-core on the page; on a chapter also alt text (light) or figure backgrounds (dark)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test-book` installs book/_vendor (npm ci)")
    context, page = themed_page(browser, site_url, docname, theme)
    violations = axe_violations(page)
    alts, dark = [], []
    if docname in CHAPTERS and theme == "light":
        alts = page.evaluate("() => [...document.querySelectorAll('main img')].map(i => [i.alt || '', i.src.slice(0, 40)])")
    if docname in CHAPTERS and theme == "dark":
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"
        dark = dark_figures(page)
    context.close()
    counts = {}
    for v in violations:
        counts[v["impact"]] = counts.get(v["impact"], 0) + v["count"]
    print(f"\naxe {docname} [{theme}]: " + (", ".join(f"{n} {impact}" for impact, n in sorted(counts.items())) or "no violations")
          + "".join(f"\n    {v['impact']} {v['id']} x{v['count']}: {v['help']}" for v in violations))
    blocking = [v for v in violations if v["impact"] in BLOCKING and v["id"] not in EXPLAINED]
    assert not blocking, f"{docname} [{theme}]: " + "; ".join(f"{v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in blocking)
    if docname in CHAPTERS and theme == "light":
        assert alts, f"{docname}: no figures"
        missing = [src for alt, src in alts if len(alt.strip()) < 20 or alt.startswith("<")]
        assert not missing, f"{docname}: {len(missing)} of {len(alts)} figures have no alt text that says what they show"
    assert not dark, f"{docname}: figures on a dark background in dark mode: {dark}"


@pytest.mark.parametrize("width", [400, 1000, 1600])
def test_one_search_box(browser, site_url, width):
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(f"{site_url}/{CHAPTERS[0]}.html", wait_until="load")
    page.wait_for_timeout(300)
    shown = page.evaluate(
        "() => [...document.querySelectorAll('.search-button__button, .search-button-field, form.bd-search')]"
        ".filter(e => e.checkVisibility()).map(e => e.className)"
    )
    page.close()
    assert len(shown) == 1, f"{width} px wide: {len(shown)} search boxes: {shown}"
