-- Alerts: every message sent or not sent (alerts), and which findings each channel has been told
-- about (alert_findings), so re-runs stay quiet and a fixed finding is announced once as resolved.

CREATE TABLE IF NOT EXISTS alerts (
    alert_id     VARCHAR(40)  NOT NULL PRIMARY KEY,
    run_id       VARCHAR(64)  NOT NULL,               -- the validation run (or pipeline run) it is about
    kind         VARCHAR(16)  NOT NULL,               -- validation | failure
    channel      VARCHAR(16)  NOT NULL,               -- email | slack
    status       VARCHAR(16)  NOT NULL,               -- sent | failed | nothing_new
    attempts     INTEGER      NOT NULL,
    error        VARCHAR,                             -- why it was not delivered (no secrets)
    created_at   TIMESTAMP    NOT NULL,
    n_findings   INTEGER      NOT NULL,               -- new findings in the message
    n_resolved   INTEGER      NOT NULL,               -- findings announced as resolved
    headline     VARCHAR
);

CREATE TABLE IF NOT EXISTS alert_findings (
    channel           VARCHAR(16)  NOT NULL,
    finding_key       VARCHAR(200) NOT NULL,          -- rule|firm|end date|statement|code|filing version
    rule_id           VARCHAR(40)  NOT NULL,
    firm              VARCHAR      NOT NULL,
    end_date          DATE         NOT NULL,
    statement         VARCHAR(12),
    code              VARCHAR(4),
    filing_id         VARCHAR(16),
    state             VARCHAR(12)  NOT NULL,          -- open | resolved | superseded
    first_alert_id    VARCHAR(40)  NOT NULL,
    closed_alert_id   VARCHAR(40),
    updated_at        TIMESTAMP    NOT NULL
);
