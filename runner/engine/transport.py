"""How flow runs reach servers: apiflow's HTTP/1.1 transport, TLS set up once per process.

Loading the system's certificate bundle costs tens of milliseconds, once per SSL context. A
run of many flows shares one verified context, made on the first https request, and a flow
that only speaks plain http (a local service, the sandbox) never loads the bundle at all.
Requests go through `H11Transport` (h11 on asyncio streams, see h11_transport.py); when proxy
variables are set, httpx's own transport and proxy routing are kept as they are.
"""

from __future__ import annotations

import os
import ssl
from functools import cache

import httpx

from runner.engine.h11_transport import H11Transport

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


@cache
def verified_tls() -> ssl.SSLContext:
    """The process's one SSL context that verifies certificates."""
    return httpx.create_ssl_context(verify=True)


@cache
def unverified_tls() -> ssl.SSLContext:
    """For `verify: false`: TLS without checking the certificate or the host name."""
    return httpx.create_ssl_context(verify=False)


class Pools:
    """The keep-alive connections of one whole run, one pool per TLS mode.

    Every flow run has its own `httpx.AsyncClient` (its cookies are its session) but borrows
    connections from here, so a thousand flows against one server open a handful of
    connections, not a thousand. The run closes the pools when it ends.
    """

    def __init__(self, max_idle: int = 8) -> None:
        self._max_idle = max_idle
        self._pools: dict[bool, H11Transport] = {}

    def transport(self, *, verify: bool) -> httpx.AsyncBaseTransport:
        return _Borrowed(self, verify)

    def pool(self, *, verify: bool) -> H11Transport:
        pool = self._pools.get(verify)
        if pool is None:
            pool = H11Transport(tls=verified_tls if verify else unverified_tls, max_idle=self._max_idle)
            self._pools[verify] = pool
        return pool

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class _Borrowed(httpx.AsyncBaseTransport):
    """A run's pools as one client sees them: a request goes through the pool of its TLS mode
    (the flow's, or its step's `verify`); closing the client leaves the pools to the run."""

    def __init__(self, pools: Pools, verify: bool) -> None:
        self._pools = pools
        self._verify = verify

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        verify = request.extensions.get("apiflow.verify", self._verify)
        return await self._pools.pool(verify=verify).handle_async_request(request)


def client_options(pools: Pools, *, verify: bool) -> dict[str, object]:
    """Keyword arguments for `httpx.AsyncClient`: a transport from the run's `pools`, or httpx's
    own behind a proxy."""
    if proxied():
        return {"verify": verified_tls() if verify else False}
    return {"transport": pools.transport(verify=verify)}


def proxied() -> bool:
    """Whether the environment names a proxy: then httpx routes each request (its mounts)."""
    return any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES)
