-- The CFTC's monthly "Financial Data for FCMs" file (dailyseg cftc load): one row per firm and month-end
-- as the file states it, NULL where that year's file has no such column. A month holds the rows of the
-- newest file published for it (cftc_files.in_use); loading a file again changes nothing.

CREATE TABLE IF NOT EXISTS cftc_fcm_monthly (
    firm                     VARCHAR    NOT NULL,     -- as in the file (row number and footnote markers removed)
    as_of_date               DATE       NOT NULL,     -- the month-end the file is as of
    firm_as_of_date          DATE,                    -- the row's A/O date: the date of the report it comes from
    registered_as            VARCHAR,                 -- FCM | FCM BD | RFED ... (early files: FCM BD when B/D? is yes)
    dsro                     VARCHAR,
    adjusted_net_capital     BIGINT,
    net_capital_requirement  BIGINT,
    excess_net_capital       BIGINT,
    seg_assets               BIGINT,                  -- customers' assets in seg (daily 7180)
    seg_required             BIGINT,                  -- customers' seg required 4d(a)(2) (7060)
    seg_excess               BIGINT,                  -- excess/deficient funds in seg (7190)
    seg_target               BIGINT,                  -- target residual interest (7194)
    secured_funds            BIGINT,                  -- funds in separate section 30.7 accounts (7770, 7370)
    secured_required         BIGINT,                  -- customer amount Pt. 30 required (7360)
    secured_excess           BIGINT,                  -- excess/deficient funds in 30.7 (7380)
    secured_target           BIGINT,                  -- (7780)
    swaps_funds              BIGINT,                  -- funds in cleared swaps segregation (8720)
    swaps_required           BIGINT,                  -- cleared swaps segregation required (8590)
    swaps_excess             BIGINT,                  -- (8730)
    swaps_target             BIGINT,                  -- (8760)
    retail_forex_obligation  BIGINT,
    source_file              VARCHAR    NOT NULL,     -- where the file was found when loaded
    loaded_at                TIMESTAMP  NOT NULL
);

-- Every file loaded, one row per distinct content (re-loading the same bytes is a no-op). When two files
-- are published for the same month, the one filed later is in use (its rows are cftc_fcm_monthly's).
CREATE TABLE IF NOT EXISTS cftc_files (
    sha256        VARCHAR(64)  NOT NULL PRIMARY KEY,
    as_of_date    DATE         NOT NULL,
    filed_by      DATE,                               -- "FROM REPORTS FILED BY <date>"
    source_file   VARCHAR      NOT NULL,
    raw_path      VARCHAR      NOT NULL,              -- its copy in the lake (lake/cftc/raw/)
    size_bytes    BIGINT       NOT NULL,
    sheet         VARCHAR      NOT NULL,
    columns       VARCHAR      NOT NULL,              -- the fields its columns hold, comma-separated
    unrecognised  VARCHAR,                            -- headers of figure columns no field matched, '; '-separated
    n_firms       INTEGER      NOT NULL,
    in_use        BOOLEAN      NOT NULL,
    loaded_at     TIMESTAMP    NOT NULL,
    run_id        VARCHAR(32)  NOT NULL
);

-- For each as-of date the file names (the month-end and the rows' A/O dates): the last business day on
-- or before it in its month, the day whose daily filing the month-end figures are set against
-- (computed by the loader from the US business-day calendar; NULL when the month has none that early).
CREATE TABLE IF NOT EXISTS cftc_as_of_days (
    as_of_date    DATE         NOT NULL PRIMARY KEY,
    business_day  DATE
);
