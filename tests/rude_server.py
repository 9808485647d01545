"""A server that misbehaves on purpose, written on raw sockets: what no framework would send.

Paths:
- `/ok`: a small JSON body, keep-alive.
- `/raw`: whatever bytes a test put in `RAW_RESPONSE`, then the connection closes.
- `/bye`: the same, then the server closes the connection without a `Connection: close`.
- `/smuggle`: a 204 followed, on the same connection, by a whole second response
  (`{"injected": true}`) that a careless client reads as the answer to its next request.
- `/endless`: a chunked body that never ends (a chunk every few milliseconds).
- `/trickle`: a 1 MiB Content-Length body sent one byte every 50 ms.
- `/gzip-bomb/N`: gzip that inflates to N MiB of zeros (N=1024: about 1 MiB of gzip, 1 GiB inflated).
- `/deflate-raw`, `/deflate-zlib`: `/ok`'s body deflated, without and with zlib's header.
- `/gzip-broken`: gzip whose end is garbage.
- `/big`: a 60 MiB body of JSON text.
- `/deep`: JSON nested 100,000 levels.
- `/nan`: JSON holding NaN and Infinity.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

OK = b'{"ok": true}'
# What `/raw` sends, as it is, before it hangs up: set by a test (one at a time).
RAW_RESPONSE = [b""]
CONNECTIONS = [0]  # connections accepted so far, for tests of connection reuse


@cache
def gzip_bomb(mebibytes: int) -> bytes:
    """Gzip that inflates to `mebibytes` MiB of zeros (1,024 MiB: about 1 MiB of gzip)."""
    block = b"\0" * (1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, framed as gzip by hand
    body = bytearray(gzip.compress(b"")[:10])  # the 10-byte gzip header
    crc = 0
    for _ in range(mebibytes):
        body += compressor.compress(block)
        crc = zlib.crc32(block, crc)
    body += compressor.flush()
    body += crc.to_bytes(4, "little") + ((mebibytes * len(block)) & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(body)


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


async def _respond(path: str, writer: asyncio.StreamWriter) -> bool:
    """Write the answer to `path`; False when the connection must close afterwards."""
    if path == "/raw":
        writer.write(RAW_RESPONSE[0])
        await writer.drain()
        return False
    if path == "/smuggle":
        injected = b'{"injected": true}'
        smuggled = _head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(injected))})
        writer.write(_head("204 No Content", {}) + smuggled + injected)
    elif path == "/endless":
        writer.write(_head("200 OK", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
        while True:
            writer.write(b"400\r\n" + b"[" * 1024 + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.002)
    elif path == "/trickle":
        writer.write(_head("200 OK", {"Content-Type": "text/plain", "Content-Length": str(1024 * 1024)}))
        while True:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)
    elif path.startswith("/gzip-bomb"):
        bomb = gzip_bomb(int(path.rpartition("/")[2] or 1024))
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": str(len(bomb))}
        writer.write(_head("200 OK", headers) + bomb)
    elif path in ("/deflate-raw", "/deflate-zlib", "/gzip-broken"):
        if path == "/deflate-raw":
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            body, encoding = packer.compress(OK) + packer.flush(), "deflate"
        elif path == "/deflate-zlib":
            body, encoding = zlib.compress(OK), "deflate"
        else:
            body, encoding = gzip.compress(OK)[:-12] + b"garbage!" * 3, "gzip"
        headers = {"Content-Type": "application/json", "Content-Encoding": encoding, "Content-Length": str(len(body))}
        writer.write(_head("200 OK", headers) + body)
    elif path in ("/big", "/deep", "/nan"):
        body = {
            "/big": b'"' + b"a" * (60 * 1024 * 1024) + b'"',
            "/deep": b"[" * 100_000 + b"]" * 100_000,
            "/nan": b'{"a": NaN, "b": Infinity, "c": 1}',
        }[path]
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        writer.write(_head("200 OK", headers) + body)
    else:
        writer.write(_head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(OK))}) + OK)
    await writer.drain()
    return path != "/bye"  # `/bye` answers, then hangs up without saying so


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    CONNECTIONS[0] += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode().split("?")[0]
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            if not await _respond(path, writer):
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


TLS = Path(__file__).resolve().parent / "tls"  # a self-signed certificate for 127.0.0.1


@contextmanager
def rude_server(*, tls: bool = False) -> Iterator[str]:
    """Serve on a free loopback port in a thread (over TLS, self-signed, with `tls`); yields the base URL."""
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        server = await asyncio.start_server(_serve_connection, sock=sock, ssl=context)
        ready.set()
        async with server:
            await stop
        handlers = asyncio.all_tasks() - {asyncio.current_task()}
        for task in handlers:  # endless bodies and trickles are still writing
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        loop.call_soon_threadsafe(lambda: stop.set_result(None) if stop and not stop.done() else None)
        thread.join(5)
        loop.close()
