"""Make sure headless Chromium is available for the website check (tests/site).

On Debian as root it installs Debian's `chromium` package (about 30 s); elsewhere it explains
what to install. Playwright's own browser download is never used: it fails offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def main() -> int:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        print(f"chromium: {found}")
        return 0
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("chromium not found: installing Debian's chromium package")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, stdout=subprocess.DEVNULL)
        return 0
    print(
        "chromium not found. Install it (Debian/Ubuntu: `sudo apt-get install chromium`) or set CHROMIUM to a "
        "Chromium/Chrome binary; without it the website check is skipped (and fails under CI)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
