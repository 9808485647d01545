"""Writing what a command produces (reports, imported flows, exported documents) to a file.

Written to a temporary file beside the target, then renamed over it: a full disk or a killed
process leaves the previous file, or none, never a truncated one. Any way the write fails (no such
folder, no permission, a folder in the way) is a `UsageError` naming the file, not a traceback.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from runner.errors import UsageError


def write_atomically(name: str | None, text: str) -> None:
    if not name:
        return
    target = Path(name)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise UsageError(f"cannot write {name}: {err.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; what we write is not
        os.replace(temporary, target)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"cannot write {name}: {err.strerror}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
