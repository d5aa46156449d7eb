"""Output files: written atomically, so a reader (or a rerun after SIGKILL) sees the old file or
the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temp file, fsync and ``os.replace``.

    Temp files are named ``.<name>.*.tmp`` beside the target, so a killed run's leftovers are easy
    to find and sweep. Text that still holds a lone surrogate (an undecodable file name that no
    caller escaped) is written with it escaped (``\\udcd5``): an odd name never stops a write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(data: dict) -> str:
    """JSON as every report writes it: indented, UTF-8 kept, NaN refused."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
