"""Passwords in the warehouse URL never reach the terminal, whichever command fails on it."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import run

SECRET = "Tr0ub4dor-secret"


@pytest.mark.parametrize("command", [["ingest", "."], ["validate"], ["report"], ["trends", "--firm", "x"],
                                     ["sql", "SELECT 1"], ["grant"]])
def test_an_unreachable_warehouse_is_one_line_without_the_password(command, tmp_path):
    url = f"postgresql://loader:{SECRET}@127.0.0.1:1/warehouse"
    result = run(*command, home=tmp_path, env={"DAILYSEG_WAREHOUSE": url, "DAILYSEG_SMTP_URL":
                                               f"smtp://u:{SECRET}@127.0.0.1:1"})
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert SECRET not in output
    assert "Traceback" not in output
    assert "127.0.0.1:1" in result.stderr and "***" in result.stderr  # says where, with the password masked
