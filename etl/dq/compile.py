"""Compiling the form's data files into what runs: the check-frame SQL view and the GX suites.

From ``rules.csv``, ``checks.csv`` and ``line_items.csv`` this module writes

* ``sql/views/010_dq_check_frame.sql``: one row per latest (filing, statement) with a column per line
  code (``c_7010``), one residual column per identity (``r_seg_net_equity`` = reported total minus what
  its components add up to, NULL when a part is missing or the rule is not in force), the target gaps
  (``t_target_seg``) and the count of lines the statement's era requires but lacks (``n_missing``);
* ``expectations/gx/*.json``: the Great Expectations suites that validate those columns (a residual
  within the rule's tolerance, an excess not below zero, a short-option line not above zero...).

Both files are generated and checked in for review; ``dailyseg rules compile`` regenerates them and a
test fails when they drift from the data files. The same view runs on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path

from etl.form.catalog import STATEMENTS, Catalog, load_catalog
from etl.dq.checks import Check, check_of_kind, load_checks
from etl.form.files import form_dir, sql_dir
from etl.form.rules import Rule, load_rules

FRAME_VIEW = "dq_check_frame"
FRAME_VIEW_FILE = "010_dq_check_frame.sql"
KEY_COLUMNS = ("filing_id", "firm", "end_date", "submit_date", "status", "statement")
SUITE_STATEMENTS = "dailyseg_statements"
SUITE_ANOMALIES = "dailyseg_anomalies"
SUITE_FRESHNESS = "dailyseg_freshness"
SUITE_RECONCILIATION = "dailyseg_reconciliation"


def code_column(code: str) -> str:
    return f"c_{code}"


def rule_column(rule: Rule) -> str:
    return "r_" + rule.rule_id.lower().replace("-", "_")


def check_column(check: Check, prefix: str) -> str:
    return f"{prefix}_" + check.check_id.lower().replace("-", "_")


def frame_codes(catalog: Catalog) -> list[str]:
    """Every coded line of the three statements, in catalog order."""
    return list(dict.fromkeys(i.code for i in catalog.items if i.code and i.statement in STATEMENTS))


def negative_codes(catalog: Catalog) -> list[str]:
    """Lines the form enters as negative numbers (short options, ``Less:`` offsets)."""
    return list(dict.fromkeys(i.code for i in catalog.items if i.code and i.sign == "negative"))


def _date(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _window(start: date | None, end: date | None) -> list[str]:
    parts = []
    if start:
        parts.append(f"end_date >= {_date(start)}")
    if end:
        parts.append(f"end_date <= {_date(end)}")
    return parts


def _residual_sql(rule: Rule) -> str:
    total = code_column(rule.total_code)
    present = [f"{code_column(code)} IS NOT NULL" for code in rule.codes]
    conditions = [f"statement = '{rule.statement}'", *present, *_window(rule.effective_from, rule.effective_to)]
    if rule.op == "max":
        expected = "GREATEST(" + ", ".join(code_column(c) for c, _ in rule.components) + ")"
    else:
        terms = [("+ " if w > 0 else "- ") + code_column(c) for c, w in rule.components]
        expected = " ".join(terms).removeprefix("+ ")
    condition = "\n             AND ".join(conditions)
    return f"CASE WHEN {condition}\n        THEN {total} - ({expected}) END AS {rule_column(rule)}"


def _missing_sql(catalog: Catalog) -> str:
    """Count of required lines a statement lacks (absent or blank), by era of the form."""
    by_statement: dict[str, dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
    windows: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for item in catalog.items:
        if item.code and item.statement in STATEMENTS:
            windows[(item.statement, item.code)].append((item.required_from, item.required_to))
    for (statement, code), spans in windows.items():
        by_statement[statement][tuple(sorted(spans, key=str))].append(code)
    branches = []
    for statement in STATEMENTS:
        terms = []
        for spans, codes in by_statement[statement].items():
            count = " + ".join(f"CAST({code_column(c) } IS NULL AS INTEGER)" for c in codes)
            if all(start is None and end is None for start, end in spans):
                terms.append(f"({count})")
            else:
                when = " OR ".join("(" + (" AND ".join(_window(s, e)) or "TRUE") + ")" for s, e in spans)
                terms.append(f"(CASE WHEN {when} THEN {count} ELSE 0 END)")
        branches.append(f"WHEN '{statement}' THEN\n            " + "\n          + ".join(terms))
    return "CASE statement\n        " + "\n        ".join(branches) + "\n        END AS n_missing"


def _frame_parts(catalog: Catalog | None, rules, checks) -> tuple[list[str], str, str]:
    """What both shapes of the frame share: the line codes, the pivot (a ``max(value) FILTER`` per
    code) and the computed columns (residuals, target gaps, missing lines)."""
    catalog = catalog or load_catalog()
    rules = rules if rules is not None else load_rules()
    checks = checks if checks is not None else load_checks()
    codes = frame_codes(catalog)
    pivot = ",\n           ".join(f"max(v.value) FILTER (WHERE v.code = '{c}') AS {code_column(c)}" for c in codes)
    computed = [_residual_sql(rule) for rule in rules]
    for check in checks:
        if check.kind == "target":
            computed.append(f"CASE WHEN statement = '{check.statement}' AND {code_column(check.condition_code)} >= "
                            f"{int(check.threshold)}\n        THEN {code_column(check.code)} END AS "
                            f"{check_column(check, 't')}")
    computed.append(_missing_sql(catalog))
    return codes, pivot, ",\n    ".join(computed)


def _statements_in() -> str:
    return ", ".join(f"'{s}'" for s in STATEMENTS)


def frame_view_sql(catalog: Catalog | None = None, rules=None, checks=None) -> str:
    _, pivot_sql, body = _frame_parts(catalog, rules, checks)
    keys = ", ".join(f"l.{k}" for k in KEY_COLUMNS)
    return f"""-- GENERATED by `dailyseg rules compile` from expectations/rules.csv, checks.csv and line_items.csv.
-- Do not edit: change the data files and regenerate (a test fails when this file drifts from them).
--
-- One row per latest version of each (filing, statement): a column per line code, one residual per
-- identity (reported total minus its components; NULL when a part is missing or the rule is not in
-- force on the End Date), target gaps, and how many lines the statement's era requires but lacks.

CREATE VIEW {FRAME_VIEW} AS
WITH by_code AS (
    SELECT {keys},
           count(v.code) AS n_values,
           {pivot_sql}
    FROM latest_statements l
    LEFT JOIN seg_values v ON v.filing_id = l.filing_id AND v.statement = l.statement
    WHERE l.statement IN ({_statements_in()})
    GROUP BY {keys}
)
SELECT by_code.*,
    {body}
FROM by_code;
"""


def frame_statements_sql() -> str:
    """The latest statements the frame covers, for End Dates between ``:start`` and ``:end``."""
    return (f"SELECT {', '.join(KEY_COLUMNS)} FROM latest_statements "
            f"WHERE statement IN ({_statements_in()}) AND end_date BETWEEN :start AND :end")


def frame_range_sql(columns: list[str] | None = None, statements_table: str | None = None,
                    catalog: Catalog | None = None, rules=None, checks=None) -> str:
    """The rows of the ``dq_check_frame`` view for End Dates between ``:start`` and ``:end``, computed
    the fast way for many filings: the values are pivoted per (filing, statement) first, then joined to
    the latest statements, instead of joining every value to its statement and grouping by all the
    statement's keys. The view keeps the join-first shape, which is the fast one for a few filings
    (looked up by key); a test checks both give the same rows.

    ``statements_table`` names a table already holding ``frame_statements_sql()``'s rows (PostgreSQL
    plans the pivot well only when it knows how many statements there are: analyzed, a table tells it).
    """
    codes, pivot_sql, body = _frame_parts(catalog, rules, checks)
    select = ", ".join(columns) if columns else "*"
    statements = statements_table or "statements"
    scope = "" if statements_table else f"""statements AS (
    {frame_statements_sql()}
),
"""
    return f"""WITH {scope}values_by_code AS (
    SELECT v.filing_id, v.statement,
           count(v.code) AS n_values,
           {pivot_sql}
    FROM seg_values v
    WHERE v.statement IN ({_statements_in()}) AND v.end_date BETWEEN :start AND :end
      AND v.filing_id IN (SELECT filing_id FROM {statements})
    GROUP BY v.filing_id, v.statement
),
by_code AS (
    SELECT {", ".join(f"s.{k}" for k in KEY_COLUMNS)}, coalesce(p.n_values, 0) AS n_values, {", ".join(f"p.{code_column(c)}" for c in codes)}
    FROM {statements} s
    LEFT JOIN values_by_code p ON p.filing_id = s.filing_id AND p.statement = s.statement
),
frame AS (
    SELECT by_code.*,
    {body}
    FROM by_code
)
SELECT {select} FROM frame"""


# -- the GX suites ------------------------------------------------------------------------------------------
def _between(column: str, meta: dict, min_value=None, max_value=None) -> dict:
    kwargs = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
    if max_value is not None:
        kwargs["max_value"] = max_value
    return {"type": "expect_column_values_to_be_between", "kwargs": kwargs, "meta": meta}


def suite_specs(catalog: Catalog | None = None, rules=None, checks=None) -> dict[str, list[dict]]:
    """The expectations of each suite as plain data (type, kwargs, meta), in a stable order."""
    catalog = catalog or load_catalog()
    rules = rules if rules is not None else load_rules()
    checks = checks if checks is not None else load_checks()
    statements: list[dict] = []
    for rule in rules:
        statements.append(_between(rule_column(rule), {
            "kind": "arithmetic", "check_id": rule.rule_id, "severity": rule.severity, "statement": rule.statement,
            "code": rule.total_code, "formula": rule.formula(), "tolerance": rule.tolerance,
            "description": rule.description}, min_value=-rule.tolerance, max_value=rule.tolerance))
    completeness = check_of_kind("completeness")
    statements.append(_between("n_missing", {
        "kind": "completeness", "check_id": completeness.check_id, "severity": completeness.severity,
        "description": completeness.description}, max_value=int(completeness.threshold)))
    for check in checks:
        if check.kind == "deficiency":
            statements.append(_between(code_column(check.code), {
                "kind": "deficiency", "check_id": check.check_id, "severity": check.severity,
                "statement": check.statement, "code": check.code, "description": check.description},
                min_value=int(check.threshold)))
        elif check.kind == "target":
            statements.append(_between(check_column(check, "t"), {
                "kind": "target", "check_id": check.check_id, "severity": check.severity,
                "statement": check.statement, "code": check.code, "condition_code": check.condition_code,
                "description": check.description}, min_value=int(check.threshold)))
    sign = check_of_kind("sign")
    for code in negative_codes(catalog):
        statements.append(_between(code_column(code), {
            "kind": "sign", "check_id": f"{sign.check_id}-{code}", "severity": sign.severity,
            "statement": catalog.statement_of[code], "code": code, "description": sign.description},
            max_value=int(sign.threshold)))
    anomalies = [_between(check_column(check, "chg"), {
        "kind": "anomaly", "check_id": check.check_id, "severity": check.severity, "statement": check.statement,
        "code": check.code, "threshold_pct": check.threshold, "description": check.description},
        min_value=check.threshold) for check in checks if check.kind == "anomaly"]
    fresh = [_between("missing_days", {
        "kind": "freshness", "check_id": check.check_id, "severity": check.severity,
        "threshold_days": int(check.threshold), "description": check.description},
        max_value=int(check.threshold) - 1) for check in checks if check.kind == "freshness"]
    reconciliation = [_between(check_column(check, "d"), {
        "kind": "reconciliation", "check_id": check.check_id, "severity": check.severity,
        "statement": check.statement, "tolerance": int(check.threshold), "description": check.description},
        min_value=-int(check.threshold), max_value=int(check.threshold))
        for check in checks if check.kind == "reconciliation"]
    return {SUITE_STATEMENTS: statements, SUITE_ANOMALIES: anomalies, SUITE_FRESHNESS: fresh,
            SUITE_RECONCILIATION: reconciliation}


def suite_json(name: str, expectations: list[dict]) -> str:
    return json.dumps({"name": name, "expectations": expectations, "meta": {
        "generated_from": ["expectations/rules.csv", "expectations/checks.csv", "expectations/line_items.csv"]}},
        indent=2, sort_keys=True) + "\n"


def artifact_paths() -> dict[Path, str]:
    """Every generated file and the content it should have now."""
    out = {sql_dir() / "views" / FRAME_VIEW_FILE: frame_view_sql()}
    for name, expectations in suite_specs().items():
        out[form_dir() / "gx" / f"{name}.json"] = suite_json(name, expectations)
    return out


def write_artifacts() -> list[Path]:
    """Regenerate the view and suites; return the files that changed."""
    changed = []
    for path, content in artifact_paths().items():
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            changed.append(path)
    return changed
