"""Applying the DDL in ``sql/warehouse`` (tables) and ``sql/views`` (views) to a warehouse.

Files run in name order. A file whose header says ``-- dialect: postgresql`` (or ``duckdb``) runs only
there. Statements are split on a ``;`` at the end of a line outside ``$$`` blocks. Views are dropped and
recreated, so a changed definition always lands; the whole set is applied once per content version
and the reference data files (recorded in ``dailyseg_meta``), so opening a warehouse that is up to date costs one query.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from etl.form.files import sql_dir

_DIALECT = re.compile(r"^--\s*dialect:\s*(\w+)", re.MULTILINE)
_VIEW_NAME = re.compile(r"CREATE\s+VIEW\s+(\w+)", re.IGNORECASE)


def split_statements(text: str) -> list[str]:
    statements, current, in_dollar = [], [], False
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("--")):
            continue
        current.append(line)
        if line.count("$$") % 2 == 1:
            in_dollar = not in_dollar
        if stripped.endswith(";") and not in_dollar:
            statements.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if any(part.strip() and not part.strip().startswith("--") for part in current):
        statements.append("\n".join(current))
    return statements


def sql_files(folder: str, dialect: str) -> list[Path]:
    files = []
    for path in sorted((sql_dir() / folder).glob("*.sql")):
        wanted = _DIALECT.search(path.read_text(encoding="utf-8"))
        if wanted is None or wanted[1] == dialect:
            files.append(path)
    return files


def schema_version(dialect: str) -> str:
    from etl.warehouse.seeds import seed_bytes
    digest = hashlib.sha256(seed_bytes())
    for folder in ("warehouse", "views"):
        for path in sql_files(folder, dialect):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def table_statements(dialect: str) -> list[str]:
    return [s for path in sql_files("warehouse", dialect) for s in split_statements(path.read_text("utf-8"))]


def view_statements(dialect: str) -> tuple[list[str], list[str]]:
    """(DROP statements in reverse dependency order, CREATE statements in order)."""
    creates = [s for path in sql_files("views", dialect) for s in split_statements(path.read_text("utf-8"))]
    names = [m[1] for s in creates if (m := _VIEW_NAME.search(s))]
    cascade = " CASCADE" if dialect == "postgresql" else ""
    drops = [f"DROP VIEW IF EXISTS {name}{cascade}" for name in reversed(names)]
    return drops, creates
