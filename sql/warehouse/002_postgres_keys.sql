-- PostgreSQL only: the natural keys of seg_values and filing_statements, and an index of the file
-- hashes, so that concurrent loaders can never duplicate a row. On the embedded DuckDB one process
-- writes at a time, and the loader's delete-then-insert per filing keeps them unique; there a key
-- index is an ART that a load holds in memory whole (the keys are hashes, so every batch touches all
-- of it): after 253,000 filings these two took 80 MB of the loader's memory, a little more with every
-- filing. filings keeps its primary key on both (filing_id is the first 16 hex digits of sha256, so
-- it makes the hash unique too). Warehouses created before keep the keys they were created with.
-- dialect: postgresql

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'seg_values_pkey') THEN
        ALTER TABLE seg_values ADD CONSTRAINT seg_values_pkey PRIMARY KEY (filing_id, statement, code);
    END IF;
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'filing_statements_pkey') THEN
        ALTER TABLE filing_statements ADD CONSTRAINT filing_statements_pkey PRIMARY KEY (filing_id, statement);
    END IF;
END $$;

CREATE UNIQUE INDEX IF NOT EXISTS filings_sha256_key ON filings (sha256);
CREATE INDEX IF NOT EXISTS seg_values_firm_date ON seg_values (firm, end_date);
CREATE INDEX IF NOT EXISTS filing_statements_key ON filing_statements (firm, end_date, statement);
CREATE UNIQUE INDEX IF NOT EXISTS rejected_filings_key ON rejected_filings (source_path, COALESCE(sha256, ''));
