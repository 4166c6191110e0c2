"""Fixtures for the browser check of the built website (book/_build/html).

The site is served on 127.0.0.1 by a throw-away HTTP server, and Debian's headless Chromium
(/usr/bin/chromium, or $CHROMIUM) is driven with Playwright. Playwright never downloads a
browser of its own here.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "book" / "_build" / "html"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail("book/_build/html is missing: run `make test-book` (or `make book`) first")
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a browser closing a socket early is not a failure
        pass


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") or os.environ.get("EFFDNN_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required for the site check: `apt-get install chromium` (tools/ensure_browser.py does it)")
        pytest.skip("Chromium not found: install Debian's `chromium` (or set $CHROMIUM) to check the website in a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
