#!/bin/sh
# One-shot set-up of the Airflow stack, run by the airflow-init service on every `docker compose up`:
# the metadata database, the warehouse writers' pool, and the first login's password (from .env).
set -eu

airflow db migrate

# Tasks that open the warehouse take a slot of this pool. The stack's warehouse is PostgreSQL, which
# takes several writers at once; on the embedded DuckDB the pool must have exactly 1 slot.
airflow pools set dailyseg_warehouse 4 "tasks that open the dailyseg warehouse"

# The first login: the user and password of .env (AIRFLOW_ADMIN_USER, AIRFLOW_ADMIN_PASSWORD).
python - <<'PY'
import json, os
path = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
user = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(":")[0]
with open(path, "w") as handle:
    json.dump({user: os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
os.chmod(path, 0o660)
PY
echo "Airflow is set up: log in at ${AIRFLOW__API__BASE_URL} as ${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS%%:*}"
