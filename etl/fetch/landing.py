"""Writing fetched filings into the landing zone: a local folder (each file written atomically, and made
durable in batches by ``flush``) or an fsspec URL (``s3://bucket/landing``, where each object is written
whole)."""

from __future__ import annotations

import hashlib
import os
from os.path import splitext
from pathlib import Path

from etl.lake.durable import atomic_write
from etl.settings import is_url


class Landing:
    """``<landing>/<firm-slug>/<file name>``; paths are strings (local paths, or URLs for object stores)."""

    def __init__(self, location: str | Path):
        location = str(location)
        self.location = location
        self._fs = None
        if is_url(location):
            import fsspec
            self._fs, self._root = fsspec.core.url_to_fs(location)
            self._protocol = location.split("://", 1)[0]
        else:
            self._root = str(Path(location.removeprefix("file://")).absolute())

    def path(self, folder: str, name: str) -> str:
        if self._fs is None:
            return str(Path(self._root) / folder / name)
        return f"{self._protocol}://{self._root.rstrip('/')}/{folder}/{name}"

    def _key(self, path: str) -> str:
        return path.split("://", 1)[1] if "://" in path else path

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when there is no such file."""
        try:
            if self._fs is None:
                return Path(path).read_bytes()
            return self._fs.cat_file(self._key(path))
        except FileNotFoundError:
            return None

    def write(self, path: str, data: bytes) -> None:
        if self._fs is None:
            atomic_write(Path(path), data, durable=False)
        else:
            self._fs.pipe_file(self._key(path), data)

    def flush(self) -> None:
        """Make the files written so far durable (before the fetch log says they landed)."""
        if self._fs is None:
            os.sync()

    def keep_aside(self, path: str, data: bytes) -> str:
        """Keep an earlier version of ``path`` (its bytes ``data``) as ``<stem>.<sha256[:12]><suffix>``
        beside it, so that nothing fetched is lost before it is ingested; return its path."""
        stem, suffix = splitext(path)
        aside = f"{stem}.{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
        if self.read(aside) is None:
            self.write(aside, data)
        return aside

    def check_writable(self) -> None:
        """Raise OSError when the landing zone cannot be written (before any request is made)."""
        if self._fs is None:
            Path(self._root).mkdir(parents=True, exist_ok=True)
            probe = Path(self._root) / ".dailyseg-fetch-probe"
            probe.write_bytes(b"")
            probe.unlink()
        else:
            self._fs.makedirs(self._root, exist_ok=True)
