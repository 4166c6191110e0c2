"""How many bytes each page of the built website costs a reader: its HTML and its own images.

    python tools/page_weight.py [book/_build/html]

The HTML holds the text, the code and the saved widget state (with the precomputed views of
every explorer, as base64 PNGs); the figures are separate files under ``_images/``. Scripts,
styles and fonts are the same for every page (the browser caches them) and are reported once.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE = re.compile(r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)


def page_weight(page: Path) -> dict[str, int]:
    html = page.read_text()
    images = set(re.findall(r'<img[^>]+src="([^"]+)"', html))
    image_bytes = 0
    for src in images:
        if src.startswith("data:"):
            continue
        path = (page.parent / src.split("#")[0]).resolve()
        if path.is_file():
            image_bytes += path.stat().st_size
    state = WIDGET_STATE.search(html)
    return {"html": len(html.encode()), "widget_state": len(state.group(1).encode()) if state else 0, "images": image_bytes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default=str(ROOT / "book" / "_build" / "html"))
    args = parser.parse_args()
    site = Path(args.site)
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts and p.name not in {"genindex.html", "search.html"})
    print(f"{'page':<48} {'HTML KiB':>9} {'of it widgets':>14} {'images KiB':>11} {'total KiB':>10}")
    total = 0
    for page in pages:
        w = page_weight(page)
        if w["html"] < 2000:  # a redirect
            continue
        size = w["html"] + w["images"]
        total += size
        print(f"{str(page.relative_to(site)):<48} {w['html'] / 1024:>9.0f} {w['widget_state'] / 1024:>14.0f} {w['images'] / 1024:>11.0f} {size / 1024:>10.0f}")
    shared = sum(p.stat().st_size for p in (site / "_static").rglob("*") if p.is_file())
    print(f"{'all pages':<48} {'':>9} {'':>14} {'':>11} {total / 1024:>10.0f}")
    print(f"shared scripts, styles and fonts in _static (cached, loaded as needed): {shared / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
