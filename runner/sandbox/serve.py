"""Serving the sandbox: in the foreground (`apiflow sandbox`, which `apiflow run --sandbox`
starts as a child process), or in a background thread of this process (tests, and programs that
embed the sandbox), on a loopback port that is free."""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from runner.sandbox.app import create_app
from runner.sandbox.catalog import ACCESS_TOKEN, STORE_HASH


def environment(base_url: str) -> dict[str, str]:
    """The BC_* variables that point the BigCommerce flows at a sandbox at `base_url`."""
    return {
        "BC_API_URL": base_url,
        "BC_PAYMENTS_URL": base_url,
        "BC_STORE_HASH": STORE_HASH,
        "BC_ACCESS_TOKEN": ACCESS_TOKEN,
    }


@contextmanager
def serve_in_thread(app: Any = None, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` (a new sandbox by default) until the block ends; yields its base URL."""
    config = uvicorn.Config(app or create_app(), host=host, port=port, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="apiflow-sandbox", daemon=True)
    thread.start()
    ready = threading.Event()
    while not server.started:  # wait on readiness: `started` is set once the socket listens
        if not thread.is_alive():
            raise OSError(f"the sandbox could not listen on {host}:{port}")
        ready.wait(0.005)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{bound[0]}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port` (0: a free port); a port in use is a `SandboxPortError`."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        # IPPROTO_TCP said outright: asyncio turns Nagle's algorithm off only on sockets that say
        # so, and with it on every POST waits 40 ms for a delayed ACK.
        listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as err:
        raise SandboxPortError(f"cannot listen on {host}: {err}") from None
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(128)
    except OSError as err:
        listening.close()
        if err.errno == errno.EADDRINUSE:
            raise SandboxPortError(
                f"port {port} on {host} is in use; choose another with --port, or 0 for any"
            ) from None
        raise SandboxPortError(f"cannot listen on {host}:{port}: {(err.strerror or str(err)).lower()}") from None
    return listening


class SandboxPortError(Exception):
    """The sandbox cannot listen where it was asked to."""


def serve_forever(listening: socket.socket, quota: int | None = None) -> None:
    """Serve a sandbox on `listening` in the foreground until interrupted; `quota` requests per
    store per 30 s (BigCommerce's plan limits), the sandbox's own default when None."""
    app = create_app() if quota is None else create_app(quota=quota)
    config = uvicorn.Config(app, log_level="warning")
    uvicorn.Server(config).run(sockets=[listening])
