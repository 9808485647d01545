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


def client_options(*, verify: bool) -> dict[str, object]:
    """Keyword arguments for `httpx.AsyncClient`: apiflow's transport, or httpx's behind a proxy."""
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES):
        return {"verify": verified_tls() if verify else False}
    return {"transport": H11Transport(tls=verified_tls if verify else unverified_tls)}
