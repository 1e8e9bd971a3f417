"""One synthetic filing's values: a firm's balances day by day, every identity tying.

* ``build_values`` gives one firm's coded values for one End Date, as a random walk from the day
  before, with every identity of ``expectations/rules.csv`` tying exactly;
* ``amend_values`` changes some of a filing's figures the way an AMENDED filing does, still tying.

The generator only decides the lines nobody computes (the leaves, ``etl.synthetic.plan``); every total
is computed from its components.
"""

from __future__ import annotations

import math
import random
from datetime import date

from etl.form.catalog import STATEMENTS
from etl.synthetic.firms import SMALLEST_REQUIREMENT, FirmProfile
from etl.synthetic.plan import (ADJUSTMENT, ALTERNATIVE, HOLDING, MAIN, OFFSET, SHORT, SWING, TARGET,
                                StatementPlan, evaluate_totals, statement_plan)
from etl.synthetic.render import CoverPage

Values = dict[str, dict[str, int]]

# -- one filing's values ---------------------------------------------------------------------------------
# Where a firm keeps customer money, by the catalog's location column: (weight for a clearing firm,
# weight for a firm carried by other FCMs). Higher weight: used more often and holding more.
LOCATION_MIX = {
    "bank": (3.0, 2.0),
    "clearing_org": (6.0, 0.0),
    "other_fcm": (0.4, 6.0),
    "options": (0.3, 0.2),
    "foreign_broker": (4.0, 4.0),
    "other_depository": (0.1, 0.0),
    "on_hand": (0.02, 0.01),
}
DEFAULT_LOCATION_WEIGHT = (0.3, 0.3)
EXCESS_RANGE = (0.01, 0.10)
TARGET_HEADROOM = 1.5      # excess stays at least this multiple of the target share
TARGET_REVIEW = 0.2        # a fixed-dollar target is revised when the requirement drifts this far (log)


def _usage_probability(size: float) -> float:
    """Chance that a firm of this statement size uses a minor line at all (small firms leave zeros)."""
    return min(0.9, max(0.3, 0.3 + 0.15 * math.log10(max(size, 1.0) / SMALLEST_REQUIREMENT)))


def _round_sig(x: float, digits: int = 2) -> int:
    if x <= 0:
        return 0
    magnitude = 10 ** max(0, int(math.floor(math.log10(x))) - digits + 1)
    return int(round(x / magnitude) * magnitude)


def _new_statement_state(firm: FirmProfile, rng: random.Random) -> dict:
    """A statement's walk on its first day: size, excess and target shares around the firm's own."""
    target_pct = min(firm.target_pct * rng.uniform(0.7, 1.2), EXCESS_RANGE[1] / (TARGET_HEADROOM * 1.1))
    floor = max(EXCESS_RANGE[0], TARGET_HEADROOM * target_pct)
    base = min(EXCESS_RANGE[1], max(floor, firm.excess_pct * rng.uniform(0.75, 1.3)))
    return {"log_scale": rng.gauss(0, 0.04), "excess_pct": base, "excess_base": base, "excess_floor": floor,
            "target_pct": target_pct, "target_ref": None, "leaf": {}, "funds_ready": False}


def _step_statement(st: dict, rng: random.Random) -> None:
    st["log_scale"] = 0.97 * st["log_scale"] + rng.gauss(0, 0.015)
    old = st["excess_pct"]
    p = old + 0.1 * (st["excess_base"] - old) + rng.gauss(0, 0.003)
    # A real firm rarely moves its residual interest by a quarter in a day (that needs senior approval
    # and notice): keep the walk within 12% a day so only planted anomalies trip the 25% check.
    p = min(1.12 * old, max(0.88 * old, p))
    st["excess_pct"] = min(EXCESS_RANGE[1], max(st["excess_floor"], p))


def _new_leaf(kind: str, size: float, funds_side: bool, rng: random.Random) -> list[float]:
    """The persistent state of one line: [mean, current] in the unit its kind is drawn in."""
    used = rng.random() < _usage_probability(size)
    if kind == SWING:
        sd = rng.uniform(0.002, 0.02) if funds_side else rng.uniform(0.02, 0.12)
        return [sd if used else 0.0, rng.gauss(0, sd) if used else 0.0]
    if kind == OFFSET:
        frac = rng.uniform(0.5, 0.98)
        return [frac, frac]
    if kind == ALTERNATIVE:
        ratio = rng.uniform(0.8, 0.99) if rng.random() < 0.9 else rng.uniform(1.0, 1.05)
        return [ratio, ratio]
    if kind == ADJUSTMENT:
        share = 10 ** rng.uniform(-3.5, -2) if used or size > 1e9 else 0.0
        return [share, share]
    if kind == SHORT:
        share = rng.uniform(0.001, 0.02) if used else 0.0
        return [share, share]
    share = rng.uniform(0.02, 0.3) if used else 0.0  # a requirement-side holding (securities, options)
    return [share, share]


def _step_leaf(kind: str, leaf: list[float], rng: random.Random) -> float:
    """Move one line a day along its walk; returns today's share, fraction or ratio."""
    mean, current = leaf
    if mean == 0.0:
        return 0.0
    if kind == SWING:
        leaf[1] = 0.9 * current + rng.gauss(0, mean * 0.44)
    elif kind in (OFFSET, ALTERNATIVE):
        leaf[1] = min(1.05 if kind == ALTERNATIVE else 1.0, max(0.05, current + 0.15 * (mean - current)
                                                                 + rng.gauss(0, 0.015)))
    else:
        leaf[1] = current * math.exp(0.1 * math.log(mean / current) + rng.gauss(0, 0.04))
    return leaf[1]


def _allocate_funds(firm: FirmProfile, plan: StatementPlan, size: float, st: dict, rng: random.Random) -> None:
    """Decide once where this firm keeps the statement's money: a mean share for each funds holding."""
    holdings = [c for c in plan.leaves if plan.kind[c] == HOLDING and plan.location[c]]
    by_location: dict[str, list[str]] = {}
    for code in holdings:
        by_location.setdefault(plan.location[code], []).append(code)
    column = 0 if firm.clearing else 1
    weights: dict[str, float] = {}
    for loc in by_location:
        w = LOCATION_MIX.get(loc, DEFAULT_LOCATION_WEIGHT)[column]
        if w > 0 and rng.random() < min(1.0, w / 1.5):
            weights[loc] = rng.gammavariate(w, 1.0)
    if not weights:
        loc = max(by_location, key=lambda name: LOCATION_MIX.get(name, DEFAULT_LOCATION_WEIGHT)[column])
        weights[loc] = 1.0
    shares: dict[str, float] = {}
    p_used = _usage_probability(size)
    for loc, codes in by_location.items():
        inner = [rng.gammavariate(1.0, 1.0) if (i == 0 or rng.random() < p_used) else 0.0
                 for i in range(len(codes))]
        for code, w in zip(codes, inner):
            shares[code] = weights.get(loc, 0.0) * w
    total = sum(shares.values()) or 1.0
    partners = set(plan.partner.values())
    for code in holdings:
        share = shares[code] / total
        st["leaf"][code] = [share, share]
    candidates = [c for c in holdings if c not in partners and plan.funds_weights.get(c) == 1]
    st["balancing"] = max(candidates, key=lambda c: shares[c]) if candidates else None
    st["funds_ready"] = True


def _leaf_state(st: dict, code: str, kind: str, size: float, funds_side: bool, rng: random.Random) -> list[float]:
    leaf = st["leaf"].get(code)
    if leaf is None:
        leaf = st["leaf"][code] = _new_leaf(kind, size, funds_side, rng)
    return leaf


def _draw_side(plan: StatementPlan, codes: list[str], scale: float, values: dict[str, int], st: dict,
               size: float, funds_side: bool, rng: random.Random) -> None:
    """Today's value of each listed leaf: holdings and swings in units of ``scale``, offsets of partners."""
    for code in codes:
        kind = plan.kind[code]
        x = _step_leaf(kind, _leaf_state(st, code, kind, size, funds_side, rng), rng)
        if kind == OFFSET:
            values[code] = -int(round(abs(values.get(plan.partner[code], 0)) * x))
        elif kind == SHORT:
            values[code] = -int(round(scale * x))
        else:
            values[code] = int(round(scale * x))


def _balance(values: dict[str, int], weights: dict[str, int], balancing: str, goal: int,
             adjustable: list[str]) -> None:
    """Set ``balancing`` so the weighted sum hits ``goal``; shrink the others if it would go negative."""
    for _ in range(40):
        rest = sum(w * values[c] for c, w in weights.items() if c != balancing)
        value = (goal - rest) * weights[balancing]
        if value >= 0 or not adjustable:
            values[balancing] = value
            return
        for code in adjustable:
            values[code] = int(values[code] / 2)
    values[balancing] = (goal - sum(w * values[c] for c, w in weights.items() if c != balancing)) * weights[balancing]


def _target_amount(firm: FirmProfile, st: dict, requirement: int, excess: int) -> int:
    """Today's management target, and its cover-page description kept in the state."""
    pct = st["target_pct"]
    ref = st["target_ref"]
    if ref is None or abs(math.log(max(requirement, 1) / ref)) > TARGET_REVIEW:
        st["target_ref"] = ref = max(requirement, 1)
        st["target_fixed"] = _round_sig(pct * ref)
    if firm.target_style == "percent":
        target = int(round(pct * requirement))
        st["target_text"] = f"b. Minimum percentage of funds required: {pct * 100:.1f}%"
    else:
        target = st["target_fixed"]
        if firm.target_style == "range":
            st["target_text"] = (f"c. Dollar amount range between: {target:,} and "
                                 f"{_round_sig(target * 1.5):,}")
        else:
            st["target_text"] = f"a. Minimum dollar amount: {target:,}"
    if target >= excess:  # never expected (the excess floor sits above the target); keep it true anyway
        target = excess * 3 // 4
    return target


def _zero_statement(plan: StatementPlan, st: dict) -> dict[str, int]:
    st["target_text"] = "a. Minimum dollar amount: 0"
    return {code: 0 for code in plan.codes}


def _statement_values(firm: FirmProfile, plan: StatementPlan, rng: random.Random, st: dict) -> dict[str, int]:
    size = firm.seg_size * firm.share_of(plan.statement)
    if size <= 0:
        return _zero_statement(plan, st)
    _step_statement(st, rng)
    goal = int(round(size * math.exp(st["log_scale"])))
    values: dict[str, int] = {}

    # The requirement: every line a share of today's size, the main line takes the remainder.
    requirement_side = [c for c in plan.leaves if plan.location[c] is None
                        and plan.kind[c] not in (MAIN, TARGET, ALTERNATIVE)]
    _draw_side(plan, requirement_side, goal, values, st, size, False, rng)
    main = next((c for c in plan.leaves if plan.kind[c] == MAIN), None)
    if main is None:
        raise ValueError(f"the {plan.statement} statement has no requirement line to draw")
    _balance(values, plan.requirement_weights, main, goal, [])
    evaluate_totals(values, plan, partial=True)
    for identity in plan.order:  # alternatives: near the amount their max identity compares them with
        if identity.op != "max":
            continue
        others = [values[c] for c, _ in identity.components if c in values]
        for code, _ in identity.components:
            if code not in values and plan.kind.get(code) == ALTERNATIVE:
                ratio = _step_leaf(ALTERNATIVE, _leaf_state(st, code, ALTERNATIVE, size, False, rng), rng)
                values[code] = int(round(max(others, default=goal) * ratio))
    evaluate_totals(values, plan, partial=True)
    requirement = values[plan.requirement]

    # The funds: the requirement plus today's excess, spread over where the firm keeps money.
    excess = int(round(requirement * st["excess_pct"]))
    funds_goal = requirement + excess
    if not st["funds_ready"]:
        _allocate_funds(firm, plan, size, st, rng)
    funds_side = [c for c in plan.leaves if plan.location[c] is not None and c != st["balancing"]]
    _draw_side(plan, funds_side, funds_goal, values, st, size, True, rng)
    if st["balancing"] is not None:
        _balance(values, plan.funds_weights, st["balancing"], funds_goal,
                 [c for c in funds_side if plan.funds_weights.get(c)])
    for code in plan.targets:
        values[code] = _target_amount(firm, st, requirement, excess)
    evaluate_totals(values, plan)
    return {code: values[code] for code in plan.codes}


def build_values(firm: FirmProfile, end_date: date, rng: random.Random, state: dict) -> Values:
    """One filing's values: statement -> {code: whole dollars}, every identity tying.

    ``state`` carries the firm's balances from one End Date to the next (pass the same dict, starting
    empty, for consecutive days); ``rng`` drives the day's moves.
    """
    values: Values = {}
    for statement in STATEMENTS:
        plan = statement_plan(statement, end_date)
        if not plan.codes:
            continue
        st = state.get(statement)
        if st is None:
            st = state[statement] = _new_statement_state(firm, rng)
        values[statement] = _statement_values(firm, plan, rng, st)
    return values


def cover_page(firm: FirmProfile, state: dict) -> CoverPage:
    """The cover page matching the last ``build_values`` call for this firm's ``state``."""
    targets = tuple(state.get(s, {}).get("target_text", "") for s in STATEMENTS)
    return CoverPage(firm.contact_name, firm.contact_phone, firm.contact_email, targets)


def recompute_totals(values: Values, end_date: date) -> Values:
    """The same leaves with every total computed again from them."""
    out: Values = {}
    for statement, codes in values.items():
        plan = statement_plan(statement, end_date)
        leaves = {c: v for c, v in codes.items() if c in plan.leaves}
        evaluate_totals(leaves, plan)
        out[statement] = {c: leaves.get(c, codes.get(c)) for c in codes}
    return out


def amend_values(values: Values, end_date: date, rng: random.Random) -> Values:
    """An AMENDED version: one to three lines of a non-zero statement corrected, everything still tying."""
    statements = [s for s, codes in values.items() if any(codes.values())]
    if not statements:
        return {s: dict(codes) for s, codes in values.items()}
    statement = rng.choice(statements)
    plan = statement_plan(statement, end_date)
    codes = dict(values[statement])
    excess = min(abs(codes.get(e, 0)) for e in plan.excess)
    offsets_of = {p: o for o, p in plan.partner.items()}
    candidates = [c for c in plan.leaves if codes.get(c) and plan.kind[c] in (MAIN, HOLDING, SWING, ADJUSTMENT)]
    for code in rng.sample(candidates, min(len(candidates), rng.randint(1, 3))):
        old = codes[code]
        delta = int(rng.uniform(-1, 1) * min(0.05 * abs(old), 0.08 * excess)) or 1
        if plan.kind[code] != SWING and old + delta < 0:
            delta = -delta
        codes[code] = old + delta
        if code in offsets_of and old:
            offset = offsets_of[code]
            codes[offset] = int(round(codes[offset] * codes[code] / old))
    amended = {s: dict(c) for s, c in values.items()}
    amended[statement] = codes
    return recompute_totals(amended, end_date)


