-- What `dailyseg fetch` asked the firms' web sites for, and what came back: one row per address
-- requested in a run (an index page or a filing), so that an unchanged file is asked for
-- conditionally (its ETag and Last-Modified) and never downloaded twice, and every fetched filing
-- traces back to its address.

CREATE TABLE IF NOT EXISTS fetch_log (
    run_id         VARCHAR(32)  NOT NULL,
    firm           VARCHAR      NOT NULL,             -- as the sources file names it
    source         VARCHAR      NOT NULL,             -- the sources file's url: an index page or a template
    url            VARCHAR      NOT NULL,             -- the address requested
    kind           VARCHAR(8)   NOT NULL,             -- index | file
    day            DATE,                              -- the business day a template was expanded for
    fetched_at     TIMESTAMP    NOT NULL,
    http_status    INTEGER,                           -- NULL when no answer came (timeout, refused, robots.txt)
    bytes          BIGINT,                            -- the body's size, when one was downloaded
    sha256         VARCHAR(64),                       -- the file's content as last known (kept on a 304)
    etag           VARCHAR,
    last_modified  VARCHAR,
    landing_path   VARCHAR,                           -- where the file is in the landing zone
    outcome        VARCHAR(16)  NOT NULL,             -- new | republished | unchanged | not_published | listed | failed
    error          VARCHAR,                           -- why it failed, in a sentence
    attempts       INTEGER
);

-- The address a filing's bytes were fetched from (NULL for a file that did not come from a fetch).
ALTER TABLE filings ADD COLUMN IF NOT EXISTS source_url VARCHAR;
