"""A small HTTP/1.1 transport for httpx on asyncio streams and h11, with a keep-alive pool.

httpx stays the API (requests, cookies, redirects, auth); this sends the bytes. httpx's own
transport goes through httpcore and anyio, whose layers cost about as much as the rest of a
step (bench/flow_overhead.py); h11 on asyncio's streams does the same work directly. It speaks
HTTP/1.1 only (as apiflow always has), over TCP or TLS. Proxies are left to httpx's transport
(see transport.py). A connection is reused only when h11 says both sides finished cleanly and
nothing was left in its buffer: a server that sends more than it framed (a body after a 204)
never passes its extra bytes off as the next response.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import h11
import httpx

_READ = 64 * 1024
Origin = tuple[str, str, int]  # scheme, host, port
# A request extension: the caller bounds the whole exchange itself (apiflow's engine always
# does, http_exchange.send), so each read is not timed on its own as well. A timer per read
# was about 8% of a request's CPU here, for a bound the caller's own reaches first.
BOUNDED_BY_CALLER = "apiflow.bounded"


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    state: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    received: int = 0  # bytes read for the current request

    def reusable(self) -> bool:
        state = self.state
        return state.our_state is h11.DONE and state.their_state is h11.DONE and not state.trailing_data[0]

    def close(self) -> None:
        """Close now, without waiting: for error paths, which may be running under cancellation."""
        self.writer.close()

    async def aclose(self) -> None:
        """Close and wait until the socket is released, so none outlives the event loop."""
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)


class H11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams; idle connections are kept per origin and reused."""

    def __init__(self, tls: Callable[[], ssl.SSLContext] | None = None, max_idle: int = 8) -> None:
        self._tls = tls  # made on the first https request: plain http never loads certificates
        self._idle: dict[Origin, list[_Connection]] = {}
        self._max_idle = max_idle

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = (
            request.url.scheme,
            request.url.host,
            request.url.port or (443 if request.url.scheme == "https" else 80),
        )
        timeouts = request.extensions.get("timeout") or {}
        read = None if request.extensions.get(BOUNDED_BY_CALLER) else timeouts.get("read")
        reused = self._take(origin)
        connection = reused or await self._connect(origin, timeouts.get("connect"))
        try:
            response = await self._exchange(connection, request, read)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            if reused is None or connection.received:
                connection.close()
                raise
            # Not a byte came back on a kept-alive connection: the server had closed it before it
            # read this request. Send it once more on a new connection, as browsers do.
            connection.close()
            connection = await self._connect(origin, timeouts.get("connect"))
            response = await self._sent_or_closed(connection, request, read)
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers.raw_items(),
            stream=_Body(self, origin, connection, read),
            extensions={"http_version": b"HTTP/" + response.http_version, "reason_phrase": response.reason},
        )

    async def _sent_or_closed(
        self, connection: _Connection, request: httpx.Request, timeout: float | None
    ) -> h11.Response:
        try:
            return await self._exchange(connection, request, timeout)
        except BaseException:
            connection.close()
            raise

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._tls is None:
                raise httpx.UnsupportedProtocol("this transport was made without TLS")
            context = self._tls()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=_READ)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s") from None
        except (OSError, ssl.SSLError) as err:
            raise httpx.ConnectError(str(err) or type(err).__name__) from err
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, request: httpx.Request, timeout: float | None) -> h11.Response:
        state = connection.state
        connection.received = 0
        target = request.url.raw_path
        headers = [(k, v) for k, v in request.headers.raw]
        try:
            body: bytes | None = request.content  # a body built from bytes: sent with the head
        except httpx.RequestNotRead:
            body = None  # a file: streamed a chunk at a time, never read whole
        try:
            data = state.send(h11.Request(method=request.method.encode(), target=target, headers=headers)) or b""
            if body:
                data += state.send(h11.Data(data=body)) or b""
            if body is not None:
                data += state.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as err:  # a header value with a line break, a bad target...
            raise httpx.LocalProtocolError(f"the request cannot be sent: {err}") from None
        await _write(connection, data)
        if body is None:
            assert isinstance(request.stream, httpx.AsyncByteStream)
            async for chunk in request.stream:
                await _write(connection, state.send(h11.Data(data=chunk)) or b"")
            await _write(connection, state.send(h11.EndOfMessage()) or b"")
        while True:
            event = await _next_event(connection, timeout)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before the response")

    async def _release(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if connection.reusable() and len(idle) < self._max_idle:
            connection.state.start_next_cycle()
            idle.append(connection)
        else:
            await connection.aclose()

    async def aclose(self) -> None:
        connections = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for connection in connections:
            await connection.aclose()


async def _write(connection: _Connection, data: bytes) -> None:
    try:
        connection.writer.write(data)
        await connection.writer.drain()
    except OSError as err:
        raise httpx.WriteError(str(err) or type(err).__name__) from err


async def _next_event(connection: _Connection, timeout: float | None) -> object:
    state = connection.state
    while True:
        try:
            event = state.next_event()
        except h11.RemoteProtocolError as err:
            raise httpx.RemoteProtocolError(str(err)) from err
        if event is not h11.NEED_DATA:
            return event
        try:
            if timeout is None:
                data = await connection.reader.read(_READ)
            else:
                async with asyncio.timeout(timeout):
                    data = await connection.reader.read(_READ)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no data within {timeout} s") from None
        except OSError as err:
            raise httpx.ReadError(str(err) or type(err).__name__) from err
        connection.received += len(data)
        state.receive_data(data)


class _Body(httpx.AsyncByteStream):
    """A response body read from its connection; the connection goes back to the pool once the
    body has been read to its end, and is closed if it was not."""

    def __init__(self, transport: H11Transport, origin: Origin, connection: _Connection, timeout: float | None) -> None:
        self._transport = transport
        self._origin = origin
        self._connection = connection
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = await _next_event(self._connection, self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._done = True
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError("the server closed the connection in the middle of the body")

    async def aclose(self) -> None:
        if self._done:
            await self._transport._release(self._origin, self._connection)
        else:
            self._connection.close()
