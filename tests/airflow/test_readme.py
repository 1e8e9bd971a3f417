"""The README's Airflow section, followed command by command: its ``airflow connections add``,
``variables set`` and ``pools set`` commands run through Airflow's own CLI on a fresh metadata
database, and what they create is what dailyseg needs: a warehouse URL with the extras, an SMTP
connection that speaks STARTTLS (sent to a real server that requires it), a Slack webhook, a pool."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.alerts.receivers import SmtpReceiver, self_signed_tls
from tests.conftest import REPO

pytestmark = pytest.mark.airflow


def airflow_section() -> str:
    text = (REPO / "README.md").read_text()
    return text[text.index("## Airflow\n"):text.index("\n## ", text.index("## Airflow\n") + 1)]


def commands(section: str) -> list[list[str]]:
    """Every shell command of the section's code blocks, continuation lines joined, comments dropped."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            words = shlex.split(command, comments=True)
            if words:
                out.append(words)
    return out


RUN = """
import json, sys
from airflow.cli.cli_parser import get_parser
for argv in [["db", "migrate"], *json.loads(sys.argv[1])]:
    args = get_parser().parse_args(argv)
    args.func(args)
from airflow.models import Connection, Pool, Variable
out = {"connections": {}, "variables": {}, "pool": Pool.get_pool("dailyseg_warehouse").slots}
for conn_id in ("dailyseg_warehouse", "dailyseg_smtp", "dailyseg_slack", "dailyseg_landing"):
    c = Connection.get_connection_from_secrets(conn_id)
    out["connections"][conn_id] = {"conn_type": c.conn_type, "host": c.host, "port": c.port, "login": c.login,
                                   "password": c.password, "schema": c.schema, "extra": c.extra_dejson}
for key in ("dailyseg_alert_to", "dailyseg_home", "dailyseg_landing"):
    out["variables"][key] = Variable.get(key)
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    """What the README's configuration commands leave in a fresh Airflow."""
    argvs = [words[1:] for words in commands(airflow_section())
             if words[0] == ".venv/bin/airflow" and words[1:3] in (["connections", "add"], ["variables", "set"],
                                                                     ["pools", "set"])]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("readme-airflow"))
    result = subprocess.run([sys.executable, "-c", RUN, json.dumps(argvs)], env=env, capture_output=True,
                            text=True, timeout=600)
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, result.stdout[-2000:] + result.stderr[-3000:]
    return argvs, json.loads(line[len("RESULT "):])


def test_the_section_gives_every_command_a_user_needs(configured):
    argvs, _ = configured
    section = airflow_section()
    added = {argv[2] for argv in argvs if argv[:2] == ["connections", "add"]}
    assert {"dailyseg_warehouse", "dailyseg_smtp", "dailyseg_slack", "dailyseg_landing"} == added
    assert "--reprocess-behavior failed" in section and "backfill create" in section
    assert all(words[0] in (".venv/bin/airflow", ".venv/bin/dailyseg", "export", "cp", "sed", "docker")
               for words in commands(section))


def test_the_warehouse_connection_gives_the_url_with_its_extras(configured):
    from airflow.models.connection import Connection
    from etl.airflow.config import warehouse_url_of
    _, result = configured
    conn = Connection(conn_id="dailyseg_warehouse", **{k: v for k, v in result["connections"]["dailyseg_warehouse"]
                                                       .items() if k != "extra"},
                      extra=json.dumps(result["connections"]["dailyseg_warehouse"]["extra"]))
    assert warehouse_url_of(conn) == ("postgresql+psycopg://dailyseg_loader:loader-password@db.example.com:5432/"
                                      "dailyseg?application_name=dailyseg&sslmode=require")


def test_the_smtp_connection_speaks_starttls_on_587(configured, tmp_path, monkeypatch):
    from etl.airflow.notifiers import SmtpNotifierChannel
    from etl.alerts import deliver
    from etl.alerts.digest import build_failure_digest
    _, result = configured
    smtp = dict(result["connections"]["dailyseg_smtp"])
    assert (smtp["conn_type"], smtp["port"], smtp["extra"].get("disable_ssl")) == ("smtp", 587, True)
    assert not smtp["extra"].get("disable_tls")
    server = SmtpReceiver(user=smtp["login"], password=smtp["password"], tls=self_signed_tls(tmp_path)).start()
    try:  # the same connection, pointed at a server on loopback whose certificate is self-signed
        smtp.update(host="127.0.0.1", port=server.port, extra={**smtp["extra"], "ssl_context": "none"})
        monkeypatch.setenv("AIRFLOW_CONN_DAILYSEG_SMTP", json.dumps(smtp))
        recipients = result["variables"]["dailyseg_alert_to"].split(",")
        digest = build_failure_digest("daily_seg_load.ingest", "boom", None, {})
        delivery = deliver(SmtpNotifierChannel("dailyseg_smtp", recipients), digest, attempts=1)
        assert delivery.status == "sent", delivery.error
        (message,) = server.messages
    finally:
        server.stop()
    assert message["tls"] and message["from"] == "dailyseg@example.com"
    assert message["to"] == ["risk@example.com", "ops@example.com"]


def test_slack_landing_variables_and_the_pool(configured):
    _, result = configured
    connections = result["connections"]
    assert connections["dailyseg_slack"]["conn_type"] == "slackwebhook"
    assert connections["dailyseg_slack"]["password"].startswith("https://hooks.slack.com/services/")
    landing = result["variables"]["dailyseg_landing"]
    assert landing.startswith("s3://dailyseg_landing@") and connections["dailyseg_landing"]["conn_type"] == "aws"
    assert result["variables"]["dailyseg_home"] == "/srv/dailyseg"
    assert result["pool"] == 1  # the embedded warehouse takes one writer at a time
