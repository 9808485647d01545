"""HTTP transports for flow runs: TLS set up once per process, and only when it is needed.

Loading the system's certificate bundle costs tens of milliseconds, once per SSL context. A
run of many flows shares one verified context instead of building one per flow, and a flow
that only speaks plain http (a local service, the sandbox) never loads the bundle at all.
When proxy variables are set, httpx's own proxy routing is kept as it is.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from functools import cache

import httpx

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


@cache
def verified_tls() -> ssl.SSLContext:
    """The process's one SSL context that verifies certificates."""
    return httpx.create_ssl_context(verify=True)


class LazyTransport(httpx.AsyncBaseTransport):
    """A transport built on the first request that needs it."""

    def __init__(self, factory: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._factory = factory
        self._inner: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = self._factory()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def client_options(*, verify: bool) -> dict[str, object]:
    """Keyword arguments for `httpx.AsyncClient` that set up TLS as described above."""
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES):
        return {"verify": verified_tls() if verify else False}
    return {
        "transport": httpx.AsyncHTTPTransport(verify=False),  # plain http: TLS is never used
        "mounts": {
            "https://": LazyTransport(lambda: httpx.AsyncHTTPTransport(verify=verified_tls() if verify else False))
        },
    }
