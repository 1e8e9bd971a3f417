"""Dependency health: the environment is exactly the lock file, no locked release has been yanked from
PyPI (PEP 592: pulled by its maintainers, for a security or correctness defect), and none has a known
vulnerability (pip-audit, as far as its vulnerability service answers from here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name, parse_sdist_filename,
                             parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from tests.conftest import REPO

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked() -> dict[str, str]:
    """name -> version of every pin in requirements.lock that applies to this interpreter."""
    pins = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if not match:
            continue
        name, version, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue
        pins[canonicalize_name(name)] = version
    return pins


def installed() -> dict[str, str]:
    out = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name != "dailyseg":
            out[name] = dist.version
    return out


def test_every_installed_distribution_is_the_locked_release_and_nothing_else():
    pins, present = locked(), installed()
    assert len(pins) > 150
    unlisted = sorted(set(present) - set(pins) - {"pip", "setuptools", "wheel"})
    missing = sorted(set(pins) - set(present))
    different = sorted((n, present[n], pins[n]) for n in set(pins) & set(present) if present[n] != pins[n])
    assert (unlisted, missing, different) == ([], [], [])


def test_every_pin_is_hash_checked():
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    pinned = [b for b in blocks if "==" in b.splitlines()[0]]
    assert pinned and all("--hash=sha256:" in b for b in pinned)


def _release_files(name: str) -> list[dict]:
    """The files PyPI lists for a project (its simple API, JSON form), with their yanked status."""
    request = urllib.request.Request(f"https://pypi.org/simple/{name}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    for attempt in range(3):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)["files"]
        except (urllib.error.URLError, TimeoutError):
            if attempt == 2:
                raise
            time.sleep(2)
    return []


def _version_of(filename: str) -> Version | None:
    try:
        return parse_wheel_filename(filename)[1] if filename.endswith(".whl") else parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def yanked_releases(pins: dict[str, str]) -> dict[tuple[str, str], str]:
    """(name, version) -> PyPI's reason, for each pinned release whose files PyPI marks as yanked, and for
    each it does not list at all."""
    def check(pin: tuple[str, str]) -> tuple[tuple[str, str], str | None]:
        name, version = pin
        mine = [f for f in _release_files(name) if _version_of(f["filename"]) == Version(version)]
        if not mine:
            return pin, "not on PyPI"
        yanked = [f["yanked"] for f in mine if f.get("yanked")]
        return pin, (yanked[0] if isinstance(yanked[0], str) else "yanked, no reason given") if yanked else None

    with ThreadPoolExecutor(16) as pool:
        return {pin: why for pin, why in pool.map(check, sorted(pins.items())) if why}


def test_the_yank_check_finds_a_yanked_release():
    # pandas 3.0.4 was yanked for segfaults; a check that cannot see it would pass any lock
    assert yanked_releases({"pandas": "3.0.4", "six": "1.16.0", "pyarrow": "0.0.0"}) == {
        ("pandas", "3.0.4"): "Reported segfaults with datetime-related functionality",
        ("pyarrow", "0.0.0"): "not on PyPI"}


def test_no_locked_release_is_yanked():
    pins = {name: version for name, version in locked().items() if name != "dailyseg"}
    assert yanked_releases(pins) == {}


def test_no_locked_release_has_a_known_vulnerability():
    result = subprocess.run([str(Path(sys.executable).parent / "pip-audit"), "-r", str(REPO / "requirements.lock"),
                             "--no-deps", "--disable-pip", "--progress-spinner", "off", "-f", "json"],
                            capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    audited = [d for d in report["dependencies"] if "skip_reason" not in d]
    vulnerable = [(d["name"], d["version"], [v["id"] for v in d["vulns"]]) for d in audited if d.get("vulns")]
    assert vulnerable == [], f"known vulnerabilities in locked releases: {vulnerable}"
    # every locked package was at least put to the service (audited, or skipped with the service's reason)
    assert {canonicalize_name(d["name"]) for d in report["dependencies"]} >= set(locked()) - {"dailyseg"}
    skipped = len(report["dependencies"]) - len(audited)
    print(f"pip-audit: {len(audited)} audited, {skipped} not reachable in the vulnerability service")
