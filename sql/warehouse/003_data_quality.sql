-- Data-quality results: one dq_runs row per validation run, one dq_results row per failed check.

CREATE TABLE IF NOT EXISTS dq_runs (
    run_id          VARCHAR(40)  NOT NULL PRIMARY KEY,
    started_at      TIMESTAMP    NOT NULL,
    finished_at     TIMESTAMP,
    status          VARCHAR(16)  NOT NULL,            -- running | completed | failed
    date_from       DATE,
    date_to         DATE,
    backend         VARCHAR(16),
    filings_checked INTEGER,
    statements_checked INTEGER,
    expectations    INTEGER,                          -- expectations evaluated (GX)
    failures        INTEGER,
    critical        INTEGER,
    errors          INTEGER,
    warnings        INTEGER,
    success         BOOLEAN,                          -- nothing of severity error or critical failed
    seconds         DOUBLE PRECISION,
    results_path    VARCHAR,                          -- the full GX validation results (JSON)
    data_docs_path  VARCHAR                           -- GX Data Docs (HTML) index
);

CREATE TABLE IF NOT EXISTS dq_results (
    run_id        VARCHAR(40)  NOT NULL,
    checked_at    TIMESTAMP    NOT NULL,
    kind          VARCHAR(16)  NOT NULL,              -- arithmetic | completeness | sign | deficiency | target | freshness | anomaly
    rule_id       VARCHAR(40)  NOT NULL,
    severity      VARCHAR(10)  NOT NULL,              -- critical | error | warning
    firm          VARCHAR      NOT NULL,
    end_date      DATE         NOT NULL,
    statement     VARCHAR(12),
    code          VARCHAR(4),                         -- the line that is wrong or checked (the total for arithmetic)
    reported      BIGINT,                             -- what the filing says
    expected      BIGINT,                             -- what its components add up to (or the threshold)
    difference    BIGINT,                             -- reported - expected
    filing_id     VARCHAR(16),
    message       VARCHAR      NOT NULL               -- one sentence naming firm, date, rule and signed components
);
