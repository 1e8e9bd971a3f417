"""Reading the rules file: identities as data, malformed rows refused with their row number."""

from __future__ import annotations

import pytest

from etl.form.rules import RulesError, load_rules, read_rules

HEADER = "rule_id,statement,total_code,component_code,weight,op,tolerance,severity,effective_from,effective_to,description\n"


def test_every_identity_of_the_reference_is_there():
    rules = {r.rule_id: r for r in load_rules()}
    assert rules["SEG-NET-EQUITY"].formula() == "7040 = 7010 + 7020 + 7030 + 7032 + 7033"
    assert rules["SEG-EXCESS"].formula() == "7190 = 7180 - 7060"
    assert rules["SEC-REQUIRED-MAX"].formula() == "7360 = max(7305, 7355)"
    assert rules["SEC-SUMMARY-FUNDS"].formula() == "7370 = 7770"
    assert rules["SWP-FUNDS-TOTAL"].formula().count("+") == 12
    assert all(r.tolerance == 2 and r.severity == "error" for r in rules.values())
    assert len(rules) == 26


def test_expected_is_none_when_a_part_is_missing():
    rule = next(r for r in load_rules() if r.rule_id == "SEG-EXCESS")
    assert rule.expected({"7180": 10, "7060": 4}) == 6
    assert rule.expected({"7180": 10}) is None
    assert rule.expected({"7180": 10, "7060": None}) is None


@pytest.mark.parametrize("row, message", [
    ("R,segregation,7040,7010,+2,sum,2,error,,,x", "weight must be"),
    ("R,segregation,7040,7010,+1,avg,2,error,,,x", "op must be"),
    ("R,segregation,7040,7010,+1,sum,2,fatal,,,x", "severity must be"),
    ("R,segregation,7040,7010,+1,sum,2,error,2016-13-01,,x", "not an ISO date"),
])
def test_malformed_rows_are_refused_with_their_row(tmp_path, row, message):
    path = tmp_path / "rules.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(RulesError, match=message) as caught:
        read_rules(path)
    assert "row 2" in str(caught.value)


def test_rows_of_one_rule_must_agree(tmp_path):
    path = tmp_path / "rules.csv"
    path.write_text(HEADER + "R,segregation,7040,7010,+1,sum,2,error,,,x\nR,segregation,7041,7020,+1,sum,2,error,,,x\n")
    with pytest.raises(RulesError, match="disagree"):
        read_rules(path)
