"""Dependency health: the environment is exactly the lock file, and no locked release has a known
vulnerability (pip-audit, as far as its vulnerability service answers from here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

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
