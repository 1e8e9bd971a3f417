# dailyseg with Apache Airflow: one image for every Airflow component of docker-compose.yml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 AIRFLOW_HOME=/opt/airflow
WORKDIR /opt/dailyseg
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*

# The exact, hash-checked environment the tests ran with.
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir "uv==0.13.9" \
 && uv pip install --system --no-cache --require-hashes -r requirements.lock

COPY etl ./etl
COPY dags ./dags
COPY sql ./sql
COPY expectations ./expectations
COPY docker ./docker
# The project itself, without resolving anything: its dependencies are the lock file's.
# Folders are group 0 and group-writable: the stack runs as any AIRFLOW_UID in group 0.
RUN uv pip install --system --no-cache --no-deps -e . \
 && useradd --create-home --uid 50000 --gid 0 airflow \
 && mkdir -p /data/landing /data/lake /opt/airflow/logs /opt/airflow/auth \
 && chown -R 50000:0 /data /opt/airflow /home/airflow \
 && chmod -R g+rwX /data /opt/airflow /home/airflow

USER 50000
