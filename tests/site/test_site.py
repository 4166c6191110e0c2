"""The built website, checked in headless Chromium the way a reader sees it.

Every page in the table of contents must load without errors and without asking any outside
host for anything (the site works offline); chapter pages must show typeset maths, their
and their figures; every internal link must resolve. The widgets are checked in test_widgets.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"


def toc_files() -> list[str]:
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


PAGES = toc_files()
CHAPTERS = [f for f in PAGES if f.startswith("notebooks/")]


def open_page(browser, site_url: str, docname: str):
    """Load a page, recording requests to outside hosts (and blocking them) and JS errors."""
    page = browser.new_page()
    outside, errors = [], []

    def route(r):
        host = urllib.parse.urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site_url}/{docname}.html", wait_until="load")
    return page, outside, errors


@pytest.mark.parametrize("docname", PAGES)
def test_page_loads_offline(browser, site_url, docname):
    page, outside, errors = open_page(browser, site_url, docname)
    page.wait_for_timeout(500)
    assert page.locator("main h1").count() >= 1, f"{docname}: no title"
    assert not outside, f"{docname} asked outside hosts for: {outside}"
    assert not errors, f"{docname} raised JavaScript errors: {errors}"
    page.close()


def test_index_redirects_to_intro(browser, site_url):
    page = browser.new_page()
    page.goto(f"{site_url}/index.html", wait_until="load")
    page.wait_for_url("**/intro.html")
    page.close()


@pytest.mark.parametrize("docname", CHAPTERS)
def test_maths_is_typeset(browser, site_url, docname):
    page, _, _ = open_page(browser, site_url, docname)
    # The first formula may sit in a collapsed solution, so wait for typeset maths to exist,
    # then count the formulas a reader actually sees.
    page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
    n_visible = page.evaluate(
        "() => [...document.querySelectorAll('mjx-container')].filter(m => m.checkVisibility()).length"
    )
    assert n_visible >= 5, f"{docname}: only {n_visible} visible formulas typeset"
    text = page.locator("main").inner_text()
    assert "$$" not in text, f"{docname}: raw $$ left in the page (MathJax did not run)"
    page.close()


@pytest.mark.parametrize("docname", CHAPTERS)
def test_figures_are_present(browser, site_url, docname):
    page, _, _ = open_page(browser, site_url, docname)
    images = page.locator("main .cell_output img")
    assert images.count() >= 1, f"{docname}: no figures"
    broken = page.evaluate(
        "() => [...document.querySelectorAll('main .cell_output img')]"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert not broken, f"{docname}: figures that did not load: {broken}"
    page.close()


def test_internal_links_resolve(browser, site_url):
    broken = []
    for docname in PAGES:
        page, _, _ = open_page(browser, site_url, docname)
        hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
        page.close()
        for href in sorted(set(hrefs)):
            if not href.startswith(site_url):
                continue
            url = href.split("#")[0]
            try:
                with urllib.request.urlopen(url) as response:
                    assert response.status == 200
            except (urllib.error.URLError, AssertionError) as exc:
                broken.append(f"{docname}: {href} ({exc})")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_syllabus_offers_both_editions_of_every_chapter(browser, site_url):
    """The syllabus links each chapter's page and both notebooks; the student edition downloaded
    from the site has no solutions and no outputs."""
    page, outside, errors = open_page(browser, site_url, "syllabus")
    links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => [a.textContent.trim(), a.href])")
    page.close()
    assert not outside and not errors
    student = {href.rsplit("/", 1)[-1]: href for text, href in links if text == "student edition"}
    instructor = {href.rsplit("/", 1)[-1]: href for text, href in links if text == "instructor edition"}
    stems = [c.split("/", 1)[1] for c in CHAPTERS]
    assert sorted(student) == sorted(f"{s}_student.ipynb" for s in stems)
    assert sorted(instructor) == sorted(f"{s}.ipynb" for s in stems)
    for name, href in student.items():
        with urllib.request.urlopen(href) as response:
            nb = json.loads(response.read())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert not any("".join(c["source"]).startswith("# Solution") for c in code), name
        assert not any(c.get("outputs") for c in code), name
        assert any("check." in "".join(c["source"]) for c in code), name
