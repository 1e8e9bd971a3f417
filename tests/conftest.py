"""Shared test fixtures: the real sample, isolated settings, and real warehouses.

PostgreSQL tests use the server on 127.0.0.1:5432 (user postgres); each test gets a database of its
own, created and dropped here. If the server is down the tests fail loudly rather than skip: the
production backend is part of what is tested.
"""

from __future__ import annotations

import csv
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Airflow reads its home at first import: give the whole session a private one, no examples."""
    import tempfile
    home = tempfile.mkdtemp(prefix="dailyseg-airflow-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
    config._dailyseg_airflow_home = home


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` first (stable otherwise): spread over the cores, the long ones then run
    beside the many short ones instead of being the last thing a core does while the other waits."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config):
    import shutil
    home = getattr(config, "_dailyseg_airflow_home", None)
    if home:
        shutil.rmtree(home, ignore_errors=True)


from etl.synthetic import SAMPLE_FILING  # noqa: E402

SAMPLE_PATH = SAMPLE_FILING
FIXTURES = Path(__file__).parent / "fixtures"
PG_ADMIN = os.environ.get("DAILYSEG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def sample_bytes() -> bytes:
    return SAMPLE_PATH.read_bytes()


@pytest.fixture(scope="session")
def sample_text(sample_bytes) -> str:
    return sample_bytes.decode("utf-8")


@pytest.fixture(scope="session")
def sample_expected() -> dict[tuple[str, str], int]:
    with (FIXTURES / "citigroup-2013-12-31-expected.csv").open() as handle:
        return {(r["statement"], r["code"]): int(r["value"]) for r in csv.DictReader(handle)}


@pytest.fixture
def settings(tmp_path):
    from etl.settings import load_settings
    return load_settings(environ={}, home=tmp_path / "home")


def _pg_admin():
    import psycopg
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN} ({exc}); start it with "
                    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", pytrace=False)


def new_pg_database():
    """Create an empty PostgreSQL database; return (url, drop function)."""
    name = f"dailyseg_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]

    def drop():
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}", drop


@contextmanager
def module_warehouse(backend: str, tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """For a module-scoped fixture: a fresh home folder and a warehouse URL of ``backend`` (``duckdb``, a
    file in the home; ``postgresql``, a database of its own, dropped afterwards)."""
    home = tmp_path_factory.mktemp(backend)
    if backend == "duckdb":
        yield home, f"duckdb:///{home / 'warehouse.duckdb'}"
        return
    url, drop = new_pg_database()
    try:
        yield home, url
    finally:
        drop()


def loaded_on_both_backends(source: str, load, duckdb: str, postgresql: str, either: str = "loaded"):
    """Three module-scoped fixtures, to assign at module level under the names given: ``duckdb`` and
    ``postgresql`` each yield ``load(<the source fixture's value>, home, url)`` on a fresh warehouse of
    that backend; ``either`` is each of the two in turn (a test using it runs on both)."""
    def on(backend: str, name: str):
        @pytest.fixture(scope="module", name=name)
        def fixture(request, tmp_path_factory):
            value = request.getfixturevalue(source)
            with module_warehouse(backend, tmp_path_factory) as (home, url):
                yield load(value, home, url)
        return fixture

    @pytest.fixture(scope="module", name=either, params=["duckdb", "postgresql"])
    def each(request):
        return request.getfixturevalue(duckdb if request.param == "duckdb" else postgresql)

    return on("duckdb", duckdb), on("postgresql", postgresql), each


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url, drop = new_pg_database()
    yield url
    drop()


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request, tmp_path):
    """The same test on the embedded DuckDB file and on a real PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def any_settings(settings, warehouse_url):
    """Isolated settings pointing at each backend in turn."""
    return settings.with_overrides(warehouse_url=warehouse_url)
