"""Turning GX's unexpected rows into ``dq_results`` rows that explain themselves.

Every finding names the firm, the End Date, the statement, the rule, what the filing reports, what
its components add up to (with each signed component and its value, as XBRL DQC messages do) and the
difference. A "Less:" or short-option line filed positive is reported as a sign warning that says
whether flipping its sign makes the identity tie; when it does, the identity's arithmetic break is not
reported separately (the figures are right, only the sign convention is not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from etl.analyst.formats import is_missing
from etl.form.catalog import load_catalog
from etl.dq.compile import code_column
from etl.form.rules import Rule, load_rules

SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}
KIND_ORDER = {k: i for i, k in enumerate(("deficiency", "arithmetic", "completeness", "freshness", "target",
                                          "anomaly", "reconciliation", "sign"))}
RESULT_COLUMNS = ("kind", "rule_id", "severity", "firm", "end_date", "statement", "code", "reported", "expected",
                  "difference", "filing_id", "message")


@dataclass
class Finding:
    kind: str
    rule_id: str
    severity: str
    firm: str
    end_date: date
    statement: str | None
    code: str | None
    reported: int | None
    expected: int | None
    difference: int | None
    filing_id: str | None
    message: str

    def key(self) -> tuple:
        return (SEVERITY_ORDER.get(self.severity, 9), KIND_ORDER.get(self.kind, 9), str(self.end_date), self.firm,
                self.statement or "", self.rule_id, self.code or "")


def money(value: int | None) -> str:
    return "blank" if value is None else f"{value:,}"


def _int(value: Any) -> int | None:
    if is_missing(value):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _day(value: Any) -> date:
    return value if isinstance(value, date) and not hasattr(value, "hour") else value.date()


def _head(row: dict) -> str:
    return f"{row['firm']}, {_day(row['end_date'])}, {row['statement']}"


def label_of(code: str, day: date) -> str:
    item = load_catalog().item(code, day)
    return item.label if item else "line not in the catalog"


def components_text(rule: Rule, row: dict) -> tuple[str, int | None]:
    """``7010 + 7020 - 7033 = 4,362 + 1,021 - 431 = 4,952`` and the expected total."""
    values = {code: _int(row.get(code_column(code))) for code in rule.codes}
    expected = rule.expected(values)
    if rule.op == "max":
        names = ", ".join(code for code, _ in rule.components)
        figures = ", ".join(money(values[code]) for code, _ in rule.components)
        return f"max({names}) = max({figures}) = {money(expected)}", expected
    names, figures = [], []
    for i, (code, weight) in enumerate(rule.components):
        sign = "" if i == 0 and weight > 0 else ("- " if weight < 0 else "+ ")
        names.append(f"{sign}{code}")
        figures.append(f"{sign}{money(values[code])}" if values[code] is None or values[code] >= 0
                       else f"{sign}({money(values[code])})")
    return f"{' '.join(names)} = {' '.join(figures)} = {money(expected)}", expected


class FindingBuilder:
    def __init__(self):
        self.rules = {r.rule_id: r for r in load_rules()}
        self.rule_by_total = {}
        for rule in self.rules.values():
            self.rule_by_total.setdefault((rule.statement, rule.total_code), rule)

    # -- the statement frame -------------------------------------------------------------------------
    def statement_findings(self, failures: list[tuple[dict, list[dict]]], rows: dict[tuple[str, str], dict]
                           ) -> list[Finding]:
        findings: list[Finding] = []
        explained: set[tuple[str, str, str]] = set()  # (filing, statement, rule) a sign flip explains
        sign_failures = [(m, r) for m, r in failures if m["kind"] == "sign"]
        other_failures = [(m, r) for m, r in failures if m["kind"] != "sign"]
        for meta, unexpected in sign_failures:
            for hit in unexpected:
                row = rows[(hit["filing_id"], hit["statement"])]
                finding, fixes = self._sign(meta, row)
                findings.append(finding)
                explained.update((row["filing_id"], row["statement"], rule_id) for rule_id in fixes)
        for meta, unexpected in other_failures:
            for hit in unexpected:
                row = rows[(hit["filing_id"], hit["statement"])]
                kind = meta["kind"]
                if kind == "arithmetic":
                    if (row["filing_id"], row["statement"], meta["check_id"]) not in explained:
                        findings.append(self._arithmetic(meta, row))
                elif kind == "completeness":
                    findings.append(self._completeness(meta, row))
                elif kind == "deficiency":
                    findings.append(self._deficiency(meta, row))
                elif kind == "target":
                    findings.append(self._target(meta, row))
        return findings

    def _finding(self, meta: dict, row: dict, code: str | None, reported, expected, message: str) -> Finding:
        difference = None if reported is None or expected is None else reported - expected
        return Finding(meta["kind"], meta["check_id"], meta["severity"], row["firm"], _day(row["end_date"]),
                       row.get("statement"), code, reported, expected, difference, row.get("filing_id"), message)

    def _arithmetic(self, meta: dict, row: dict) -> Finding:
        rule = self.rules[meta["check_id"]]
        reported = _int(row.get(code_column(rule.total_code)))
        text, expected = components_text(rule, row)
        off = None if reported is None or expected is None else reported - expected
        message = (f"{_head(row)}: {rule.rule_id} does not tie: {rule.total_code} "
                   f"({label_of(rule.total_code, _day(row['end_date']))}) is {money(reported)} but {text}; "
                   f"off by {money(off)} (tolerance {rule.tolerance})")
        return self._finding(meta, row, rule.total_code, reported, expected, message)

    def _sign(self, meta: dict, row: dict) -> tuple[Finding, list[str]]:
        code = meta["code"]
        value = _int(row.get(code_column(code)))
        day = _day(row["end_date"])
        fixes, still_ties, breaks = [], [], []
        for rule in self.rules.values():
            weights = dict(rule.components)
            if rule.statement != row["statement"] or code not in weights or not rule.applies_on(day):
                continue
            values = {c: _int(row.get(code_column(c))) for c in rule.codes}
            expected, total = rule.expected(values), values[rule.total_code]
            if expected is None or total is None:
                continue
            flipped = rule.expected({**values, code: -value})
            if abs(total - expected) <= rule.tolerance:
                still_ties.append(rule.rule_id)
            elif flipped is not None and abs(total - flipped) <= rule.tolerance:
                fixes.append(rule.rule_id)
            else:
                breaks.append(rule.rule_id)
        verdict = []
        if fixes:
            verdict.append(f"flipping its sign makes {', '.join(fixes)} tie (so that break is the sign, not the "
                           "figures)")
        if still_ties:
            verdict.append(f"{', '.join(still_ties)} ties as filed, so the total was also computed with the "
                           "positive figure")
        if breaks:
            verdict.append(f"flipping it would not make {', '.join(breaks)} tie")
        message = (f"{_head(row)}: {code} ({label_of(code, day)}) is filed as +{money(value)}; the form enters "
                   f"it as a negative number; " + ("; ".join(verdict) or "no identity uses it on this date"))
        return self._finding(meta, row, code, value, 0, message), fixes

    def _completeness(self, meta: dict, row: dict) -> Finding:
        day = _day(row["end_date"])
        required = load_catalog().required_codes(row["statement"], day)
        missing = [c for c in required if _int(row.get(code_column(c))) is None]
        present = len(required) - len(missing)
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        message = (f"{_head(row)}: the statement lacks {len(missing)} of the {len(required)} lines its era of the "
                   f"form requires ({shown}); the identities that need them were not evaluated")
        return self._finding(meta, row, None, present, len(required), message)

    def _deficiency(self, meta: dict, row: dict) -> Finding:
        code = meta["code"]
        value = _int(row.get(code_column(code)))
        rule = self.rule_by_total.get((row["statement"], code))
        detail = f" ({components_text(rule, row)[0]})" if rule else ""
        message = (f"{_head(row)}: DEFICIENCY: excess {code} is {money(value)}{detail}: the firm holds less than "
                   "it owes its customers and must notify the CFTC and its DSRO at once")
        return self._finding(meta, row, code, value, 0, message)

    def _target(self, meta: dict, row: dict) -> Finding:
        code, excess_code = meta["code"], meta["condition_code"]
        value = _int(row.get(code_column(code)))
        rule = self.rule_by_total.get((row["statement"], code))
        detail = f" ({components_text(rule, row)[0]})" if rule else ""
        excess = _int(row.get(code_column(excess_code)))
        message = (f"{_head(row)}: excess {excess_code} = {money(excess)} is under the management target by "
                   f"{money(-value if value is not None else None)}: {code} is {money(value)}{detail}")
        return self._finding(meta, row, code, value, 0, message)

    # -- the other frames ----------------------------------------------------------------------------
    def anomaly_findings(self, failures, rows: dict[tuple, dict]) -> list[Finding]:
        findings = []
        for meta, unexpected in failures:
            for hit in unexpected:
                row = rows[(hit["firm"], _day(hit["end_date"]), hit["statement"])]
                excess, prev = _int(row["excess"]), _int(row["prev_excess"])
                change = 100.0 * (excess - prev) / prev
                message = (f"{_head(row)}: excess {meta['code']} fell {-change:.1f}% in a day, from {money(prev)} on "
                           f"{row['prev_end_date']} to {money(excess)} (more than {-meta['threshold_pct']:.0f}% "
                           "of residual interest needs senior approval and notice)")
                findings.append(self._finding(meta, row, meta["code"], excess, prev, message))
        return findings

    def freshness_findings(self, failures, rows: dict[tuple, dict]) -> list[Finding]:
        """One finding per firm and day, of the most severe freshness check it fails (a firm three days
        overdue is an error, not also a warning)."""
        worst: dict[tuple, tuple[dict, dict]] = {}
        for meta, unexpected in failures:
            for hit in unexpected:
                key = (hit["firm"], _day(hit["end_date"]))
                if key not in worst or SEVERITY_ORDER.get(meta["severity"], 9) < \
                        SEVERITY_ORDER.get(worst[key][0]["severity"], 9):
                    worst[key] = (meta, rows[key])
        findings = []
        for meta, row in worst.values():
            gone = int(row["missing_days"])
            if gone <= 1:
                message = (f"{row['firm']}, {row['end_date']}: no filing for this business day; the firm filed for "
                           f"{row['prev_end_date']}")
            else:
                message = (f"{row['firm']}, {row['end_date']}: no filing for {gone} business days in a row; the firm "
                           f"last filed for {row['prev_end_date']}")
            if meta["severity"] in ("error", "critical"):
                message += f" (overdue: {meta['threshold_days']} business days without a filing is an error)"
            findings.append(Finding("freshness", meta["check_id"], meta["severity"], row["firm"],
                                    _day(row["end_date"]), None, None, None, None, None, None, message))
        return findings


    def reconciliation_findings(self, failures, rows: dict[tuple, dict]) -> list[Finding]:
        findings = []
        for meta, unexpected in failures:
            for hit in unexpected:
                row = rows[(hit["cftc_firm"], _day(hit["as_of_date"]), hit["statement"], hit["measure"])]
                day = _day(row["daily_end_date"])
                code = figure_code(row["statement"], row["measure"], day)
                daily, cftc = _int(row["daily_value"]), _int(row["cftc_value"])
                named = "" if row["cftc_firm"] == row["firm"] else f" (as {row['cftc_firm']})"
                message = (f"{row['firm']}, {day}, {row['statement']}: the daily filing's {row['measure']} {code} is "
                           f"{money(daily)} but the CFTC's monthly file as of {_day(row['as_of_date'])}{named} states "
                           f"{money(cftc)}; the filing is off by {money(daily - cftc)} (threshold "
                           f"{money(meta['tolerance'])})")
                findings.append(Finding("reconciliation", meta["check_id"], meta["severity"], row["firm"], day,
                                        row["statement"], code, daily, cftc, daily - cftc,
                                        row.get("filing_id") or None, message))
        return findings


def figure_code(statement: str, measure: str, day: date) -> str | None:
    """The line of ``statement`` that carries the headline figure ``measure`` on End Date ``day`` (the
    catalog's ``figure`` column): 7060 for the segregation requirement; 7770, else 7370, for 30.7 funds."""
    catalog = load_catalog()
    for figure in (measure, f"{measure}_summary"):
        for item in catalog.items:
            if item.statement == statement and item.figure == figure and item.applies_on(day):
                return item.code
    return None


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.key)


def rows_by_key(frame, key_columns: list[str]) -> dict[tuple, dict]:
    """A frame's rows as dicts keyed by the given columns (dates as ``date``)."""
    out = {}
    for record in frame.to_dict("records"):
        key = tuple(_day(record[c]) if c.endswith("date") else record[c] for c in key_columns)
        out[key if len(key) > 1 else key[0]] = record
    return out
