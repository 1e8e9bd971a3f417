"""The generated check-frame view and GX suites stay in step with the rule files."""

from __future__ import annotations

import json

from etl.form.catalog import load_catalog
from etl.dq.compile import (SUITE_STATEMENTS, artifact_paths, frame_view_sql, negative_codes, rule_column,
                            suite_specs)
from etl.dq.checks import load_checks
from etl.form.rules import load_rules


def test_checked_in_artifacts_match_the_rule_files():
    stale = [str(path) for path, content in artifact_paths().items()
             if not path.exists() or path.read_text(encoding="utf-8") != content]
    assert stale == [], "run: dailyseg rules compile"


def test_every_rule_has_a_residual_column_and_an_expectation():
    sql = frame_view_sql()
    specs = suite_specs()[SUITE_STATEMENTS]
    arithmetic = {s["meta"]["check_id"]: s for s in specs if s["meta"]["kind"] == "arithmetic"}
    for rule in load_rules():
        assert f"AS {rule_column(rule)}" in sql
        spec = arithmetic[rule.rule_id]
        assert spec["kwargs"] == {"column": rule_column(rule), "min_value": -rule.tolerance,
                                  "max_value": rule.tolerance}
        assert spec["meta"]["formula"] == rule.formula()


def test_every_check_and_negative_line_has_an_expectation():
    all_specs = [s for specs in suite_specs().values() for s in specs]
    ids = {s["meta"]["check_id"] for s in all_specs}
    for check in load_checks():
        if check.kind == "sign":
            assert {f"SIGN-{code}" for code in negative_codes(load_catalog())} <= ids
        else:
            assert check.check_id in ids
    assert {"7033", "7047", "7352", "7615", "8570"} <= set(negative_codes(load_catalog()))


def test_a_changed_tolerance_changes_the_suite(tmp_path, monkeypatch):
    from etl.form.rules import read_rules
    from etl.form.files import form_dir
    text = (form_dir() / "rules.csv").read_text().replace("SEG-EXCESS,segregation,7190,7180,+1,sum,2,",
                                                          "SEG-EXCESS,segregation,7190,7180,+1,sum,5,")
    text = text.replace("SEG-EXCESS,segregation,7190,7060,-1,sum,2,", "SEG-EXCESS,segregation,7190,7060,-1,sum,5,")
    (tmp_path / "rules.csv").write_text(text)
    rules = read_rules(tmp_path / "rules.csv")
    spec = next(s for s in suite_specs(rules=rules)[SUITE_STATEMENTS] if s["meta"]["check_id"] == "SEG-EXCESS")
    assert spec["kwargs"]["max_value"] == 5


def test_suite_json_is_what_gx_accepts():
    import great_expectations as gx
    from great_expectations.expectations.registry import get_expectation_impl
    gx.get_context(mode="ephemeral")
    for path, content in artifact_paths().items():
        if path.suffix != ".json":
            continue
        data = json.loads(content)
        suite = gx.ExpectationSuite(name=data["name"])
        for spec in data["expectations"]:
            suite.add_expectation(get_expectation_impl(spec["type"])(**spec["kwargs"], meta=spec["meta"]))
        assert len(suite.expectations) == len(data["expectations"]) > 0
