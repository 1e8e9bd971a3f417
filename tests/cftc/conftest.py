"""A small world for the CFTC views: generated filings over two month-ends (some amended), the CFTC's
files for them with planted differences, firms nobody loads and a retail forex dealer, names spelled
the CFTC's way, one firm known only through expectations/firm_aliases.csv, and the January file in the
2013 layout (no targets, no swaps); loaded into DuckDB and PostgreSQL once per test module."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from etl.cftc.load import load_cftc
from etl.cftc.reader import read_cftc_file
from etl.ingest.job import ingest
from etl.settings import load_settings
from etl.synthetic.cftc_file import Planted, monthly_row, published_name, write_cftc_file
from etl.synthetic.files import generate_filings, write_filing
from etl.synthetic.firms import make_firms
from etl.synthetic.values import build_values
from tests.cftc.sheets import era_workbook
from tests.conftest import loaded_on_both_backends

JANUARY, FEBRUARY = date(2016, 1, 31), date(2016, 2, 29)  # a Sunday (filings of Friday the 29th), a Monday
ALIAS, ALIAS_FILED_AS = "NEWEDGE USA LLC", "SG Americas Securities LLC"  # folded by expectations/firm_aliases.csv
JANUARY_FIELDS = {"seg_assets", "seg_required", "seg_excess", "secured_funds", "secured_required", "secured_excess"}


@dataclass
class World:
    landing: Path
    files: list[Path]
    planted: list[Planted]  # those the files still carry (the January layout has fewer columns)
    unfiled: set[str]  # firms in the files whose filings were not generated
    renamed: tuple[str, str]  # a firm's name in the February file, and as the generator published it
    missed: str  # a firm in the February file that filed that month, but not for 29 February


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("cftc-world")
    landing, generated_dir = root / "landing", root / "generated"
    summary = generate_filings(landing, firms=5, start=date(2016, 1, 25), end=date(2016, 3, 4), seed=9,
                               amend_rate=0.25, cftc_dir=generated_dir, cftc_differences=4, cftc_unfiled=2)
    # a firm that files under the name an alias folds the CFTC's old name into
    firm = make_firms(1, seed=99)[0]
    values = build_values(firm, date(2016, 2, 29), random.Random(1), {})
    write_filing(landing / "alias" / "sg.txt", ALIAS_FILED_AS, date(2016, 2, 29), date(2016, 3, 1), "INITIAL", values)
    alias_row = dict(monthly_row(firm, values, FEBRUARY, random.Random(2)), firm=ALIAS)
    # a firm that filed in February, but not for its last business day: nothing to compare, and the
    # figures of the day it did file (unlike the month-end's) must not be taken instead
    late = make_firms(1, seed=98)[0]
    state: dict = {}
    filed = build_values(late, date(2016, 2, 26), random.Random(3), state)
    write_filing(landing / "late" / "late.txt", late.name, date(2016, 2, 26), date(2016, 2, 29), "INITIAL", filed)
    late_row = monthly_row(late, build_values(late, date(2016, 2, 29), random.Random(4), state), FEBRUARY,
                           random.Random(5))

    files, planted = [], []
    for path in summary.cftc_files:
        parsed = read_cftc_file(path.read_bytes())
        rows = parsed.rows
        if parsed.as_of_date == JANUARY:  # as an older year published it: no targets, no cleared swaps
            out = root / "cftc" / "fcm-2016-01.xlsx"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(era_workbook(2013, JANUARY, rows))
            planted += [p for p in summary.cftc_planted if p.as_of == JANUARY and p.field in JANUARY_FIELDS]
        else:
            ampersand = next(r for r in rows if "&" in r["firm"])
            renamed = (ampersand["firm"].replace("&", "AND"), ampersand["firm"])
            ampersand["firm"] = renamed[0]
            out = write_cftc_file(root / "cftc" / "fcm-2016-02.xlsx", FEBRUARY, rows + [alias_row, late_row],
                                  filed_by=parsed.filed_by)
            planted += [p if p.firm != renamed[1] else p._replace(firm=renamed[0])
                        for p in summary.cftc_planted if p.as_of == FEBRUARY]
        files.append(out)
    return World(landing, files, planted, _unfiled(summary), renamed, late_row["firm"])


def _unfiled(summary) -> set[str]:
    """The firms of the generated files that hold customer funds but whose filings were not generated."""
    generated = {published_name(f.name) for f in make_firms(5, 9)}
    rows = read_cftc_file(summary.cftc_files[0].read_bytes()).rows
    return {r["firm"] for r in rows if r["registered_as"] != "RFED" and r["firm"] not in generated}


def load(world: World, home: Path, url: str):
    settings = load_settings(environ={}, home=home).with_overrides(warehouse_url=url)
    assert ingest([world.landing], settings).rejected_count == 0
    assert [f.status for f in load_cftc(world.files, settings).files] == ["loaded", "loaded"]
    return settings


# the loaded world on each backend; ``loaded`` is each of the two in turn
duck_world, pg_world, loaded = loaded_on_both_backends("world", load, "duck_world", "pg_world")
