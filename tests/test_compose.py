"""docker-compose.yml, checked without a Docker engine: what can be known from the files and the code.

The file parses; every long-running service has a health check with a timeout and the one-shot ones
run first; every Airflow command it runs (the services', the health checks', the init script's)
exists in the installed Airflow; every setting and folder the code reads is provided, on host folders
made writable for the Airflow user; every secret comes from the documented .env; the UI's links,
the first login and unpaused DAGs are set up; the image installs the project from the lock file.
The same topology runs natively in tests/dags/test_scheduler.py.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {name: s for name, s in SERVICES.items() if name.startswith("airflow-")}
ONE_SHOT = {"airflow-permissions", "airflow-init", "airflow-cli"}
LONG_RUNNING_AIRFLOW = {n: s for n, s in AIRFLOW_SERVICES.items() if n not in ONE_SHOT}
INIT_SCRIPT = REPO / "docker" / "airflow-init.sh"
ENV_EXAMPLE = REPO / ".env.example"


def env_of(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def mounts_of(service: dict) -> dict[str, str]:
    """target -> source"""
    return {m.split(":")[1]: m.split(":")[0] for m in service.get("volumes", [])}


def test_stack_has_every_component():
    assert {"postgres", "redis", "mailpit", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "airflow-worker", "airflow-init", "airflow-permissions"} <= set(SERVICES)
    assert env_of(SERVICES["airflow-worker"])["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_long_running_services_have_health_checks_with_timeouts_and_start_after_the_set_up():
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            continue
        check = service["healthcheck"]
        assert check["timeout"] and check["interval"] and check["retries"], name
    for name, service in LONG_RUNNING_AIRFLOW.items():
        needs = service["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"
        assert needs["airflow-init"]["condition"] == "service_completed_successfully", name
    init = SERVICES["airflow-init"]["depends_on"]
    assert init["airflow-permissions"]["condition"] == "service_completed_successfully"


def _service_commands() -> list[list[str]]:
    commands = []
    for service in AIRFLOW_SERVICES.values():
        argv = service["command"] if isinstance(service["command"], list) else shlex.split(service["command"])
        if argv and argv[0] == "airflow":
            commands.append(argv[1:])
        check = service.get("healthcheck", {}).get("test", [])
        text = check[1] if check and check[0] == "CMD-SHELL" else " ".join(check[1:])
        if text.startswith("airflow "):
            commands.append(["a-host-name" if "$" in w else w.strip('"') for w in text.split()[1:]])
    for line in INIT_SCRIPT.read_text().splitlines():
        if line.startswith("airflow "):
            commands.append(shlex.split(line)[1:])
    return commands


def test_every_airflow_command_exists_in_the_installed_airflow():
    commands = _service_commands()
    code = ("import json, sys\nfrom airflow.cli.cli_parser import get_parser\nbad = []\n"
            "for argv in json.loads(sys.argv[1]):\n"
            "    try:\n        get_parser().parse_args(argv)\n"
            "    except SystemExit as e:\n        bad += [argv]\n"
            "print(json.dumps(bad))\n")
    result = subprocess.run([sys.executable, "-c", code, json.dumps(commands)], capture_output=True, text=True,
                            timeout=300)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [], result.stderr[-2000:]
    assert ["db", "migrate"] in commands and ["pools", "set", "dailyseg_warehouse", "4",
                                              "tasks that open the dailyseg warehouse"] in commands
    assert len(commands) >= 9


def test_the_init_script_is_in_the_image_and_runs_as_a_shell_script():
    assert SERVICES["airflow-init"]["command"] == ["/opt/dailyseg/docker/airflow-init.sh"]
    assert INIT_SCRIPT.read_text().startswith("#!/bin/sh\n") and INIT_SCRIPT.stat().st_mode & 0o111
    assert re.search(r"^COPY docker \./docker$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    result = subprocess.run(["sh", "-n", str(INIT_SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_setting_and_folder_the_code_reads_is_on_a_host_folder_the_airflow_user_may_write():
    read_by_code = set(re.findall(r"DAILYSEG_[A-Z_]+", (REPO / "etl" / "settings.py").read_text()))
    required = {"DAILYSEG_HOME", "DAILYSEG_LANDING", "DAILYSEG_LAKE"}
    assert required <= read_by_code
    writable_targets = SERVICES["airflow-permissions"]["command"][-1]
    for name, service in LONG_RUNNING_AIRFLOW.items():
        env, mounts = env_of(service), mounts_of(service)
        assert required <= set(env) and ("AIRFLOW_CONN_DAILYSEG_WAREHOUSE" in env or "DAILYSEG_WAREHOUSE" in env)
        for folder in (env["DAILYSEG_HOME"], env["DAILYSEG_LANDING"], env["DAILYSEG_LAKE"], "/opt/airflow/logs"):
            target = next((t for t in mounts if folder == t or folder.startswith(t + "/")), None)
            assert target and mounts[target].startswith("./"), (name, folder)  # a host folder, not a volume
            assert target in writable_targets, (name, target)  # chowned to AIRFLOW_UID before anything runs
        assert service["user"] == "${AIRFLOW_UID:-50000}:0", name
    assert mounts_of(SERVICES["airflow-apiserver"])["/opt/airflow/auth"] == "auth"
    assert SERVICES["airflow-permissions"]["user"] == "0:0"


def test_secrets_come_from_the_documented_env_file_without_defaults():
    env = env_of(AIRFLOW_SERVICES["airflow-worker"])
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        required = r"\$\{AIRFLOW_[A-Z_]+:\?set AIRFLOW_[A-Z_]+ in \.env \(see \.env\.example\)\}"
        assert re.fullmatch(required, env[key]), key
    assert "AIRFLOW_ADMIN_PASSWORD:?" in env_of(SERVICES["airflow-init"])["AIRFLOW_ADMIN_PASSWORD"]
    documented = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    needed = set(re.findall(r"\$\{([A-Z_]+):\?", TEXT))
    assert needed and needed <= documented, needed - documented
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_the_ui_links_the_first_login_and_unpaused_dags():
    env = env_of(AIRFLOW_SERVICES["airflow-apiserver"])
    assert env["AIRFLOW__API__BASE_URL"].startswith("${AIRFLOW_BASE_URL:-http")
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith("/opt/airflow/auth/")
    script = INIT_SCRIPT.read_text()
    assert "AIRFLOW_ADMIN_PASSWORD" in script and "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in script
    readme = (REPO / "README.md").read_text()
    assert "cp .env.example .env" in readme and "AIRFLOW_ADMIN_PASSWORD" in readme


def test_connections_point_at_the_stack_and_parse_as_airflow_connections():
    from airflow.models.connection import Connection
    from etl.airflow.config import warehouse_url_of
    env = env_of(AIRFLOW_SERVICES["airflow-worker"])
    warehouse = Connection(conn_id="dailyseg_warehouse", uri=env["AIRFLOW_CONN_DAILYSEG_WAREHOUSE"])
    assert warehouse_url_of(warehouse) == "postgresql+psycopg://dailyseg:dailyseg@postgres:5432/dailyseg"
    init_sql = (REPO / "docker" / "postgres-init.sql").read_text()
    assert "CREATE DATABASE dailyseg" in init_sql and "CREATE ROLE dailyseg" in init_sql
    smtp = Connection(uri=env["AIRFLOW_CONN_DAILYSEG_SMTP"])
    assert (smtp.host, smtp.port) == ("mailpit", 1025) and smtp.extra_dejson["disable_ssl"] in (True, "true")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080")


@pytest.mark.parametrize("path", ["dags", "etl", "sql", "expectations", "docker", "requirements.lock"])
def test_the_image_ships_what_the_stack_runs(path):
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(rf"^COPY .*\b{re.escape(path)}\b", dockerfile, re.MULTILINE), path
    assert env_of(AIRFLOW_SERVICES["airflow-scheduler"])["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/dailyseg/dags"
    assert "WORKDIR /opt/dailyseg" in dockerfile


def test_the_image_installs_the_project_from_the_lock_file():
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    locked = next(i for i, line in enumerate(lines) if "--require-hashes -r requirements.lock" in line)
    project = next(i for i, line in enumerate(lines) if "--no-deps -e ." in line)
    assert locked < project  # the dependencies come from the lock; the project adds none of its own
    assert "COPY requirements.lock" in lines[locked - 2] or any("COPY requirements.lock" in x for x in lines[:locked])
