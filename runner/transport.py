"""HTTP transports for flow runs: TLS set up once per process, and only when it is needed.

Loading the system's certificate bundle costs tens of milliseconds, once per SSL context. A
run of many flows shares one verified context instead of building one per flow, and a flow
that only speaks plain http (a local service, the sandbox) never loads the bundle at all.
When proxy variables are set, httpx's own proxy routing is kept as it is.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
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


class _CheckOnClose(httpx.AsyncByteStream):
    """A response body stream that runs `after` once the body is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, after: Callable[[], Awaitable[None]]) -> None:
        self._stream = stream
        self._after = after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()
        await self._after()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, which also drops a connection whose framing the server broke.

    A server that sends bytes after a response that has no body (a 204 with a body, say) leaves
    them in the connection's buffer, and the next request on that connection would read them as
    its own response. h11 keeps such bytes as `trailing_data`: once a response is read, any idle
    connection holding some is closed instead of reused. The check reads httpcore's private
    attributes, guarded: if they change, it does nothing rather than fail.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CheckOnClose(response.stream, self._close_desynchronised)
        return response

    async def _close_desynchronised(self) -> None:
        for connection in list(getattr(self._pool, "connections", [])):
            state = getattr(getattr(connection, "_connection", None), "_h11_state", None)
            trailing = getattr(state, "trailing_data", (b"", False))
            if trailing[0] and connection.is_idle():
                await connection.aclose()


def client_options(*, verify: bool) -> dict[str, object]:
    """Keyword arguments for `httpx.AsyncClient` that set up TLS as described above."""
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES):
        return {"verify": verified_tls() if verify else False}
    return {
        "transport": GuardedTransport(verify=False),  # plain http: TLS is never used
        "mounts": {"https://": LazyTransport(lambda: GuardedTransport(verify=verified_tls() if verify else False))},
    }
