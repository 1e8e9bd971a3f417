"""The arithmetic identities of the form, read from ``expectations/rules.csv``.

One CSV row per component of an identity (``rule_id, statement, total_code, component_code, weight,
op, tolerance, severity, effective_from, effective_to, description``), in the spirit of the XBRL US
DQC rule files: ``total = sum(weight * component)`` (``op = sum``) or ``total = max(components)``
(``op = max``). Code never states an identity itself; correcting the form is a one-line data change.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from etl.form.files import form_dir, in_window, optional_date

SEVERITIES = ("info", "warning", "error", "critical")


class RulesError(ValueError):
    """The rules file is malformed; the message names the row."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    statement: str
    total_code: str
    components: tuple[tuple[str, int], ...]  # (code, +1/-1)
    op: str
    tolerance: int
    severity: str
    effective_from: date | None
    effective_to: date | None
    description: str

    def applies_on(self, day: date) -> bool:
        return in_window(day, self.effective_from, self.effective_to)

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.total_code, *(code for code, _ in self.components))

    def expected(self, values: Mapping[str, int | None]) -> int | None:
        """What the components add up to, or None when a component is missing or blank."""
        parts = []
        for code, weight in self.components:
            value = values.get(code)
            if value is None:
                return None
            parts.append(weight * value)
        return max(parts) if self.op == "max" else sum(parts)

    def formula(self) -> str:
        """``7040 = 7010 + 7020 - 7033`` or ``7360 = max(7305, 7355)``."""
        if self.op == "max":
            return f"{self.total_code} = max({', '.join(code for code, _ in self.components)})"
        terms = " ".join(("+ " if w > 0 else "- ") + code for code, w in self.components)
        return f"{self.total_code} = {terms.removeprefix('+ ')}"


def _date_cell(text: str, where: str) -> date | None:
    return optional_date(text, where, RulesError)


def read_rules(path: Path) -> list[Rule]:
    grouped: dict[str, dict] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for n, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name} row {n}"
            rule_id = row["rule_id"].strip()
            try:
                weight = int(row["weight"])
                tolerance = int(row["tolerance"] or 2)
            except (TypeError, ValueError) as exc:
                raise RulesError(f"{where}: weight and tolerance must be integers") from exc
            if weight not in (1, -1):
                raise RulesError(f"{where}: weight must be +1 or -1")
            op = (row.get("op") or "sum").strip()
            if op not in ("sum", "max"):
                raise RulesError(f"{where}: op must be sum or max")
            severity = row["severity"].strip()
            if severity not in SEVERITIES:
                raise RulesError(f"{where}: severity must be one of {SEVERITIES}")
            head = (row["statement"].strip(), row["total_code"].strip(), op, tolerance, severity,
                    _date_cell(row["effective_from"], where), _date_cell(row["effective_to"], where),
                    row["description"].strip())
            entry = grouped.setdefault(rule_id, {"head": head, "components": [], "where": where})
            if entry["head"] != head:
                raise RulesError(f"{where}: rule {rule_id} rows disagree on statement, total, op, tolerance, "
                                 "severity, dates or description")
            entry["components"].append((row["component_code"].strip(), weight))
    rules = []
    for rule_id, entry in grouped.items():
        statement, total, op, tolerance, severity, start, end, description = entry["head"]
        rules.append(Rule(rule_id, statement, total, tuple(entry["components"]), op, tolerance, severity,
                          start, end, description))
    return rules


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """The identities shipped with dailyseg, read once per process."""
    return tuple(read_rules(form_dir() / "rules.csv"))
