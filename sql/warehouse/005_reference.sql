-- Reference data the analyst views join to, loaded from the reviewed files in expectations/ each time
-- their content changes (like dbt seeds): the line-item catalog and the firm-name aliases.

CREATE TABLE IF NOT EXISTS form_lines (
    statement      VARCHAR(12)  NOT NULL,             -- segregation | secured | swaps | cover
    line           VARCHAR(12)  NOT NULL,
    code           VARCHAR(4)   NOT NULL,
    label          VARCHAR      NOT NULL,
    sign           VARCHAR(8),                        -- positive | negative | either
    location       VARCHAR(20),                       -- where the money sits (fund lines only)
    figure         VARCHAR(20),                       -- the headline figure a line carries (requirement...)
    required_from  DATE,
    required_to    DATE
);

ALTER TABLE form_lines ADD COLUMN IF NOT EXISTS figure VARCHAR(20);  -- warehouses made before the column

CREATE TABLE IF NOT EXISTS firm_aliases (
    alias          VARCHAR      NOT NULL,             -- a name a firm filed under
    firm           VARCHAR      NOT NULL              -- the one name the analyst views use for it
);

-- Each statement's headline figures, beside its row (the trend views read 750,000 rows instead of
-- 25 million values). Filled by the loader from the same parsed values as seg_values, and recomputed
-- from seg_values whenever the schema or the catalog changes (etl.warehouse.seeds).
ALTER TABLE filing_statements ADD COLUMN IF NOT EXISTS requirement BIGINT;
ALTER TABLE filing_statements ADD COLUMN IF NOT EXISTS funds BIGINT;
ALTER TABLE filing_statements ADD COLUMN IF NOT EXISTS excess BIGINT;
ALTER TABLE filing_statements ADD COLUMN IF NOT EXISTS target BIGINT;
ALTER TABLE filing_statements ADD COLUMN IF NOT EXISTS excess_over_target BIGINT;
