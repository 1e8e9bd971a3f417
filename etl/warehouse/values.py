"""Values as they come back from a warehouse query: None, NaN, pandas NA and NaT all mean "no value"."""

from __future__ import annotations

from typing import Any


def is_missing(value) -> bool:
    """None, NaN, pandas NA or NaT."""
    if value is None:
        return True
    try:
        return bool(value != value) or str(value) in ("<NA>", "NaT")
    except TypeError:  # pandas.NA refuses to be a boolean
        return True


def or_none(value: Any) -> Any:
    """``value``, or None when it is missing (see ``is_missing``)."""
    return None if is_missing(value) else value
