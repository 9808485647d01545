"""Turns a step's request into an HTTP exchange: render, send, and record what happened.

Sending goes through one `httpx.AsyncClient` per flow run, so connections are reused and cookies
set by one step are sent by the next, as in a browser session. A transport failure becomes one
line a person can act on ("cannot connect to 127.0.0.1:9: connection refused").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import mimetypes
import os
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any

import httpx

from runner.engine.h11_transport import BOUNDED_BY_CALLER
from runner.engine.redact import Redactor
from runner.engine.results import ReceivedResponse, SentRequest
from runner.flowfile.model import FileRef, HttpDefaults, Request
from runner.flowfile.templates import Template, Tree
from runner.limits import MAX_JSON_DEPTH, deeper_than


class ExchangeError(Exception):
    """The request could not be built or got no response; the message is one line."""


def _text(value: Any) -> str:
    """A rendered value as it goes into a header or query string (JSON spelling for scalars)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _render(value: Tree | Template | str | None, scope: dict[str, Any]) -> Any:
    return value.render(scope) if isinstance(value, (Tree, Template)) else value


def _pairs(value: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, item in (value or {}).items():
        for one in item if isinstance(item, list) else [item]:
            pairs.append((key, _text(one)))
    return pairs


@dataclass(slots=True)
class Outgoing:
    """A request ready to send, with what httpx takes at send time, and the files it streams."""

    request: httpx.Request
    auth: httpx.Auth | None = None
    follow_redirects: bool | None = None
    files: list[IO[bytes]] = field(default_factory=list)  # closed by `close`, sent or not
    body_note: bytes | None = None  # what reports show for a streamed body (files are never dumped)
    asynchronous: bool = True  # built for an `httpx.AsyncClient` (else a blocking `httpx.Client`)

    def close(self) -> None:
        for handle in self.files:
            handle.close()

    def sent(self) -> SentRequest:
        request = self.request
        body = self.body_note if self.body_note is not None else request.content
        return SentRequest(request.method, str(request.url), list(request.headers.multi_items()), body)


def build_request(
    client: httpx.AsyncClient | httpx.Client,
    request: Request,
    defaults: HttpDefaults,
    scope: dict[str, Any],
    redactor: Redactor,
) -> Outgoing:
    """Render every template of `request` (over the flow's `http` defaults) into a request to send.
    Files it names are opened here; the caller closes them (`Outgoing.close`) once it is sent."""
    url = _url(request, defaults, scope)
    headers = {k.lower(): (k, v) for k, v in _pairs(_render(defaults.headers, scope))}
    headers.update({k.lower(): (k, v) for k, v in _pairs(_render(request.headers, scope))})
    auth = _auth(_render(request.auth or defaults.auth, scope), redactor)
    if isinstance(auth, str) and "authorization" not in headers:
        headers["authorization"] = ("Authorization", auth)
    redactor.learn_headers(headers.values())
    for name, value in _pairs(_render(request.cookies, scope)):
        redactor.learn_headers([("cookie", f"{name}={value}")])
        client.cookies.set(name, value)
    outgoing = Outgoing(
        request=_unbuilt(),  # replaced below, once the body is built
        auth=auth if isinstance(auth, httpx.Auth) else None,
        follow_redirects=request.follow_redirects,
        asynchronous=isinstance(client, httpx.AsyncClient),
    )
    try:
        body = _body(request, scope, redactor, outgoing, headers)
        extensions = {} if request.verify is None else {"apiflow.verify": request.verify}
        outgoing.request = client.build_request(
            request.method,
            url,
            headers=list(headers.values()),
            timeout=request.timeout or defaults.timeout,
            extensions=extensions,
            **body,
        )
    except (TypeError, ValueError) as err:
        outgoing.close()
        raise ExchangeError(f"cannot build the request: {err}") from None
    except BaseException:
        outgoing.close()
        raise
    return outgoing


@cache
def _unbuilt() -> httpx.Request:
    """One placeholder for every request not built yet (a new one per step would cost a parse)."""
    return httpx.Request("GET", "http://unbuilt.invalid/")


def _auth(spec: Any, redactor: Redactor) -> str | httpx.Auth | None:
    """An `Authorization` value for basic and bearer, httpx's `DigestAuth` for digest (it answers
    the server's challenge). The password and token are secrets from here on, whatever they are."""
    if not isinstance(spec, dict) or not spec:
        return None
    kind, value = next(iter(spec.items()))
    if kind == "bearer":
        redactor.add(_text(value), "TOKEN")
        return f"Bearer {_text(value)}"
    credentials = value if isinstance(value, dict) else {}
    username, password = _text(credentials.get("username", "")), _text(credentials.get("password", ""))
    redactor.add(password, "PASSWORD")
    if kind == "digest":
        return httpx.DigestAuth(username, password)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    redactor.add(token, "BASIC_AUTH")
    return f"Basic {token}"


def _url(request: Request, defaults: HttpDefaults, scope: dict[str, Any]) -> httpx.URL:
    text = _text(_render(request.url, scope))
    if not text.startswith(("http://", "https://")):
        raise ExchangeError(f"the url `{text}` is not an absolute http(s) URL")
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as err:
        raise ExchangeError(f"the url `{text}` is not valid: {err}") from None
    if url.port is not None and not 0 < url.port < 65536:
        raise ExchangeError(f"the url `{text}` has the port {url.port}; a port is 1 to 65535")
    own = _pairs(_render(request.params, scope))
    inherited = [p for p in _pairs(_render(defaults.params, scope)) if p[0] not in {k for k, _ in own}]
    # Merged here: httpx's own `params=` would replace a query written in the url instead.
    return url.copy_merge_params(tuple(inherited + own)) if own or inherited else url


def _body(
    request: Request, scope: dict[str, Any], redactor: Redactor, outgoing: Outgoing, headers: dict[str, Any]
) -> dict[str, Any]:
    """The httpx keyword for the request's one body: json, content, data or files."""
    if request.json is not None:
        body = _render(request.json, scope)
        redactor.learn_json(body)
        return {"json": body}
    if request.body is not None:
        return {"content": _text(_render(request.body, scope)).encode()}
    if request.body_file is not None:
        kind = _AsyncFileStream if outgoing.asynchronous else _FileStream
        stream = kind(_open(request.body_file, outgoing))
        outgoing.body_note = _file_note(request.body_file, stream.size).encode()
        headers.setdefault("content-length", ("Content-Length", str(stream.size)))  # not chunked
        return {"content": stream}
    if request.form is not None:
        return {"data": dict(_pairs(_render(request.form, scope)))}
    if request.multipart:
        return _multipart(request, scope, outgoing, headers)
    return {}


def _multipart(request: Request, scope: dict[str, Any], outgoing: Outgoing, headers: dict[str, Any]) -> dict[str, Any]:
    """multipart/form-data: values as fields, files streamed by httpx from their open handles."""
    data: dict[str, str] = {}
    files: list[tuple[str, tuple[str, IO[bytes], str]]] = []
    notes: list[str] = []
    for part in request.multipart:
        if part.file is None:
            value = _text(_render(part.value, scope))
            data[part.name] = value
            notes.append(f"{part.name}: {value}")
            continue
        handle = _open(part.file, outgoing)
        filename = part.filename or os.path.basename(part.file.path)
        content_type = part.content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        files.append((part.name, (filename, handle, content_type)))
        size = os.fstat(handle.fileno()).st_size
        notes.append(f"{part.name}: {_file_note(part.file, size)} as {filename} ({content_type})")
    outgoing.body_note = ("multipart/form-data\n" + "\n".join(notes)).encode()
    if not files:  # httpx sends multipart only when it has files; a boundary of our own otherwise
        boundary = os.urandom(16).hex()
        content = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n{value}\r\n'.encode()
            for name, value in data.items()
        )
        headers["content-type"] = ("Content-Type", f"multipart/form-data; boundary={boundary}")
        return {"content": content + f"--{boundary}--\r\n".encode()}
    return {"data": data, "files": files}


def _quoted(name: str) -> str:
    """A part name inside its quotes, escaped as browsers do (HTML's form encoding)."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _open(file: FileRef, outgoing: Outgoing) -> IO[bytes]:
    try:
        handle = open(file.path, "rb")  # noqa: SIM115 - closed by Outgoing.close once sent
    except OSError as err:
        raise ExchangeError(f"cannot read `{file.shown}`: {os.strerror(err.errno or 0).lower()}") from None
    outgoing.files.append(handle)
    return handle


def _file_note(file: FileRef, size: int) -> str:
    return f"<file {file.shown}, {size:,} bytes>"


class _FileStream(httpx.SyncByteStream):
    """A file sent as the body, a chunk at a time, from its start at each sending (a retry)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.size = os.fstat(handle.fileno()).st_size

    def __iter__(self) -> Iterator[bytes]:
        self._handle.seek(0)
        while chunk := self._handle.read(64 * 1024):
            yield chunk


class _AsyncFileStream(httpx.AsyncByteStream):
    """The same for the asyncio client (httpx takes a body's kind from what it can iterate, so
    this one offers only `__aiter__`)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._file = _FileStream(handle)
        self.size = self._file.size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._file:
            yield chunk


async def send(
    client: httpx.AsyncClient, outgoing: Outgoing, max_bytes: int, *, direct: httpx.AsyncBaseTransport | None = None
) -> ReceivedResponse:
    """Send and read the whole response; transport failures raise `ExchangeError`.

    The step's timeout bounds the whole exchange, not only each wait for bytes: a server that
    trickles a byte a second, or sends a body without end, is cut off. The body is read up to
    `max_bytes` after decompression, so a gzip bomb stops at the limit too.

    `direct` is the client's own transport, given where no proxy routes requests: an exchange
    that follows no redirect and answers no auth challenge goes straight to it (`_sent_directly`).
    """
    started = time.perf_counter()
    request = outgoing.request
    seconds = (request.extensions.get("timeout") or {}).get("read")
    redirects = client.follow_redirects if outgoing.follow_redirects is None else outgoing.follow_redirects
    if seconds is not None:  # bounded here, as a whole: apiflow's transport need not time each read too
        request.extensions[BOUNDED_BY_CALLER] = True
    if redirects or outgoing.auth is not None or client.auth is not None:
        direct = None
    try:
        async with asyncio.timeout(seconds):
            if direct is not None:
                response = await _sent_directly(client, direct, request)
            else:
                response = await client.send(
                    request, stream=True, auth=outgoing.auth or httpx.USE_CLIENT_DEFAULT, follow_redirects=redirects
                )
            try:
                reader = _BodyReader(response, max_bytes)
                async for chunk in _raw(response) if reader.raw else response.aiter_bytes():
                    reader.feed(chunk)
            finally:
                await response.aclose()
                _unbind(response)
    except (TimeoutError, httpx.TimeoutException, httpx.HTTPError, OSError, ValueError, ExceptionGroup) as err:
        raise _failure(err, request, seconds) from None
    return _received(response, reader.body(), (time.perf_counter() - started) * 1000)


def _raw(response: httpx.Response) -> httpx.AsyncByteStream:
    """The body's bytes as they arrive: what `aiter_raw` gives, without its chunker and context
    (the response is this exchange's own, read once, then closed)."""
    assert isinstance(response.stream, httpx.AsyncByteStream)  # sent by an AsyncClient
    return response.stream


async def _sent_directly(
    client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport, request: httpx.Request
) -> httpx.Response:
    """What `client.send` comes to for one request that follows no redirect and answers no auth
    challenge: the transport's response, which knows its request, and its cookies in the jar.
    The request was built by the client (its headers, cookies and timeout); what is skipped is
    the layering around the transport (the auth and redirect loops, a stream bound to the
    response, a log record), a tenth of a request's CPU."""
    response = await transport.handle_async_request(request)
    response.request = request
    client.cookies.extract_cookies(response)
    return response


def send_sync(client: httpx.Client, outgoing: Outgoing, max_bytes: int) -> ReceivedResponse:
    """`send` for a blocking client (a Locust user on gevent): the same reading, limits and
    messages; the whole-exchange timeout is checked as each chunk arrives (httpx bounds each wait)."""
    started = time.perf_counter()
    request = outgoing.request
    seconds = (request.extensions.get("timeout") or {}).get("read")
    redirects = client.follow_redirects if outgoing.follow_redirects is None else outgoing.follow_redirects
    try:
        response = client.send(
            request, stream=True, auth=outgoing.auth or httpx.USE_CLIENT_DEFAULT, follow_redirects=redirects
        )
        try:
            reader = _BodyReader(response, max_bytes)
            for chunk in response.iter_raw() if reader.inflates else response.iter_bytes():
                reader.feed(chunk)
                if seconds is not None and time.perf_counter() - started > seconds:
                    raise TimeoutError
        finally:
            response.close()
            _unbind(response)
    except (TimeoutError, httpx.TimeoutException, httpx.HTTPError, OSError, ValueError, ExceptionGroup) as err:
        raise _failure(err, request, seconds) from None
    return _received(response, reader.body(), (time.perf_counter() - started) * 1000)


def _unbind(response: httpx.Response) -> None:
    """Let go of a closed response's stream. httpx's response and the stream bound to it refer
    to each other, so without this each exchange (its response, request, URL and headers: some
    25 objects) would wait for Python's cycle collector instead of going when the step is done;
    over a run that is a collection every few dozen requests, each walking every object alive."""
    for one in (response, *response.history):
        one.stream = _SPENT


_SPENT = httpx.ByteStream(b"")  # what a closed response's stream is left as: it holds nothing


def _failure(err: BaseException, request: httpx.Request, seconds: float | None) -> ExchangeError:
    """A transport failure as one line a person can act on."""
    if isinstance(err, ExchangeError):
        return err
    if isinstance(err, (TimeoutError, httpx.TimeoutException)):
        # httpx's own timeouts bound each wait; the whole exchange is bounded too: one message.
        phase = " (could not connect)" if isinstance(err, httpx.ConnectTimeout) else ""
        return ExchangeError(f"no complete response from {_origin(request)} within {seconds} s{phase}")
    if isinstance(err, httpx.ConnectError):
        return ExchangeError(f"cannot connect to {_origin(request)}: {_reason(err)}")
    # An httpx error, or one raised below httpx's own mapping (an address the resolver refuses,
    # a socket option out of range): still a failed request, not a crash.
    return ExchangeError(f"the request to {_origin(request)} failed: {_reason(err)}")


_INFLATE_STEP = 1024 * 1024  # inflated a MiB at a time: memory stays near the body's own size


class _BodyReader:
    """The body, decompressed, refused as soon as it passes `max_bytes`; fed chunk by chunk.

    gzip and deflate are inflated here, a MiB at a time and never past the limit: httpx's decoder
    inflates each chunk whole, and 64 KiB of a gzip bomb is 64 MiB. Other encodings (br, zstd)
    go through httpx's decoders (`raw` is False: feed it decoded bytes).
    """

    def __init__(self, response: httpx.Response, max_bytes: int) -> None:
        self.encoding = response.headers.get("content-encoding", "").strip().lower()
        self.inflates = self.encoding in ("gzip", "x-gzip", "deflate")
        self.raw = self.inflates or self.encoding in ("", "identity")  # no httpx decoder needed
        self.max_bytes = max_bytes
        self.size = 0
        self.chunks: list[bytes] = []
        self.started = False

    def feed(self, data: bytes) -> None:
        if not self.inflates:
            self._keep(data)
            return
        if not self.started:  # made at the first compressed chunk: most bodies are not compressed
            # gzip: its header; deflate: zlib's header, or (as some servers send it) raw deflate.
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if self.encoding != "deflate" else zlib.MAX_WBITS)
        while data:
            try:
                out = self.decoder.decompress(data, min(self.max_bytes - self.size + 1, _INFLATE_STEP))
            except zlib.error as err:
                if self.encoding != "deflate" or self.started:
                    raise ExchangeError(f"the response body does not decompress ({self.encoding}): {err}") from None
                self.decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                self.started = True
                continue
            self.started = True
            self._keep(out)
            data = self.decoder.unconsumed_tail

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise _too_large(self.max_bytes)
        self.chunks.append(data)

    def body(self) -> bytes:
        return b"".join(self.chunks)


def _too_large(max_bytes: int) -> ExchangeError:
    limit = f"{max_bytes / 1024 / 1024:g} MiB"
    return ExchangeError(f"the response body is larger than {limit}, the limit (raise it with http.max_response_mb)")


def _received(response: httpx.Response, body: bytes, elapsed_ms: float) -> ReceivedResponse:
    parsed, is_json, error = None, False, ""
    content_type = response.headers.get("content-type", "")
    if body and ("json" in content_type or body.lstrip()[:1] in (b"{", b"[")):
        with contextlib.suppress(ValueError):
            parsed, is_json, error = _parse_json(body)
    return ReceivedResponse(
        status=response.status_code,
        reason=response.reason_phrase,
        headers=list(response.headers.multi_items()),
        body=body,
        elapsed_ms=elapsed_ms,
        json=parsed,
        is_json=is_json,
        json_error=error,
        url=str(response.url),
        http_version=response.http_version,
        history=tuple((r.status_code, str(r.url)) for r in response.history),
    )


def _parse_json(body: bytes) -> tuple[Any, bool, str]:
    """(data, is JSON, why not): JSON nested deeper than `MAX_JSON_DEPTH` is refused, since every
    later reader (JSONPath, reports) walks it recursively. Raises ValueError for what is not JSON."""
    too_deep = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels, the limit"
    try:
        data = json.loads(body)
    except RecursionError:
        return None, False, too_deep
    # Counting brackets is a fast scan in C; only a body with enough of them is walked.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and deeper_than(data, MAX_JSON_DEPTH):
        return None, False, too_deep
    return data, True, ""


def _origin(request: httpx.Request) -> str:
    port = f":{request.url.port}" if request.url.port else ""
    return f"{request.url.host}{port}"


def _reason(err: BaseException) -> str:
    """The root cause in a few words: "connection refused", not "All connection attempts failed"."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLError):  # its errno says nothing; its reason does
            detail = getattr(cause, "verify_message", "") or cause.reason or str(cause)
            return f"TLS: {str(detail).lower().replace('_', ' ')}"
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno).lower()
        cause = cause.__cause__ or cause.__context__
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
