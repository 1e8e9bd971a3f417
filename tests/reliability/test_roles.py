"""Least privilege on PostgreSQL: after ``dailyseg grant`` the loader account loads and validates but
cannot change the schema; the analyst account reads the views and nothing else."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from sqlalchemy.engine import make_url

from etl.cli import main
from etl.dq.validate import validate
from etl.synthetic.files import generate_filings
from etl.ingest.job import ingest
from tests.conftest import PG_ADMIN, new_pg_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def warehouse_with_roles(settings, tmp_path, sample_bytes):
    url, drop = new_pg_database()
    suffix = uuid.uuid4().hex[:8]
    loader, analyst = f"dailyseg_loader_{suffix}", f"dailyseg_analyst_{suffix}"
    users = {"loader": f"loader_{suffix}", "analyst": f"analyst_{suffix}"}
    (tmp_path / "first.txt").write_bytes(sample_bytes)
    owner = settings.with_overrides(warehouse_url=url)
    ingest([tmp_path / "first.txt"], owner)  # the owner creates the schema
    assert main(["grant", "--warehouse", url, "--loader", loader, "--analyst", analyst]) == 0
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{users["loader"]}" LOGIN IN ROLE "{loader}"')
        admin.execute(f'CREATE ROLE "{users["analyst"]}" LOGIN IN ROLE "{analyst}"')
    as_user = {k: make_url(url).set(username=v).render_as_string(hide_password=False) for k, v in users.items()}
    try:
        yield owner, as_user
    finally:
        drop()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for role in (*users.values(), loader, analyst):
                admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_the_loader_loads_and_validates_but_cannot_change_the_schema(warehouse_with_roles, tmp_path):
    owner, as_user = warehouse_with_roles
    loader = owner.with_overrides(warehouse_url=as_user["loader"])
    generate_filings(tmp_path / "more", firms=3, start=date(2016, 3, 1), end=date(2016, 3, 4), seed=3)
    summary = ingest([tmp_path / "more"], loader)
    assert summary.loaded >= 12 and summary.rejected_count == 0
    assert validate(loader).filings_checked >= 12
    with psycopg.connect(_plain(as_user["loader"]), autocommit=True) as con:
        for statement in ("DROP TABLE seg_values", "DROP VIEW excess_trend", "ALTER TABLE filings ADD COLUMN x INT",
                          "CREATE OR REPLACE VIEW excess_trend AS SELECT 1 AS x"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(statement)


def test_the_analyst_reads_the_views_and_nothing_else(warehouse_with_roles):
    _, as_user = warehouse_with_roles
    with psycopg.connect(_plain(as_user["analyst"]), autocommit=True) as con:
        assert con.execute("SELECT count(*) FROM excess_trend").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM seg_values_latest").fetchone()[0] > 50
        for statement in ("SELECT count(*) FROM seg_values", "SELECT count(*) FROM filings",
                          "INSERT INTO filings (filing_id) VALUES ('x')", "DELETE FROM seg_values",
                          "DROP VIEW excess_trend", "CREATE TABLE mine (a INT)", "UPDATE dq_results SET severity = 'x'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(statement)


def test_grant_refuses_the_embedded_warehouse_with_a_clear_message(settings, capsys):
    assert main(["grant", "--warehouse", settings.warehouse_url]) == 2
    assert "PostgreSQL warehouse" in capsys.readouterr().err
