"""The filters and tests apiflow adds to Jinja's: encodings, digests and signatures that APIs ask
for (`b64encode`, `sha256`, `hmac_sha256`), a JWT's payload, and regular-expression tests.

Digests are lowercase hex, as APIs print them. Text is encoded as UTF-8 first; bytes stay bytes.
A value these cannot read (`'%%%' | b64decode`, a token that is not a JWT) raises ValueError,
which a render reports as a located error of the step.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def b64encode(value: Any) -> str:
    return base64.b64encode(_bytes(value)).decode("ascii")


def b64decode(value: Any) -> str:
    """Standard or URL-safe base64, padded or not, to text (bytes that are not UTF-8 are replaced)."""
    text = str(value).strip()
    try:
        altchars = b"-_" if "-" in text or "_" in text else None
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"b64decode: not base64: {err}") from None
    return raw.decode("utf-8", errors="replace")


def sha256(value: Any) -> str:
    return hashlib.sha256(_bytes(value)).hexdigest()


def md5(value: Any) -> str:
    return hashlib.md5(_bytes(value), usedforsecurity=False).hexdigest()


def hmac_sha256(value: Any, key: Any) -> str:
    """The HMAC-SHA256 of the value with `key`, as webhooks sign their bodies."""
    return hmac.new(_bytes(key), _bytes(value), hashlib.sha256).hexdigest()


def jwt_payload(value: Any) -> Any:
    """The payload of a JWT, decoded and not verified: to read its claims (`sub`, `exp`)."""
    parts = str(value).removeprefix("Bearer ").strip().split(".")
    if len(parts) != 3:
        raise ValueError(f"jwt_payload: a JWT has 3 parts separated by dots, this has {len(parts)}")
    try:
        return json.loads(b64decode(parts[1]))
    except json.JSONDecodeError:
        raise ValueError("jwt_payload: the payload is not JSON") from None
    except ValueError:
        raise ValueError("jwt_payload: the payload is not base64url") from None


def is_match(value: Any, pattern: str) -> bool:
    """`x is match('^ord_')`: the pattern matches at the start (Python's re.match)."""
    return re.match(pattern, str(value)) is not None


def is_search(value: Any, pattern: str) -> bool:
    """`x is search('[0-9]+')`: the pattern matches anywhere (Python's re.search)."""
    return re.search(pattern, str(value)) is not None


FILTERS: dict[str, Callable[..., Any]] = {
    "b64encode": b64encode,
    "b64decode": b64decode,
    "sha256": sha256,
    "md5": md5,
    "hmac_sha256": hmac_sha256,
    "jwt_payload": jwt_payload,
}
TESTS: dict[str, Callable[..., bool]] = {"match": is_match, "search": is_search}
