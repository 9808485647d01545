"""Serving the sandbox: in the foreground (`apiflow sandbox`) or in a background thread for the
length of a run (`apiflow run --sandbox`), on a loopback port that is free."""

from __future__ import annotations

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


def serve_forever(host: str, port: int) -> None:
    """Serve a sandbox in the foreground until interrupted."""
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
