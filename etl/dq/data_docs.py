"""Data Docs that open offline: no page of the site fetches anything from the network.

GX renders its Data Docs with stylesheets and scripts from public CDNs and its logo from a GX server
(the address carries the project's id). After each validation, ``make_offline`` copies the same
files, shipped in ``data_docs_assets/``, into the site's ``static/vendor/`` and rewrites the pages GX
just wrote to use them: CDN addresses become relative paths, the logo becomes GX's own local copy,
and the charting scripts (unused by these suites) are dropped. Links a reader may click stay.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
from pathlib import Path

ASSETS = Path(__file__).with_name("data_docs_assets")
VENDOR = Path("static") / "vendor"

# address prefix -> file under static/vendor (the version each page asks for is the version shipped)
LOCAL_COPIES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
}
GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
LOCAL_LOGO = Path("static") / "images" / "logo-long.png"

_CHART_SCRIPT = re.compile(r'<script src="https://cdn\.jsdelivr\.net/npm/vega[^"]*"></script>\s*')
_SRI = re.compile(r'\s+(?:integrity="[^"]*"|crossorigin="[^"]*")')  # would block a file:// copy
_FETCHED = re.compile(r'(?:\bsrc=|<link\b[^>]*\bhref=|url\()\s*["\']?(https?://[^"\'\s)>]+)')


def _install_assets(site: Path) -> None:
    """Copy the shipped assets into the site once (again only when a shipped file changed)."""
    for source in ASSETS.rglob("*"):
        if source.is_dir() or source.suffix == ".md":
            continue
        target = site / VENDOR / source.relative_to(ASSETS)
        if not target.exists() or not filecmp.cmp(source, target, shallow=False):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _rewrite(text: str, page_dir: Path, site: Path) -> str:
    to_site = Path(os.path.relpath(site, page_dir)).as_posix()

    def local(path: Path | str) -> str:
        return f"{to_site}/{Path(path).as_posix()}"

    text = _CHART_SCRIPT.sub("", text)
    for address, name in LOCAL_COPIES.items():
        text = text.replace(address, local(VENDOR / name))
    text = re.sub(re.escape(GX_WEB_ASSETS) + r"[^\"')\s]*", local(LOCAL_LOGO), text)
    return _SRI.sub("", text)


def external_fetches(page: Path) -> list[str]:
    """Addresses a page would fetch by itself (stylesheets, scripts, images), not links to click."""
    return _FETCHED.findall(page.read_text(encoding="utf-8", errors="replace"))


def make_offline(site: Path, since: float = 0.0) -> int:
    """Rewrite the site's pages written at or after ``since`` (a timestamp); returns how many changed."""
    if not site.is_dir():
        return 0
    if not (site / VENDOR).is_dir():  # a site never made offline (older runs): every page
        since = 0.0
    _install_assets(site)
    changed = 0
    for page in site.rglob("*.html"):
        if page.stat().st_mtime < since:
            continue
        text = page.read_text(encoding="utf-8")
        rewritten = _rewrite(text, page.parent, site)
        if rewritten != text:
            page.write_text(rewritten, encoding="utf-8")
            changed += 1
    return changed
