-- PostgreSQL only: one manifest row per path, so that loaders running side by side upsert it.
-- dialect: postgresql
CREATE UNIQUE INDEX IF NOT EXISTS landed_files_path ON landed_files (path);
