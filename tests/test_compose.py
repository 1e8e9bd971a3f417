"""docker-compose.yml, checked without a Docker engine: what can be known from the file and the code.

The file parses; every long-running service has a health check and the one-shot ones are ordered
before the rest; every Airflow command it runs exists in the installed Airflow; every setting and
volume the code reads is provided; the image ships the DAGs where the stack looks for them. The same
topology runs natively in tests/dags/test_scheduler.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {name: s for name, s in SERVICES.items() if name.startswith("airflow-")}
ONE_SHOT = {"airflow-init", "airflow-cli"}


def env_of(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_stack_has_every_component():
    assert {"postgres", "redis", "mailpit", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "airflow-init"} <= set(SERVICES)
    assert env_of(SERVICES["airflow-worker"])["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_long_running_services_have_health_checks_and_wait_for_their_dependencies():
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            continue
        assert "healthcheck" in service, name
    for name, service in AIRFLOW_SERVICES.items():
        if name == "airflow-init":
            continue
        needs = service["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"
        assert needs["airflow-init"]["condition"] == "service_completed_successfully"


def _airflow_argv(command) -> list[str] | None:
    argv = command if isinstance(command, list) else command.split()
    return argv[1:] if argv and argv[0] == "airflow" else None


def test_every_airflow_command_exists_in_the_installed_airflow():
    commands = []
    for service in AIRFLOW_SERVICES.values():
        argv = _airflow_argv(service["command"])
        if argv:
            commands.append(argv)
        check = service.get("healthcheck", {}).get("test", [])
        text = check[1] if check and check[0] == "CMD-SHELL" else " ".join(check[1:])
        if text.startswith("airflow "):
            commands.append([w.strip('"') for w in text.split()[1:] if "$" not in w])
    code = ("import json, sys\nfrom airflow.cli.cli_parser import get_parser\nbad = []\n"
            "for argv in json.loads(sys.argv[1]):\n"
            "    words = [w for w in argv if not w.startswith('-')][:2]\n"
            "    try:\n        get_parser().parse_args(words + ['--help'])\n"
            "    except SystemExit as e:\n        bad += [] if e.code == 0 else [argv]\n"
            "print(json.dumps(bad))\n")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(commands)], capture_output=True, text=True,
                            timeout=300)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [], result.stderr[-2000:]
    assert len(commands) >= 8


def test_every_setting_and_volume_the_code_reads_is_provided():
    env = env_of(AIRFLOW_SERVICES["airflow-worker"])
    read_by_code = set(re.findall(r"DAILYSEG_[A-Z_]+", (REPO / "etl" / "settings.py").read_text()))
    required = {"DAILYSEG_HOME", "DAILYSEG_LANDING", "DAILYSEG_LAKE"}
    assert required <= read_by_code and required <= set(env)
    assert "AIRFLOW_CONN_DAILYSEG_WAREHOUSE" in env or "DAILYSEG_WAREHOUSE" in env
    assert "AIRFLOW_CONN_DAILYSEG_SMTP" in env and env["DAILYSEG_ALERT_TO"]
    mounts = {m.split(":")[1] for m in AIRFLOW_SERVICES["airflow-worker"]["volumes"]}
    assert {env["DAILYSEG_HOME"], env["DAILYSEG_LANDING"], env["DAILYSEG_LAKE"]} <= mounts
    for volume in ("landing", "lake", "home", "pgdata"):
        assert volume in COMPOSE["volumes"]


def test_connections_point_at_the_stack_and_parse_as_airflow_connections():
    from airflow.models.connection import Connection
    env = env_of(AIRFLOW_SERVICES["airflow-worker"])
    warehouse = Connection(uri=env["AIRFLOW_CONN_DAILYSEG_WAREHOUSE"])
    assert (warehouse.host, warehouse.schema, warehouse.login) == ("postgres", "dailyseg", "dailyseg")
    init_sql = (REPO / "docker" / "postgres-init.sql").read_text()
    assert "CREATE DATABASE dailyseg" in init_sql and "CREATE ROLE dailyseg" in init_sql
    smtp = Connection(uri=env["AIRFLOW_CONN_DAILYSEG_SMTP"])
    assert (smtp.host, smtp.port) == ("mailpit", 1025) and smtp.extra_dejson["disable_ssl"] in (True, "true")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080")


@pytest.mark.parametrize("path", ["dags", "etl", "sql", "expectations", "requirements.lock"])
def test_the_image_ships_what_the_stack_runs(path):
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(rf"^COPY .*\b{re.escape(path)}\b", dockerfile, re.MULTILINE), path
    assert env_of(AIRFLOW_SERVICES["airflow-scheduler"])["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/dailyseg/dags"
    assert "WORKDIR /opt/dailyseg" in dockerfile
