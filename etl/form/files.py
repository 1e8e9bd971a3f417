"""Where the reviewed data files of the form live (line-item catalog, arithmetic rules, checks), how their
cells read, and the one rule for turning a firm's name into a file or folder name (``slugify``).

In a source checkout they are the repository's ``expectations/`` folder; in an installed wheel they are
packaged as ``etl/_form``. ``DAILYSEG_FORM_DIR`` overrides both (for reviewing a changed catalog).
"""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import date
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # etl/


def form_dir() -> Path:
    override = os.environ.get("DAILYSEG_FORM_DIR")
    if override:
        return Path(override)
    packaged = _PACKAGE / "_form"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / "expectations"


def sql_dir() -> Path:
    packaged = _PACKAGE / "_sql"
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / "sql"


def optional_date(text: str | None, where: str, error: type[ValueError] = ValueError) -> date | None:
    """An ISO date from a data file's cell, None when the cell is blank; ``error`` naming ``where`` when
    it is not a date."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise error(f"{where}: {text!r} is not an ISO date") from exc


def in_window(day: date, first: date | None, last: date | None) -> bool:
    """Whether ``day`` falls in a row's window of dates (either end open when None)."""
    return not ((first and day < first) or (last and day > last))


def slugify(name: str) -> str:
    """A name as a file or folder name: ASCII, lower case, words joined by hyphens
    ("Bär & Söhne Futures LLC" -> "bar-and-sohne-futures-llc")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
