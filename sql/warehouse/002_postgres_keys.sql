-- PostgreSQL only: the natural key of seg_values, so that concurrent loaders can never duplicate a
-- value. (On the embedded DuckDB one process writes at a time, and an index on the largest table
-- would slow every bulk insert; the loader's delete-then-insert per filing keeps it unique.)
-- dialect: postgresql

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'seg_values_pkey') THEN
        ALTER TABLE seg_values ADD CONSTRAINT seg_values_pkey PRIMARY KEY (filing_id, statement, code);
    END IF;
END $$;

CREATE INDEX IF NOT EXISTS seg_values_firm_date ON seg_values (firm, end_date);
CREATE INDEX IF NOT EXISTS filing_statements_key ON filing_statements (firm, end_date, statement);
CREATE UNIQUE INDEX IF NOT EXISTS rejected_filings_key ON rejected_filings (source_path, COALESCE(sha256, ''));
