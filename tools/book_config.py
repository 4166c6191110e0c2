"""Print book/_config.yml with notebook execution switched off (for `make test`).

`make book` executes every notebook while it builds. `make test` has just re-executed every
notebook under nbval and compared its outputs with the committed ones, so its book build
renders the committed outputs instead of executing them a second time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

BOOK = Path(__file__).resolve().parents[1] / "book"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-execute", action="store_true", help="set execute_notebooks to 'off'")
    args = parser.parse_args()
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    if args.no_execute:
        config.setdefault("execute", {})["execute_notebooks"] = "off"
    yaml.safe_dump(config, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
