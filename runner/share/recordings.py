"""HAR recordings and files of curl commands, read as exchanges, then made into a flow.

One step per request, named from its method and path. The first origin becomes the `base` var
(others `base2`...). Volatile headers (Date, User-Agent, Content-Length, tracing ids, `sec-*`...)
are dropped; credentials in `Authorization`, `Cookie`, `X-Auth-Token`, `X-Api-Key` and the like
become `secret('NAME')`, unless the value is one an earlier response gave (then it is captured).
From a HAR: static assets, telemetry and preflight `OPTIONS` requests are left out (listed in a
comment), each step expects the recorded status, and a value a later request reuses from an
earlier JSON response (an id, a token) becomes a capture and a template.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from runner.errors import UsageError
from runner.share.flow_writer import (
    METHODS,
    SECRET_HEADERS,
    FlowOut,
    StepOut,
    base_name,
    listed,
    literal,
    secret_fields,
    secret_name,
    secret_template,
)

VOLATILE = {
    "date", "user-agent", "content-length", "host", "connection", "accept-encoding", "accept-language",
    "cache-control", "pragma", "origin", "referer", "upgrade-insecure-requests", "dnt", "priority",
    "traceparent", "tracestate", "x-request-id", "x-correlation-id", "x-amzn-trace-id", "if-none-match",
    "if-modified-since", "te",
}  # fmt: skip
STATIC = re.compile(r"\.(?:js|mjs|css|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|otf|map)(?:\?|$)", re.I)
TELEMETRY = re.compile(
    r"google-analytics|googletagmanager|doubleclick|segment\.(?:io|com)|sentry|hotjar|mixpanel|newrelic|datadoghq", re.I
)


@dataclass
class Exchange:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str | None = None
    status: int | None = None
    response: Any = None  # the response's JSON, when a HAR recorded one
    options: dict[str, Any] = field(default_factory=dict)  # auth, follow_redirects, verify


def from_har(log: dict[str, Any], path: str) -> tuple[list[Exchange], list[str]]:
    """The exchanges of a HAR log; an entry that is not an http(s) request is left out and listed.
    Every field is checked for its type: a HAR from a stranger may hold anything anywhere."""
    out: list[Exchange] = []
    dropped: list[str] = []
    for raw in _list(log.get("entries")):
        entry = _dict(raw)
        request, response = _dict(entry.get("request")), _dict(entry.get("response"))
        content = _dict(response.get("content"))
        method, url = str(request.get("method") or "GET").upper(), request.get("url")
        mime = str(content.get("mimeType") or "")
        if not isinstance(url, str) or not re.match(r"https?://[^/?#\s]+", url):
            dropped.append(f"{method} {str(url)[:80]} (not an http(s) URL)")
            continue
        if method == "OPTIONS" or STATIC.search(url) or TELEMETRY.search(url) or mime.startswith(("image/", "font/")):
            dropped.append(f"{method} {url}")
            continue
        if method not in METHODS:
            dropped.append(f"{method[:40]} {url} (a flow sends {', '.join(METHODS)})")
            continue
        body = _dict(request.get("postData")).get("text")
        headers = [
            (h["name"], str(h.get("value", "")))
            for h in _list(request.get("headers"))
            if isinstance(h, dict) and isinstance(h.get("name"), str) and h["name"] and not h["name"].startswith(":")
        ]
        status = response.get("status")
        recorded = status if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599 else None
        out.append(Exchange(method, url, headers, body if isinstance(body, str) else None, recorded, _json_of(content)))
    return out, dropped


def _json_of(content: dict[str, Any]) -> Any:
    """A recorded response body's JSON (base64 when the recorder said so), or None."""
    text = content.get("text")
    if not isinstance(text, str) or not text or "json" not in str(content.get("mimeType") or ""):
        return None
    try:
        if content.get("encoding") == "base64":
            text = base64.b64decode(text, validate=True).decode("utf-8")
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def from_curl(text: str, path: str) -> list[Exchange]:
    joined = re.sub(r"\\\r?\n", " ", text)
    out = []
    for line in joined.splitlines():
        if not re.match(r"\s*curl\s", line):
            continue
        try:
            words = shlex.split(line)[1:]
        except ValueError as err:
            raise UsageError(f"{path}: a curl command does not parse: {err}") from None
        out.append(_curl(words, path))
    return out


def _curl(words: list[str], path: str) -> Exchange:
    method, url, headers, body = None, None, [], None
    options: dict[str, Any] = {}
    flags = iter(words)
    for word in flags:
        if word in ("-X", "--request"):
            method = next(flags, "GET").upper()
        elif word in ("-H", "--header"):
            name, _, value = next(flags, "").partition(":")
            headers.append((name.strip(), value.strip()))
        elif word in ("-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json"):
            body = next(flags, "")
            if word == "--json":
                headers.append(("Content-Type", "application/json"))
        elif word in ("-u", "--user"):
            user, _, password = next(flags, "").partition(":")
            options["auth"] = {"basic": {"username": user, "password": password}}
        elif word in ("-L", "--location"):
            options["follow_redirects"] = True
        elif word in ("-k", "--insecure"):
            options["verify"] = False
        elif word.startswith("http://") or word.startswith("https://"):
            url = word
        elif word in ("-o", "--output", "-A", "--user-agent", "-e", "--referer", "-b", "--cookie", "-m", "--max-time"):
            value = next(flags, "")
            if word in ("-b", "--cookie"):
                headers.append(("Cookie", value))
    if url is None:
        raise UsageError(f"{path}: a curl command without an http(s) URL")
    if method is not None and method not in METHODS:
        raise UsageError(f"{path}: curl -X {method[:40]}: a flow sends {', '.join(METHODS)}")
    headers = [(name, value) for name, value in headers if name]
    return Exchange(method or ("POST" if body is not None else "GET"), url, headers, body, options=options)


def to_flow(exchanges: list[Exchange], dropped: list[str], name: str) -> FlowOut:
    origins: dict[str, str] = {}
    secrets: set[str] = set()
    captures = _Captures()
    steps = []
    for index, exchange in enumerate(exchanges):
        parts = urllib.parse.urlsplit(exchange.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        var = origins.setdefault(origin, base_name(len(origins)))
        tail = urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
        url = "{{ " + var + " }}" + captures.templated(tail)
        request: dict[str, Any] = {}
        if exchange.method != "GET":
            request["method"] = exchange.method
        request["url"] = url
        headers = {}
        for header, value in exchange.headers:
            lower = header.lower()
            if lower in VOLATILE or lower.startswith("sec-") or (lower == "content-type" and exchange.body is None):
                continue
            templated = captures.templated(value)
            if lower in SECRET_HEADERS and templated == value:
                # A credential nobody's response gave: the user sets it. One an earlier response
                # gave (a token from a login) is captured there and templated here instead.
                secret = secret_name(header)
                secrets.add(secret)
                headers[header] = secret_template(secret)
            else:
                headers[header] = templated
        content_type = next((v for k, v in exchange.headers if k.lower() == "content-type"), "")
        if exchange.body is not None:
            _body(request, exchange.body, content_type, captures, secrets)
        # What apiflow sends anyway: `Accept: */*`, and the content type of a `json` or `form` body.
        headers = {k: v for k, v in headers.items() if not (k.lower() == "accept" and v == "*/*")}
        if "json" in request or "form" in request:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if headers:
            request = {**{k: v for k, v in request.items() if k in ("method", "url")}, "headers": headers,
                       **{k: v for k, v in request.items() if k not in ("method", "url")}}  # fmt: skip
        auth = exchange.options.pop("auth", None)
        if auth:
            secrets.add("PASSWORD")
            auth["basic"]["password"] = secret_template("PASSWORD")
            request["auth"] = auth
        request.update(exchange.options)
        # Named from the path as templated: `GET /things/{id}`, not the id of the day.
        path = re.sub(r"\{\{ (\w+) \}\}", r"{\1}", urllib.parse.urlsplit(url.partition("}}")[2]).path)
        step: dict[str, Any] = {"name": f"{exchange.method} {path or '/'}", "request": request}
        step["expect"] = {"status": exchange.status if exchange.status else "2xx"}
        steps.append(StepOut(step))
        if exchange.response is not None:
            captures.learn(exchange.response, index, step)
    notes = listed("Left out: static assets, telemetry, preflight OPTIONS", dropped)
    return FlowOut(f"Imported from {name}", steps, {v: o for o, v in origins.items()}, secrets, notes)


def _worth_capturing(key: str, value: str | int) -> bool:
    """An id or token (by its key), or a long value: what a later request reuses on purpose."""
    lowered = key.lower()
    named = lowered in ("id", "uuid", "token", "key") or lowered.endswith(("_id", "id", "_token", "_key"))
    return named or len(str(value)) >= 8


def _body(request: dict[str, Any], body: str, content_type: str, captures: _Captures, secrets: set[str]) -> None:
    if "json" in content_type or body.lstrip()[:1] in ("{", "["):
        try:
            request["json"] = secret_fields(captures.templated_tree(json.loads(body)), secrets)
            return
        except (ValueError, RecursionError):
            pass
    if "x-www-form-urlencoded" in content_type:
        form = {k: captures.templated(v) for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True)}
        request["form"] = secret_fields(form, secrets)
        return
    request["body"] = captures.templated(body)


_TOKEN = re.compile(r"[^/?&=#;,\s\"']+")  # what a reused value sits between in a URL, header or text
_DELIMITER = re.compile(r"[/?&=#;,\s\"']")


@dataclass
class _Value:
    """A value an earlier response gave: where, and its capture's name once a request reuses it."""

    step: dict[str, Any]
    path: str
    key: str
    index: int
    name: str | None = None


class _Captures:
    """Values of earlier JSON responses that later requests reuse: captured, then templated.

    Indexed so that a recording of thousands of requests imports in seconds: a text is split into
    tokens and each is looked up, rather than every known value searched for in every text. Names
    are given when a value is first reused, so only captured values take one: `id`, then `id_4`
    (from step 4), then the path (`data_items_0_id`)."""

    def __init__(self) -> None:
        self.known: dict[str, _Value] = {}
        self.names: set[str] = set()
        self.spanning: list[str] = []  # long values with a delimiter inside (base64...): searched for

    def learn(self, data: Any, index: int, step: dict[str, Any]) -> None:
        queue: deque[tuple[str, str, Any]] = deque([("$", "", data)])  # document order: $.data.id first
        while queue:
            path, key, value = queue.popleft()
            if isinstance(value, dict):
                queue.extend(
                    (f"{path}.{k}" if re.fullmatch(r"\w+", k) else f"{path}['{k}']", k, v) for k, v in value.items()
                )
            elif isinstance(value, list):
                queue.extend((f"{path}[{i}]", key, v) for i, v in enumerate(value[:20]))
            elif isinstance(value, (str, int)) and not isinstance(value, bool) and _worth_capturing(key, value):
                text = str(value)
                if text not in self.known:
                    self.known[text] = _Value(step, path, key, index)
                    if len(text) >= 8 and _DELIMITER.search(text):
                        self.spanning.append(text)

    def templated(self, text: str) -> str:
        """`text` with each known value in it as its capture's template. A short value (id 7) only
        as a whole path segment or query value, never inside other text."""
        spans: list[tuple[int, int]] = []
        for match in _TOKEN.finditer(text):
            value = match[0]
            if value not in self.known:
                continue
            before, after = text[match.start() - 1 : match.start()], text[match.end() : match.end() + 1]
            if len(value) >= 8 or (before in ("/", "=") and after in ("", "/", "?", "&", "#")):
                spans.append((match.start(), match.end()))
        for value in sorted(self.spanning, key=len, reverse=True):
            at = text.find(value)
            while at >= 0:
                if not any(start < at + len(value) and at < end for start, end in spans):
                    spans.append((at, at + len(value)))
                at = text.find(value, at + len(value))
        out, last = [], 0
        for start, end in sorted(spans):
            out += [literal(text[last:start]), "{{ " + self._use(text[start:end]) + " }}"]  # a name is \w+
            last = end
        out.append(literal(text[last:]))
        return "".join(out)

    def templated_tree(self, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: self.templated_tree(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.templated_tree(v) for v in data]
        if isinstance(data, (str, int)) and not isinstance(data, bool) and str(data) in self.known:
            return "{{ " + self._use(str(data)) + " }}"
        return self.templated(data) if isinstance(data, str) else data

    def _use(self, value: str) -> str:
        """The capture's name for `value`; the step whose response held it captures it (once)."""
        known = self.known[value]
        if known.name is None:
            known.name = self._name(known)
            known.step.setdefault("capture", {})[known.name] = known.path
        return known.name

    def _name(self, known: _Value) -> str:
        key = re.sub(r"\W", "_", known.key).strip("_").lower()
        candidates = [key, f"{key}_{known.index + 1}"] if key.isidentifier() else []
        candidates.append(re.sub(r"\W+", "_", known.path[1:]).strip("_").lower() or "value")
        name = next((c for c in candidates if c.isidentifier() and c not in self.names), None)
        if name is None:
            base, n = candidates[-1] if candidates[-1].isidentifier() else f"value_{known.index + 1}", 1
            name = base
            while name in self.names:
                n += 1
                name = f"{base}_{n}"
        self.names.add(name)
        return name
