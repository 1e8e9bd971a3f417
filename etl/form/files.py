"""Where the reviewed data files of the form live (line-item catalog, arithmetic rules, checks).

In a source checkout they are the repository's ``expectations/`` folder; in an installed wheel they are
packaged as ``etl/_form``. ``DAILYSEG_FORM_DIR`` overrides both (for reviewing a changed catalog).
"""

from __future__ import annotations

import os
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
