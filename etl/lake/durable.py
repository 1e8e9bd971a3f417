"""Writing a file so that readers never see half of it: through a hidden temporary renamed into place.

The temporary is named ``.<name>.tmp-<pid>-<random>`` in the target's folder, so a later run can tell one
left by a killed writer (whose process is gone) from one a live writer is still filling.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(target: Path, content: bytes | Callable[[BinaryIO], None], durable: bool = True) -> None:
    """Write ``content`` (bytes, or a function that writes to the open file) to ``target`` atomically.

    ``durable`` syncs the file before the rename; without it the caller makes a whole batch durable at once.
    """
    if not target.parent.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(content, (bytes, bytearray, memoryview)):
                handle.write(content)
            else:
                content(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
