"""Screenshots of every account-holder, admin, officer and reviewer page at 1280 and 390 px wide.

    .venv/bin/python scripts/screenshots.py        # writes test-artifacts/<page>-<width>.png

It runs the browser page tests (tests/browser/test_pages.py and test_workbench.py: a real server, Debian's Chromium, an
axe-core scan of each page), which save a full-page screenshot of each page they check. The folder
is ignored by git; CI keeps it as an artifact.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser/test_pages.py", "tests/browser/test_workbench.py", "-k", "sqlite"]
    code = subprocess.call(command, cwd=ROOT)
    shots = sorted((ROOT / "test-artifacts").glob("*-1280.png")) + sorted((ROOT / "test-artifacts").glob("*-390.png"))
    print("\n".join(str(p.relative_to(ROOT)) for p in shots))
    return code


if __name__ == "__main__":
    sys.exit(main())
