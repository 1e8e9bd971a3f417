"""Rendering a local page in headless Chromium (Debian's ``chromium``) and reading what it logged.

``./dev test`` installs the package when it is missing; if it is still missing the browser tests fail
with the command that installs it rather than skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\] (.*)$", re.MULTILINE)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("headless Chromium is needed: apt-get install -y chromium", pytrace=False)
    return path


def render(page: Path, screenshot: Path, width: int = 1200, height: int = 1600) -> list[str]:
    """Screenshot ``page``; return the console messages the page produced (errors, logs, uncaught)."""
    profile = screenshot.parent / f".{screenshot.stem}-chromium-profile"  # nothing left in the user's home
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", f"--window-size={width},{height}",
         f"--screenshot={screenshot}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert screenshot.exists(), f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-500:]}"
    return _CONSOLE.findall(result.stderr)


def rendered_dom(page: Path, profile_dir: Path) -> str:
    """The page's DOM once its scripts have run (what a reader sees, as HTML)."""
    profile = profile_dir / f".{page.stem}-chromium-profile"
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout, f"chromium failed (exit {result.returncode}): {result.stderr[-500:]}"
    return result.stdout
