-- PostgreSQL only: the fetch log's lookups (the last state of each address; the address of a file's
-- bytes, for every ingest batch) stay index scans as the log grows.
-- dialect: postgresql

CREATE INDEX IF NOT EXISTS fetch_log_url ON fetch_log (url, fetched_at);
CREATE INDEX IF NOT EXISTS fetch_log_sha256 ON fetch_log (sha256);
