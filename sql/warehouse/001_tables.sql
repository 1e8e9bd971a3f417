-- Staging tables of the warehouse: raw long facts, one row per filed value, every filing version kept.
-- The same DDL runs on DuckDB (embedded default) and PostgreSQL (production).
-- Statements are separated by lines holding only ";" comments-free, executed in order, idempotent.

CREATE TABLE IF NOT EXISTS filings (
    filing_id     VARCHAR(16)  NOT NULL PRIMARY KEY,  -- first 16 hex digits of the file's sha256
    firm          VARCHAR      NOT NULL,              -- Firm Name as filed, whitespace collapsed
    end_date      DATE         NOT NULL,              -- the business day the figures are for
    submit_date   DATE,
    status        VARCHAR(8)   NOT NULL,              -- INITIAL | AMENDED
    form          VARCHAR,
    source_path   VARCHAR      NOT NULL,              -- where the file was found when first loaded
    sha256        VARCHAR(64)  NOT NULL,              -- unique: filing_id is its prefix
    loaded_at     TIMESTAMP    NOT NULL,
    raw_path      VARCHAR      NOT NULL,              -- its copy in the lake's content-addressed raw zone
    size_bytes    BIGINT       NOT NULL,
    statements    VARCHAR      NOT NULL,              -- statements present, comma-separated
    n_values      INTEGER      NOT NULL,
    unknown_codes VARCHAR,                            -- codes not in the catalog (kept in seg_values)
    notes         VARCHAR,                            -- what the parser noticed, '; '-separated
    run_id        VARCHAR(32)  NOT NULL
);

CREATE TABLE IF NOT EXISTS filing_statements (
    filing_id     VARCHAR(16)  NOT NULL,
    firm          VARCHAR      NOT NULL,
    end_date      DATE         NOT NULL,
    submit_date   DATE,
    status        VARCHAR(8)   NOT NULL,
    statement     VARCHAR(12)  NOT NULL,
    n_values      INTEGER      NOT NULL               -- key (filing_id, statement): 002_postgres_keys.sql
);

CREATE TABLE IF NOT EXISTS seg_values (
    filing_id     VARCHAR(16)  NOT NULL,
    firm          VARCHAR      NOT NULL,
    end_date      DATE         NOT NULL,
    submit_date   DATE,
    status        VARCHAR(8)   NOT NULL,
    statement     VARCHAR(12)  NOT NULL,              -- segregation | secured | swaps | cover
    line          VARCHAR(12)  NOT NULL,              -- line on the form ('' for a code not in the catalog)
    label         VARCHAR      NOT NULL,
    code          VARCHAR(4)   NOT NULL,
    value         BIGINT                              -- whole dollars; NULL where the filing left it blank
);

CREATE TABLE IF NOT EXISTS rejected_filings (
    source_path     VARCHAR     NOT NULL,
    sha256          VARCHAR(64),                      -- NULL when the file could not be read at all
    reason          VARCHAR     NOT NULL,             -- a sentence saying why
    line_no         INTEGER,
    rejected_at     TIMESTAMP   NOT NULL,
    reason_code     VARCHAR(32) NOT NULL,             -- empty | binary | too_large | bad_number | ...
    quarantine_path VARCHAR,
    size_bytes      BIGINT,
    run_id          VARCHAR(32) NOT NULL
);

CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id        VARCHAR(32)  NOT NULL PRIMARY KEY,
    started_at    TIMESTAMP    NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR(16)  NOT NULL,              -- running | completed | failed
    files_seen    INTEGER,
    loaded        INTEGER,
    duplicates    INTEGER,
    rejected      INTEGER,
    value_rows    BIGINT,
    seconds       DOUBLE PRECISION,
    sources       VARCHAR
);

-- Filings committed to the warehouse whose lake partition has not been rewritten yet. Written in the
-- same transaction as the filing; cleared once the Parquet partition holds it. A crash in between
-- leaves rows here, and the next run finishes the job.
CREATE TABLE IF NOT EXISTS lake_pending (
    filing_id     VARCHAR(16)  NOT NULL,
    end_date      DATE         NOT NULL
);
