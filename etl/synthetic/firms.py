"""A synthetic industry of futures commission merchants.

``make_firms`` draws names, sizes from a small retail FCM to the largest clearing firms (a concentrated
top five, calibrated to the public shares), who clears swaps, contact details and each firm's habits of
layout. The same seed always gives the same firms.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from etl.form.files import slugify
from etl.synthetic.render import RenderStyle

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


