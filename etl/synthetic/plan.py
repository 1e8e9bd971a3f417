"""The shape of one statement on one End Date, as the synthetic filings need it.

``statement_plan(statement, day)`` derives, once per era, which codes a statement carries (from the
line-item catalog's ``required_from``/``required_to`` windows), every identity that applies (from the
rules file), one identity per total in dependency order, and what kind of line each leaf is: from the
catalog's sign and location columns and the identities, which line is the requirement, which the funds
and the excess, and which the management target. ``evaluate_totals`` computes every total from its
leaves. The form is not described here: a correction to the catalog or the rules changes the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from etl.form.catalog import LineItem, load_catalog
from etl.form.rules import Rule, load_rules

# -- what one statement looks like in one era -----------------------------------------------------------
# Leaf kinds: how the generator draws a line nobody computes.
MAIN = "main"                # the requirement's largest line (net ledger cash); takes the remainder
HOLDING = "holding"          # money held or owed: a persistent share of the statement's size
ADJUSTMENT = "adjustment"    # a small requirement line with its own subtotal (deficit accounts)
SWING = "swing"              # either sign, moving around zero (unrealized P&L, daily settlement)
OFFSET = "offset"            # negative, a fraction of the positive line printed just before it
SHORT = "short"              # negative with no partner line: a small negative share
ALTERNATIVE = "alternative"  # a component of a max identity: another measure of the same amount
TARGET = "target"            # the management target amount


@dataclass
class StatementPlan:
    """Everything the generator needs to know about one statement on one End Date, derived once."""

    statement: str
    codes: tuple[str, ...]                 # print order
    identities: tuple[Rule, ...]       # every identity that applies
    order: tuple[Rule, ...]            # one identity per total, in dependency order
    leaves: tuple[str, ...]                # codes no identity computes, print order
    kind: dict[str, str]
    partner: dict[str, str]                # offset -> the line it offsets
    location: dict[str, str | None]
    requirement: str
    funds: str
    excess: tuple[str, ...]
    targets: tuple[str, ...]
    requirement_weights: dict[str, int]    # leaf -> weight in the requirement (linear branch)
    funds_weights: dict[str, int]          # leaf -> weight in the funds total


_PLANS: dict[tuple, StatementPlan] = {}


@lru_cache(maxsize=1)
def _era_boundaries() -> tuple[date, ...]:
    """The dates on which some catalog row or identity starts or stops applying."""
    days: set[date] = set()
    for item in load_catalog().items:
        days.update(d for d in (item.required_from, item.required_to) if d)
    for identity in load_rules():
        days.update(d for d in (identity.effective_from, identity.effective_to) if d)
    return tuple(sorted(days))


def statement_plan(statement: str, day: date) -> StatementPlan:
    """The plan of ``statement`` for End Date ``day`` (cached per era)."""
    key = (statement, tuple(day >= b for b in _era_boundaries()), tuple(day > b for b in _era_boundaries()))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _build_plan(statement, day)
    return plan


def _dependency_order(identities: list[Rule]) -> list[Rule]:
    """One identity per total, each after the identities computing its components."""
    totals = {i.total_code for i in identities}
    known: set[str] = set()
    order: list[Rule] = []
    pending = list(identities)
    while pending:
        ready = [i for i in pending if i.total_code not in known
                 and all(c in known or c not in totals for c, _ in i.components)]
        if not ready:
            left = [i for i in pending if i.total_code not in known]
            if not left:
                break
            raise ValueError(f"rules.csv: identities {sorted({i.rule_id for i in left})} depend on each other")
        for identity in ready:
            if identity.total_code not in known:
                order.append(identity)
                known.add(identity.total_code)
        pending = [i for i in pending if i.total_code not in known]
    return order


def _expand(code: str, defining: dict[str, Rule], linear: bool, weight: int = 1,
            out: dict[str, int] | None = None) -> dict[str, int]:
    """The leaves a code is computed from, with their net weights.

    ``linear``: through a max identity follow only its computed components (the leaf components are
    alternatives to them), so the result is the branch that is a plain sum.
    """
    out = {} if out is None else out
    identity = defining.get(code)
    if identity is None:
        out[code] = out.get(code, 0) + weight
        return out
    components = identity.components
    if identity.op == "max" and linear:
        components = tuple(c for c in components if c[0] in defining) or components[:1]
    for component, w in components:
        _expand(component, defining, linear, weight * w, out)
    return out


def _build_plan(statement: str, day: date) -> StatementPlan:
    items = [i for i in load_catalog().layout(statement, day) if i.code]
    codes = tuple(i.code for i in items)
    present = set(codes)
    identities = [i for i in load_rules()
                  if i.statement == statement and i.applies_on(day)
                  and i.total_code in present and all(c in present for c, _ in i.components)]
    order = _dependency_order(identities)
    defining = {i.total_code: i for i in order}
    leaves = tuple(c for c in codes if c not in defining)
    item_of = {i.code: i for i in items}
    location = {c: item_of[c].location for c in codes}

    def side(code: str) -> str:
        located = {location[leaf] is not None for leaf in _expand(code, defining, linear=False)}
        return "funds" if located == {True} else "requirement" if located == {False} else "mixed"

    excess_rules = []
    for identity in identities:
        weights = dict((w, c) for c, w in identity.components)
        if (identity.op == "sum" and len(identity.components) == 2 and set(weights) == {1, -1}
                and side(weights[1]) == "funds" and side(weights[-1]) == "requirement"):
            excess_rules.append((identity.total_code, weights[1], weights[-1]))
    if not excess_rules:
        raise ValueError(f"rules.csv: no identity gives the excess of the {statement} statement on {day}")
    excess = tuple(dict.fromkeys(total for total, _, _ in excess_rules))
    _, funds, requirement = excess_rules[0]

    targets = []
    for identity in identities:
        weights = dict((w, c) for c, w in identity.components)
        if (identity.op == "sum" and len(identity.components) == 2 and set(weights) == {1, -1}
                and weights[1] in excess and weights[-1] not in defining):
            targets.append(weights[-1])
    alternatives = {c for i in identities if i.op == "max" for c, _ in i.components
                    if c not in defining and any(o in defining for o, _ in i.components)}

    kind, partner = _leaf_kinds(items, leaves, set(defining), set(targets), alternatives)
    return StatementPlan(
        statement=statement, codes=codes, identities=tuple(identities), order=tuple(order), leaves=leaves,
        kind=kind, partner=partner, location=location, requirement=requirement, funds=funds, excess=excess,
        targets=tuple(targets),
        requirement_weights=_expand(requirement, defining, linear=True),
        funds_weights=_expand(funds, defining, linear=True),
    )


def _group(line: str) -> str:
    """The numbered group a catalog line belongs to: "3.B" -> "3", "F3.E" -> "F3"."""
    return line.partition(".")[0]


def _leaf_kinds(items: list[LineItem], leaves: tuple[str, ...], totals: set[str], targets: set[str],
                alternatives: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """How each leaf is drawn, from the catalog's sign and location columns and the line groups."""
    leaf_set = set(leaves)
    coded_in_group: dict[str, list[str]] = {}
    for item in items:
        coded_in_group.setdefault(_group(item.line), []).append(item.code)
    kind: dict[str, str] = {}
    partner: dict[str, str] = {}
    positive_before: dict[str, str] = {}  # group -> last positive leaf printed so far
    main_found = False
    for item in items:
        code, group = item.code, _group(item.line)
        if code not in leaf_set:
            continue
        siblings = coded_in_group[group]
        if code in targets:
            kind[code] = TARGET
        elif code in alternatives:
            kind[code] = ALTERNATIVE
        elif item.sign == "negative":
            if group in positive_before:
                kind[code], partner[code] = OFFSET, positive_before[group]
            else:
                kind[code] = SHORT
        elif item.sign == "either" and not (len(siblings) > 1 and siblings[0] == code):
            kind[code] = SWING
        elif item.location is None and not main_found:
            kind[code], main_found = MAIN, True
        elif item.location is None and any(s in totals for s in siblings):
            kind[code] = ADJUSTMENT
        else:
            kind[code] = HOLDING
        if item.sign == "positive" and kind[code] in (HOLDING, ADJUSTMENT):
            positive_before[group] = code
    return kind, partner


def evaluate_totals(values: dict[str, int], plan: StatementPlan, partial: bool = False) -> dict[str, int]:
    """Fill in every total of ``plan`` from its components (skipping ones not ready when ``partial``)."""
    for identity in plan.order:
        if identity.total_code in values:
            continue
        if partial and any(c not in values for c, _ in identity.components):
            continue
        values[identity.total_code] = identity.expected(values)
    return values


