-- The landing zone's manifest: every file an ingest has read, with the size and modification time it had
-- when it was read and the hash of its bytes. The next run reads only the files that are new or whose
-- size or time changed (`dailyseg ingest --rescan` reads them all), so a nightly load costs the same in
-- year ten as in year one. Written in the same transaction as the batch the files belong to.
CREATE TABLE IF NOT EXISTS landed_files (
    path          VARCHAR      NOT NULL,              -- where the file was found, absolute
    size_bytes    BIGINT       NOT NULL,
    mtime_ns      BIGINT       NOT NULL,              -- modification time, nanoseconds since 1970
    sha256        VARCHAR(64)  NOT NULL,
    read_at       TIMESTAMP    NOT NULL
);
