"""A corpus of generated filings with known, planted problems, and the findings each must produce.

Every planted problem sits in its own (firm, End Date) so the findings can be matched one to one. The
findings an identity break must cause are worked out here from the rules file (which identities no
longer tie once one value changes), independently of the SQL and GX that the product runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from etl.business_days import business_days, next_business_day
from etl.form.catalog import load_catalog
from etl.synthetic.files import generate_filings, write_filing
from etl.synthetic.firms import make_firms
from etl.synthetic.values import recompute_totals
from etl.ingest.parser import parse_filing
from etl.form.rules import Rule, load_rules

FIRMS = 8
SEED = 11
FULL_ERA = business_days(date(2016, 2, 1), date(2016, 2, 19))  # 15 business days
SUMMARY_ERA = business_days(date(2014, 12, 1), date(2014, 12, 5))


@dataclass
class Plant:
    firm: str
    end_date: date
    what: str
    expected: set[tuple[str, str | None]] = field(default_factory=set)  # (rule_id, statement)


@dataclass
class Corpus:
    landing: Path
    plants: list[Plant]

    def expected_findings(self) -> set[tuple[str, date, str, str | None]]:
        return {(p.firm, p.end_date, rule, statement) for p in self.plants for rule, statement in p.expected}


def _path(landing: Path, slug: str, day: date) -> Path:
    return landing / day.isoformat() / f"{slug}.txt"


def _read(path: Path) -> tuple:
    parsed = parse_filing(path.read_bytes())
    values: dict[str, dict[str, int]] = {}
    for v in parsed.values:
        values.setdefault(v.statement, {})[v.code] = v.value
    return parsed.header, values


def _write(path: Path, header, values, status: str | None = None, submit: date | None = None) -> None:
    write_filing(path, header.firm, header.end_date, submit or header.submit_date, status or header.status, values)


def breaking_rules(values: dict[str, dict[str, int]], statement: str, day: date) -> set[str]:
    """Identities of ``statement`` in force on ``day`` that do not tie on these values."""
    broken = set()
    for rule in load_rules():
        if rule.statement != statement or not rule.applies_on(day):
            continue
        codes = values.get(statement, {})
        if any(codes.get(c) is None for c in rule.codes):
            continue
        if abs(codes[rule.total_code] - rule.expected(codes)) > rule.tolerance:
            broken.add(rule.rule_id)
    return broken


def _code_to_change(rule: Rule, day: date) -> str:
    """The code of ``rule`` that appears in the fewest identities in force (never a max() alternative)."""
    in_force = [r for r in load_rules() if r.applies_on(day) and r.statement == rule.statement]
    candidates = [rule.total_code] if rule.op == "max" else list(rule.codes)
    return min(candidates, key=lambda c: (sum(c in r.codes for r in in_force), candidates.index(c)))


def _largest_funds_leaf(values: dict[str, int], statement: str, day: date) -> str:
    catalog = load_catalog()
    leaves = [i.code for i in catalog.layout(statement, day) if i.code and i.location and i.sign == "positive"]
    return max(leaves, key=lambda c: values.get(c) or 0)


def build(landing: Path) -> Corpus:
    generate_filings(landing, firms=FIRMS, start=FULL_ERA[0], end=FULL_ERA[-1], seed=SEED, amend_rate=0)
    generate_filings(landing, firms=FIRMS, start=SUMMARY_ERA[0], end=SUMMARY_ERA[-1], seed=SEED, amend_rate=0)
    firms = make_firms(FIRMS, SEED)
    plants: list[Plant] = []
    used: set[tuple[int, date]] = set()

    def take(firm_index: int, day: date) -> tuple[Path, object, dict]:
        used.add((firm_index, day))
        path = _path(landing, firms[firm_index].slug, day)
        header, values = _read(path)
        return path, header, values

    # A deficiency on the first day (no previous day in range, so no day-over-day drop either).
    day = FULL_ERA[0]
    path, header, values = take(2, day)
    seg = values["segregation"]
    leaf = _largest_funds_leaf(seg, "segregation", day)
    seg[leaf] -= seg["7190"] + 1_000_000
    values = recompute_totals(values, day)
    _write(path, header, values)
    plants.append(Plant(header.firm, day, "deficiency", {("DEFICIENCY-SEG", "segregation")}))

    # Excess under the management target, still positive: the target line raised above the excess.
    day = FULL_ERA[8]
    path, header, values = take(2, day)
    values["secured"]["7780"] = values["secured"]["7380"] + 5_000
    values = recompute_totals(values, day)
    _write(path, header, values)
    plants.append(Plant(header.firm, day, "below target", {("TARGET-SEC", "secured")}))

    # A 40% fall in segregation excess from the day before (target lowered so it stays met).
    day = FULL_ERA[5]
    path, header, values = take(0, day)
    seg = values["segregation"]
    drop = int(seg["7190"] * 0.4)
    seg[_largest_funds_leaf(seg, "segregation", day)] -= drop
    seg["7194"] = (seg["7190"] - drop) // 2
    values = recompute_totals(values, day)
    _write(path, header, values)
    plants.append(Plant(header.firm, day, "25% drop", {("ANOMALY-SEG", "segregation")}))

    # A missing day: the firm filed the day before and the day after, not this one.
    day = FULL_ERA[6]
    used.add((1, day))
    _path(landing, firms[1].slug, day).unlink()
    plants.append(Plant(firms[1].name, day, "missing day", {("FRESHNESS", None)}))

    # A "Less:" line filed positive, its subtotal computed as if it had been entered negative.
    for firm_index in range(FIRMS):
        day = FULL_ERA[1]
        path = _path(landing, firms[firm_index].slug, day)
        header, values = _read(path)
        if values["segregation"].get("7047"):
            used.add((firm_index, day))
            values["segregation"]["7047"] = -values["segregation"]["7047"]
            _write(path, header, values)
            plants.append(Plant(header.firm, day, "wrong sign", {("SIGN-7047", "segregation")}))
            break
    else:
        raise AssertionError("no generated firm offsets deficit accounts; cannot plant a wrong sign")

    # A file that stops in the middle of the segregation statement.
    day = FULL_ERA[3]
    used.add((4, day))
    path = _path(landing, firms[4].slug, day)
    text = path.read_text()
    seg_at = text.index("Daily Segregation - Segregation Statement")
    cut = text.index("[7100]", seg_at) + len("[7100]")
    path.write_text(text[:cut] + "\n")
    plants.append(Plant(firms[4].name, day, "truncated", {("COMPLETENESS", "segregation")}))

    # An INITIAL with a broken total, fixed by an AMENDED filing: nothing to report ...
    day = FULL_ERA[2]
    path, header, values = take(5, day)
    good = {s: dict(c) for s, c in values.items()}
    values["segregation"]["7040"] += 500
    _write(path, header, values)
    _write(path.with_name(path.stem + ".amended.txt"), header, good, status="AMENDED",
           submit=next_business_day(next_business_day(header.submit_date)))
    plants.append(Plant(header.firm, day, "amended fix", set()))
    # ... and the same break with no amendment: reported.
    day = FULL_ERA[4]
    path, header, values = take(5, day)
    values["segregation"]["7040"] += 500
    _write(path, header, values)
    plants.append(Plant(header.firm, day, "unfixed break",
                        {(r, "segregation") for r in breaking_rules(values, "segregation", day)}))

    # One break per identity: one value changed by one dollar more than the tolerance (so it cannot
    # move an excess enough to look like a withdrawal), and every identity that change unties is expected.
    full_slots = [(f, d) for f in (6, 7, 3, 5, 4, 1, 0, 2) for d in FULL_ERA if (f, d) not in used]
    summary_slots = [(f, d) for f in range(FIRMS) for d in SUMMARY_ERA]
    for rule in load_rules():
        on_form = set(load_catalog().required_codes(rule.statement, FULL_ERA[0]))
        slots = full_slots if set(rule.codes) <= on_form else summary_slots
        while True:  # a slot where the firm uses this statement (not an all-zero one)
            firm_index, day = slots.pop(0)
            path = _path(landing, firms[firm_index].slug, day)
            header, values = _read(path)
            if any(values.get(rule.statement, {}).values()):
                break
        used.add((firm_index, day))
        code = _code_to_change(rule, day)
        negative = load_catalog().item(code, day).sign == "negative"
        step = rule.tolerance + 1
        values[rule.statement][code] += -step if negative else step
        _write(path, header, values)
        broken = breaking_rules(values, rule.statement, day)
        assert rule.rule_id in broken, f"planting on {code} does not break {rule.rule_id}"
        plants.append(Plant(header.firm, day, f"identity {rule.rule_id} ({code} changed)",
                            {(r, rule.statement) for r in broken}))
    # Within the tolerance (rounding): not a finding.
    firm_index, day = full_slots.pop(0)
    path, header, values = take(firm_index, day)
    values["segregation"]["7010"] += 2
    _write(path, header, values)
    plants.append(Plant(header.firm, day, "rounding within tolerance", set()))

    # The 2014 window ends on a Friday: every firm filed then and (in this corpus) never again. Missing
    # on Monday and Tuesday is a warning; on the third business day it is overdue, an error; after
    # that the firms are no longer expected.
    monday = next_business_day(SUMMARY_ERA[-1])
    tuesday = next_business_day(monday)
    wednesday = next_business_day(tuesday)
    for day, rule in ((monday, "FRESHNESS"), (tuesday, "FRESHNESS"), (wednesday, "FRESHNESS-OVERDUE")):
        plants += [Plant(firm.name, day, "end of the 2014 window", {(rule, None)}) for firm in firms]
    return Corpus(landing, plants)
