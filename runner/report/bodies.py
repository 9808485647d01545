"""How a body is shown: as text, or, when it is not text (an image, a PDF, compressed bytes),
as a one-line description that never puts raw bytes on a terminal or in a report."""

from __future__ import annotations

import hashlib

_CONTROL = set(range(0, 32)) - {9, 10, 13}


def binary_description(raw: bytes) -> str | None:
    """`<binary: N bytes, sha256 …>` for a body that is not text; None for text."""
    if not raw:
        return None
    head = raw[:1024]
    try:
        raw.decode("utf-8")
        controls = sum(1 for b in head if b in _CONTROL)
        if b"\x00" not in head and controls * 10 <= len(head):
            return None
    except UnicodeDecodeError:
        pass
    return f"<binary: {len(raw):,} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:16]}…>"
