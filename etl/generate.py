"""Synthetic Daily Seg filings: a universe of firms, their balances day by day, and files on disk.

This module owns the synthetic data of dailyseg:

* ``make_firms`` draws a realistic industry of futures commission merchants (names, sizes from a
  small retail FCM to the largest clearing firms, a concentrated top five, who clears swaps);
* ``build_values`` gives one firm's coded values for one End Date, as a random walk from the day
  before, with every identity of ``expectations/rules.csv`` tying exactly;
* ``amend_values`` changes some of a filing's figures the way an AMENDED filing does, still tying;
* ``generate_filings`` and ``write_filing`` put filings on disk in the text or HTML layout
  (``etl.render``).

The form is not described here. Which codes a statement carries on an End Date comes from the
line-item catalog (its ``required_from``/``required_to`` windows give the eras), and every total is
computed from its components by the identities read from the rules file, in dependency order. The
generator only decides the lines nobody computes (the leaves): from the catalog's sign and location
columns and the identities it works out which line is the requirement, which the funds and the
excess, and which is the management target.
"""

from __future__ import annotations

import math
import os
import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Callable

from etl.business_days import business_days, next_business_day
from etl.catalog import STATEMENTS, LineItem, load_catalog
from etl.rules import Rule, load_rules
from etl.render import CoverPage, RenderStyle, render_html, render_text

Values = dict[str, dict[str, int]]

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


# -- firms ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FirmProfile:
    """One synthetic FCM: who it is, how big, and the habits of its filings."""

    name: str
    slug: str
    seg_size: int               # typical customer segregation requirement, dollars
    secured_share: float        # 30.7 secured requirement as a share of seg_size (0: none)
    swaps_share: float          # cleared swaps requirement as a share of seg_size (0: no swaps business)
    target_pct: float           # management target as a share of the requirement
    excess_pct: float = 0.04    # typical residual interest as a share of the requirement
    clearing: bool = True       # clears at DCOs itself (else carried by other FCMs)
    target_style: str = "amount"  # how the cover page states the target: amount, percent or range
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    style: RenderStyle = field(default_factory=RenderStyle)

    def share_of(self, statement: str) -> float:
        return {"segregation": 1.0, "secured": self.secured_share, "swaps": self.swaps_share}.get(statement, 0.0)


LARGEST_REQUIREMENT = 15e9
SMALLEST_REQUIREMENT = 5e6
REFERENCE_INDUSTRY = 60  # firms in the calibration: top five ~48%, top ten ~73% of the total
SIZE_CURVE = 1.08        # >1 flattens the top of the log-size curve (calibrated to the shares above)

_STEMS = (
    "Northbridge", "Acme", "Lakeshore", "Meridian", "Harborview", "Granite", "Summit", "Keystone", "Prairie",
    "Bluewater", "Ironwood", "Cedar Point", "Westgate", "Riverbend", "Silverline", "Marquette", "Fairhaven",
    "Stonebridge", "Atlas", "Pinnacle", "Redfield", "Lindell", "Canal Street", "Wabash", "Halsted",
    "Kingsbury", "Copperleaf", "Eastlake", "Greenfield", "Larkspur", "Oakmont", "Portland Grain",
    "Calloway", "Brightwater", "Sable", "Tidewater", "Crescent", "Mercer", "Aldridge", "Hawthorne",
    "Whitestone", "Bayard", "Dunmore", "Everly", "Foxhall", "Glenrock", "Highmark", "Ivory Gate",
    "Juniper", "Kestrel", "Lockwood", "Monarch", "Newcastle", "Orchard", "Parkside", "Quarry Hill",
    "Rosewood", "Sterling Plains", "Thornbury", "Union Wharf", "Vantage", "Windmere", "Yardley", "Zephyr",
)
_AMPERSAND_STEMS = ("Hollis & Vane", "Baxter & Reid", "Carver & Lowe", "Pryor & Stanton", "Wexford & Hale",
                    "Abbott & Finch", "Marsh & Whitley", "Tolliver & Grant")
_NON_ASCII_NAMES = ("Société Marchande de Lyon Futures SA", "Müller & Sørensen Clearing GmbH",
                    "Banque Lémanique Futures S.A.", "Crédit Fluvial Clearing S.A.")
_LARGE_SUFFIXES = ("Securities LLC", "Global Markets Inc.", "Clearing Corp.", "Capital Markets LLC",
                   "Futures LLC", "& Co. LLC")
_SMALL_SUFFIXES = ("Futures LLC", "Futures Inc.", "Commodities Inc.", "Trading Co.", "Clearing Corp.",
                   "Financial LLC", "Brokerage Inc.", "Futures Group LLC")
_FIRST_NAMES = ("Maria", "James", "Priya", "Daniel", "Elena", "Marcus", "Grace", "Tomasz", "Aisha", "Robert",
                "Mei", "Kevin", "Sofia", "Andre", "Hannah", "Luis", "Olivia", "Samuel", "Nadia", "Patrick")
_LAST_NAMES = ("Okafor", "Lindqvist", "Reyes", "Chen", "Kowalski", "Brennan", "Haddad", "Nakamura", "Foster",
               "Moreau", "Patel", "Sullivan", "Novak", "Adeyemi", "Schultz", "Romano", "Whitaker", "Kim")
_REGIONS = ("Pacific", "Atlantic", "Midwest", "Gulf", "Great Lakes", "Mountain", "Northern", "Southern")
_AREA_CODES = ("312", "212", "646", "917", "773", "816", "402", "952", "415", "713")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _firm_sizes(n: int, rng: random.Random) -> list[int]:
    """Requirements by rank, log-uniform in rank from ~$15 billion down to ~$5 million.

    Calibrated on an industry of 60 firms (top five ~48% of the total, top ten ~73%, as the CFTC's
    monthly figures show). A smaller universe samples the same curve; a larger one adds small firms.
    """
    span = math.log(LARGEST_REQUIREMENT / SMALLEST_REQUIREMENT)
    ranks = [round(i * (REFERENCE_INDUSTRY - 1) / (n - 1)) for i in range(n)] if 1 < n < REFERENCE_INDUSTRY \
        else list(range(n))
    sizes = []
    for rank in ranks:
        if rank < REFERENCE_INDUSTRY:
            base = LARGEST_REQUIREMENT * math.exp(-span * (rank / (REFERENCE_INDUSTRY - 1)) ** SIZE_CURVE)
        else:
            base = SMALLEST_REQUIREMENT * math.exp(rng.uniform(0, 1.5))
        sizes.append(int(min(base * math.exp(rng.gauss(0, 0.12)), LARGEST_REQUIREMENT * 1.15)))
    return sorted(sizes, reverse=True)


def _firm_names(n: int, sizes: list[int], rng: random.Random) -> list[str]:
    """Unique names; a few with "&" (HTML entities) and one or two with non-ASCII letters."""
    n_ampersand = min(n, max(1, n // 8)) if n >= 2 else 0
    n_non_ascii = 0 if n < 3 else (1 if n < 30 else 2)
    specials = ([f"{s} {rng.choice(_SMALL_SUFFIXES)}" for s in rng.sample(_AMPERSAND_STEMS, min(n_ampersand, 8))]
                + rng.sample(_NON_ASCII_NAMES, n_non_ascii))
    special_at = dict(zip(rng.sample(range(n), len(specials)), specials))
    stems = list(_STEMS)
    rng.shuffle(stems)
    names: list[str] = []
    for i in range(n):
        if i in special_at:
            names.append(special_at[i])
            continue
        cycle, at = divmod(i, len(stems))
        stem = stems[at] if cycle == 0 else f"{stems[at]} {_REGIONS[(cycle - 1) % len(_REGIONS)]}"
        suffixes = _LARGE_SUFFIXES if sizes[i] > 1e9 else _SMALL_SUFFIXES
        names.append(f"{stem} {rng.choice(suffixes)}")
    return names


def _unique_slugs(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    slugs = []
    for name in names:
        slug = slugify(name) or "firm"
        seen[slug] = seen.get(slug, 0) + 1
        slugs.append(slug if seen[slug] == 1 else f"{slug}-{seen[slug]}")
    return slugs


def _contact(slug: str, rng: random.Random) -> tuple[str, str, str]:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    phone = f"({rng.choice(_AREA_CODES)}) 555-{rng.randrange(100, 200):04d}"
    domain = slug.split("-")[0] or "fcm"
    return f"{first} {last}", phone, f"{first[0].lower()}{last.lower()}@{domain}.example.com"


def make_firms(n: int, seed: int) -> list[FirmProfile]:
    """``n`` firms, largest first, the same for the same seed."""
    if n < 1:
        return []
    rng = random.Random(f"firms:{seed}")
    sizes = _firm_sizes(n, rng)
    names = _firm_names(n, sizes, rng)
    firms = []
    for rank, (name, slug, size) in enumerate(zip(names, _unique_slugs(names), sizes)):
        scale = math.log10(size / SMALLEST_REQUIREMENT) / math.log10(LARGEST_REQUIREMENT / SMALLEST_REQUIREMENT)
        large = size > 1e9
        clearing = large or rng.random() < 0.25 + 0.5 * scale
        secured_share = 0.0 if (not large and rng.random() < 0.1) else rng.uniform(0.05, 0.45 if large else 0.3)
        has_swaps = rng.random() < (0.85 if large else 0.35 * scale)
        swaps_share = rng.uniform(0.05, 0.9) if has_swaps else 0.0
        target_pct = rng.uniform(0.005, 0.04)
        excess_pct = min(0.09, max(0.015, 1.6 * target_pct, rng.uniform(0.02, 0.05) if large
                                   else rng.uniform(0.03, 0.09)))
        contact_name, phone, email = _contact(slug, rng)
        firms.append(FirmProfile(
            name=name, slug=slug, seg_size=size, secured_share=round(secured_share, 4),
            swaps_share=round(swaps_share, 4), target_pct=round(target_pct, 4), excess_pct=round(excess_pct, 4),
            clearing=clearing, target_style=rng.choice(("amount", "amount", "percent", "range")),
            contact_name=contact_name, contact_phone=phone, contact_email=email,
            style=RenderStyle.random(rng),
        ))
    return firms


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


# -- files -----------------------------------------------------------------------------------------------
FORMATS = {"text": ".txt", "html": ".html"}


def encode_filing(text: str, fmt: str) -> bytes:
    return text.encode("ascii" if fmt == "html" else "utf-8", "xmlcharrefreplace")


def render_filing(firm_name: str, end_date: date, submit_date: date, status: str, values: Values,
                  fmt: str, rng: random.Random, *, style: RenderStyle | None = None,
                  cover: CoverPage | None = None) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    render = render_html if fmt == "html" else render_text
    return encode_filing(render(firm_name, end_date, submit_date, status, values, rng, style=style, cover=cover),
                         fmt)


def write_filing(path: Path, firm_name: str, end_date: date, submit_date: date, status: str, values: Values,
                 fmt: str = "text", *, rng: random.Random | None = None, style: RenderStyle | None = None,
                 cover: CoverPage | None = None) -> Path:
    """Write one filing with exactly these values (for planting altered values in tests)."""
    rng = rng or random.Random(f"{firm_name}|{end_date}|{status}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_filing(firm_name, end_date, submit_date, status, values, fmt, rng,
                                   style=style or RenderStyle(), cover=cover))
    return path


@dataclass(frozen=True)
class GenerateSummary:
    files: int
    amended: int
    firms: int
    days: int
    outdir: Path


def _amended_submit_date(submit: date, rng: random.Random) -> date:
    for _ in range(rng.randint(1, 5)):
        submit = next_business_day(submit)
    return submit


def generate_filings(outdir: Path, firms: int, start: date, end: date, fmt: str = "text", seed: int = 0,
                     amend_rate: float = 0.02,
                     progress: Callable[[int, int], None] | None = None) -> GenerateSummary:
    """One INITIAL filing per firm and business day, some also AMENDED, as files under ``outdir``.

    Layout: ``outdir/YYYY-MM-DD/<firm-slug>.txt`` (``.html``) and ``<firm-slug>.amended.txt``. The
    Submit Date is the next business day; an amendment comes one to five business days later. The same
    arguments always write the same bytes.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    outdir = Path(outdir)
    suffix = FORMATS[fmt]
    profiles = make_firms(firms, seed)
    days = business_days(start, end)
    for day in days:
        os.makedirs(outdir / day.isoformat(), exist_ok=True)
    total = len(profiles) * len(days)
    written = amended = 0
    for firm in profiles:
        rng = random.Random(f"filings:{seed}:{firm.slug}")  # the figures: the same in text and HTML
        layout_rng = random.Random(f"layout:{seed}:{firm.slug}")  # which header blocks run together
        state: dict = {}
        for day in days:
            values = build_values(firm, day, rng, state)
            cover = cover_page(firm, state)
            submit = next_business_day(day)
            folder = outdir / day.isoformat()
            (folder / f"{firm.slug}{suffix}").write_bytes(
                render_filing(firm.name, day, submit, "INITIAL", values, fmt, layout_rng, style=firm.style,
                              cover=cover))
            written += 1
            if amend_rate > 0 and rng.random() < amend_rate:
                fixed = amend_values(values, day, rng)
                (folder / f"{firm.slug}.amended{suffix}").write_bytes(
                    render_filing(firm.name, day, _amended_submit_date(submit, rng), "AMENDED", fixed, fmt,
                                  layout_rng, style=firm.style, cover=cover))
                amended += 1
        if progress:
            progress(written, total)
    return GenerateSummary(files=written + amended, amended=amended, firms=len(profiles), days=len(days),
                           outdir=outdir)
