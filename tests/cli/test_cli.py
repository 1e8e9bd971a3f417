"""The dailyseg command line as a user runs it: exit codes, one-line errors, summaries, --help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DAILYSEG = str(Path(sys.executable).parent / "dailyseg")


def cli_env(home: Path, env: dict | None = None) -> dict[str, str]:
    """This process's environment without its DAILYSEG_ settings, plus ``DAILYSEG_HOME`` and ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYSEG_")}
    full_env.update({"DAILYSEG_HOME": str(home), **(env or {})})
    return full_env


def run(*args: str, home: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([DAILYSEG, *args], capture_output=True, text=True, env=cli_env(home, env), timeout=300)


@pytest.mark.parametrize("command", [[], ["ingest"], ["generate"], ["demo"]])
def test_every_command_has_help(command, tmp_path):
    result = run(*command, "--help", home=tmp_path)
    assert result.returncode == 0
    assert "usage: dailyseg" in result.stdout


def test_ingest_reports_loaded_and_rejected_and_exits_zero(tmp_path, sample_bytes):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "citi.txt").write_bytes(sample_bytes)
    (landing / "junk.txt").write_text("nothing to see")
    result = run("ingest", str(landing), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "loaded               1   (80 values)" in result.stdout
    assert "not_a_filing" in result.stdout and "junk.txt" in result.stdout
    again = run("ingest", str(landing), home=tmp_path / "home")
    assert again.returncode == 0
    assert "loaded               0" in again.stdout
    assert "files seen           2   (2 unchanged since they were read: not read again)" in again.stdout
    rescan = run("ingest", "--rescan", str(landing), home=tmp_path / "home")
    assert "duplicates           1" in rescan.stdout and "loaded               0" in rescan.stdout


def test_unreachable_warehouse_is_one_line_exit_two(tmp_path, sample_bytes):
    (tmp_path / "f.txt").write_bytes(sample_bytes)
    result = run("ingest", str(tmp_path / "f.txt"), "--warehouse", "postgresql://u:hunter2@127.0.0.1:1/x",
                 home=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot open the warehouse" in result.stderr and "hunter2" not in result.stderr


def test_missing_folder_and_bad_arguments_exit_two(tmp_path):
    missing = run("ingest", str(tmp_path / "nowhere"), home=tmp_path)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    bad_date = run("generate", str(tmp_path / "out"), "--start", "2016-13-01", "--end", "2016-01-05", home=tmp_path)
    assert bad_date.returncode == 2 and "not a date" in bad_date.stderr


def test_unsupported_warehouse_url(tmp_path, sample_bytes):
    (tmp_path / "f.txt").write_bytes(sample_bytes)
    result = run("ingest", str(tmp_path / "f.txt"), "--warehouse", "mysql://x@y/z", home=tmp_path)
    assert result.returncode == 2 and "unsupported warehouse URL" in result.stderr


def test_generate_writes_business_days(tmp_path):
    result = run("generate", str(tmp_path / "out"), "--firms", "3", "--start", "2016-07-01", "--end", "2016-07-06",
                 home=tmp_path)
    assert result.returncode == 0, result.stderr
    days = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert days == ["2016-07-01", "2016-07-05", "2016-07-06"]  # the 4th is Independence Day
    assert "3 firms over 3 business days" in result.stdout


def test_generate_pdf_then_ingest_it(tmp_path):
    result = run("generate", str(tmp_path / "out"), "--firms", "2", "--start", "2016-03-14", "--end", "2016-03-14",
                 "--format", "pdf", "--amend-rate", "0", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Wrote 2 filings (0 amended; 2 pdf)" in result.stdout
    assert sorted(p.suffix for p in (tmp_path / "out").rglob("*.*")) == [".pdf", ".pdf"]
    loaded = run("ingest", str(tmp_path / "out"), home=tmp_path / "home")
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded               2   (" in loaded.stdout and "values; 2 PDF)" in loaded.stdout
    assert "rejected             0" in loaded.stdout


@pytest.mark.slow
def test_demo_end_to_end_and_rerun_loads_nothing_new(tmp_path):
    first = run("demo", "--firms", "5", "--days", "11", home=tmp_path / "home")
    assert first.returncode == 0, first.stderr
    assert "Citigroup Global Markets Inc." in first.stdout
    assert "Latest excess per firm" in first.stdout
    assert re.search(r", [1-9]\d* PDF\) plus the real sample filing", first.stdout)  # a few firms post PDFs
    # the month-end file: loaded, its firms nobody loads counted, its two planted figures found
    assert "2016-02-29  loaded" in first.stdout and "3 of them have no daily filing" in first.stdout
    assert "reconciliation         -      -        2" in first.stdout
    page = (tmp_path / "home" / "report" / "index.html").read_text(encoding="utf-8")
    assert "Month-ends against the CFTC's monthly file" in page and "Figures that differ" in page
    second = run("demo", "--firms", "5", "--days", "11", home=tmp_path / "home")
    assert second.returncode == 0
    assert "loaded               0" in second.stdout and "unchanged        1" in second.stdout
