"""Reading a dollar amount as filed: ``1,234``, ``-1,234``, ``(1,234)``, ``$1,234``, ``1,234.00``.

Values on the form are whole US dollars with thousands separators. Blank means "not reported" and reads
as ``None`` (never 0); a lone dash is the accounting way of printing zero. Anything else that is not a
well-formed amount (``4,36l,131``, ``12,34``) raises ``AmountError``: a mistyped value must stop the
filing, not become a wrong number.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_AMOUNT = re.compile(
    r"""
    (?P<lead>[-\u2212(])?                   # leading minus or opening parenthesis
    \$?
    (?P<int>\d{1,3}(?:,\d{3})+|\d+)         # grouped by thousands, or plain digits
    (?P<frac>\.\d+)?
    (?P<close>\))?
    (?P<trail>-)?                           # trailing minus (some accounting exports)
    """,
    re.VERBOSE,
)
_PLAIN = re.compile(r"-?\d{1,3}(?:,\d{3})*|-?\d+")
_DASHES = frozenset({"-", "\u2013", "\u2014", "\u2212"})
_NOT_REPORTED = frozenset({"n/a", "na", "none", "nil"})


class AmountError(ValueError):
    """A value that is present but is not a dollar amount."""


def read_amount(text: str) -> int | None:
    """The whole-dollar value of ``text`` (``None`` when blank or marked not reported)."""
    if _PLAIN.fullmatch(text):  # the common case, fast
        return int(text.replace(",", ""))
    token = "".join(text.split())  # "$ 1,234" and "( 1,234 )" read like their compact forms
    if not token:
        return None
    if token in _DASHES:
        return 0
    if token.lower() in _NOT_REPORTED:
        return None
    if token.startswith("-$"):
        token = "-" + token[2:]
    elif token.startswith("$-") or token.startswith("$("):
        token = token[1:]
    match = _AMOUNT.fullmatch(token)
    if match is None:
        raise AmountError(f"{text.strip()!r} is not a dollar amount")
    lead, close, trail = match["lead"], match["close"], match["trail"]
    if (lead == "(") != bool(close) or (trail and lead):
        raise AmountError(f"{text.strip()!r} is not a dollar amount")
    digits = match["int"].replace(",", "")
    if match["frac"]:
        value = int(Decimal(digits + match["frac"]).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    else:
        value = int(digits)
    return -value if (lead or trail) else value


_NUMBERISH = re.compile(r"[-\u2212($]*\d[\d,.]*[A-Za-z][\w,.]*\)?|[-\u2212($]*\d{1,3}(?:,\d+)+[\w,.]*\)?")


def looks_like_amount(token: str) -> bool:
    """True when a token is shaped like a (possibly mistyped) amount rather than a word of a label.

    Used where values are not underlined: ``4,36l,131`` looks like an amount that went wrong, while
    ``12)`` at the end of "add lines 7 through 12)" is a label.
    """
    return bool(_NUMBERISH.fullmatch(token)) and sum(c.isdigit() for c in token) >= 3
