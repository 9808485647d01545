"""A minimal ASGI JSON API for the benchmark: fast enough that client overhead dominates."""

from __future__ import annotations

import itertools
import json
from typing import Any

_ids = itertools.count(1)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    n = next(_ids)
    payload = {
        "data": {"id": n, "token": f"tok-{n}", "path": scope["path"], "items": [{"id": n, "sku": "A"}]},
        "meta": {},
    }
    raw = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"x-request-id", str(n).encode())]
    await send({"type": "http.response.start", "status": 201 if scope["method"] == "POST" else 200, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
