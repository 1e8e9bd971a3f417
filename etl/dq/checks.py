"""The non-arithmetic checks, read from ``expectations/checks.csv`` (one row per check).

Kinds: ``deficiency`` (a code below ``threshold``), ``target`` (a code below ``threshold`` while
``condition_code`` is at or above it), ``anomaly`` (a code's day-over-day change in percent below
``threshold``), ``freshness`` (a firm that was filing has had no filing for ``threshold`` business days:
one row per severity, e.g. a warning at 1 and an error at 3), ``reconciliation`` (a statement's
month-end figure in the CFTC's monthly file more than ``threshold`` dollars from the daily filing's)
and the statement-wide kinds ``completeness`` and ``sign``. Arithmetic identities live in ``rules.csv``
(``etl.form.rules``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from etl.form.files import form_dir
from etl.form.rules import SEVERITIES

KINDS = ("arithmetic", "completeness", "sign", "deficiency", "target", "freshness", "anomaly", "reconciliation")


class ChecksError(ValueError):
    """The checks file is malformed; the message names the row."""


@dataclass(frozen=True)
class Check:
    check_id: str
    kind: str
    statement: str | None
    code: str | None
    condition_code: str | None
    threshold: float
    severity: str
    description: str


def read_checks(path: Path) -> list[Check]:
    checks = []
    with path.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name} row {n}"
            kind = row["kind"].strip()
            if kind not in KINDS or kind == "arithmetic":
                raise ChecksError(f"{where}: kind must be one of {KINDS[1:]}")
            severity = row["severity"].strip()
            if severity not in SEVERITIES:
                raise ChecksError(f"{where}: severity must be one of {SEVERITIES}")
            try:
                threshold = float(row["threshold"] or 0)
            except ValueError as exc:
                raise ChecksError(f"{where}: threshold must be a number") from exc
            if kind == "freshness" and (threshold < 1 or threshold != int(threshold)):
                raise ChecksError(f"{where}: a freshness threshold is a whole number of business days, at least 1")
            code = row["code"].strip() or None
            if kind in ("deficiency", "target", "anomaly") and not (code and row["statement"].strip()):
                raise ChecksError(f"{where}: a {kind} check needs a statement and a code")
            if kind == "reconciliation" and not (row["statement"].strip() and threshold >= 0):
                raise ChecksError(f"{where}: a reconciliation check needs a statement and a threshold of zero "
                                  "or more dollars")
            checks.append(Check(row["check_id"].strip(), kind, row["statement"].strip() or None, code,
                                row["condition_code"].strip() or None, threshold, severity,
                                row["description"].strip()))
    ids = [c.check_id for c in checks]
    if len(ids) != len(set(ids)):
        raise ChecksError(f"{path.name}: check ids must be unique")
    return checks


@lru_cache(maxsize=1)
def load_checks() -> tuple[Check, ...]:
    return tuple(read_checks(form_dir() / "checks.csv"))


def check_of_kind(kind: str) -> Check:
    """The one check of a statement-wide kind (completeness, sign, freshness)."""
    for check in load_checks():
        if check.kind == kind:
            return check
    raise ChecksError(f"checks.csv has no {kind} check")


def checks_of_kind(kind: str) -> list[Check]:
    """Every check of a kind, in file order."""
    return [check for check in load_checks() if check.kind == kind]
