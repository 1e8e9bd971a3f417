"""Great Expectations gets the PostgreSQL warehouse's URL without it entering the environment (where every
child process would inherit it) or the GX project's files."""

from __future__ import annotations

import os
import subprocess
import sys

from etl.dq.validate import validate
from etl.ingest.job import ingest
from etl.settings import load_settings
from tests.conftest import SAMPLE_PATH

PASSWORD = "gx-never-sees-this-in-env"


def test_the_warehouse_password_stays_out_of_the_environment_and_the_gx_project(pg_url, tmp_path):
    # the server trusts loopback, so a password in the URL is carried along but never needed
    url = pg_url.replace("://postgres@", f"://postgres:{PASSWORD}@", 1)
    assert PASSWORD in url and PASSWORD not in str(os.environ)
    settings = load_settings(environ={}, home=tmp_path / "home", warehouse_url=url)
    assert ingest([SAMPLE_PATH], settings).loaded == 1
    summary = validate(settings)
    assert summary.filings_checked == 1  # GX reached the database through the URL
    assert not any(PASSWORD in value for value in os.environ.values())
    child = subprocess.run([sys.executable, "-c", "import os; print(dict(os.environ))"], capture_output=True,
                           text=True, check=True)
    assert PASSWORD not in child.stdout
    gx_files = [p for p in (settings.home / "gx").rglob("*") if p.is_file()]
    assert gx_files and not any(PASSWORD.encode() in p.read_bytes() for p in gx_files)
