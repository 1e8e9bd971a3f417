"""The one settings module: environment, then explicit overrides; locations kept as given."""

from __future__ import annotations

from pathlib import Path

from etl.settings import load_settings


def test_an_object_store_landing_zone_stays_a_url():
    from_env = load_settings(environ={"DAILYSEG_LANDING": "s3://filings/landing"})
    assert str(from_env.landing) == "s3://filings/landing"  # not s3:/filings/landing
    overridden = load_settings(environ={}).with_overrides(landing="s3://filings/landing")
    assert overridden.landing == "s3://filings/landing"
    assert load_settings(environ={}, home="/srv/seg").landing == Path("/srv/seg/landing")


def test_fetch_settings_from_the_environment():
    settings = load_settings(environ={"DAILYSEG_HOME": "/srv/seg", "DAILYSEG_FETCH_CONTACT": "ops@example.com",
                                      "DAILYSEG_FETCH_DELAY": "2.5", "DAILYSEG_FETCH_ATTEMPTS": "0"})
    assert settings.sources_file == Path("/srv/seg/sources.csv")
    assert (settings.fetch_contact, settings.fetch_delay, settings.fetch_attempts) == ("ops@example.com", 2.5, 1)
    assert load_settings(environ={"DAILYSEG_SOURCES": "/etc/seg.csv"}).sources_file == Path("/etc/seg.csv")


def test_a_number_that_is_not_one_is_named_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    import pytest

    from etl.settings import SettingsError

    with pytest.raises(SettingsError, match=r"DAILYSEG_VALIDATE_CHUNK must be a whole number, not 'lots'"):
        load_settings(environ={"DAILYSEG_VALIDATE_CHUNK": "lots"})
    assert load_settings(environ={"DAILYSEG_VALIDATE_CHUNK": "500", "DAILYSEG_FETCH_DELAY": "0"}).validate_chunk == 500
    assert load_settings(environ={"DAILYSEG_FETCH_DELAY": "0"}).fetch_delay == 0.0  # zero is a value, not unset
    dailyseg = Path(sys.executable).parent / "dailyseg"
    env = {**os.environ, "DAILYSEG_HOME": str(tmp_path), "DAILYSEG_PDF_SECONDS": "ten"}
    done = subprocess.run([str(dailyseg), "validate"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "dailyseg validate: DAILYSEG_PDF_SECONDS must be a number, not 'ten'"
