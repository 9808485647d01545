"""A small HTTP API for the tests: things to create, read and delete, echo, auth, cookies.

It is an ASGI app, so tests reach it in-process through `httpx.ASGITransport`, or over a real
socket when `serve()` runs it with uvicorn on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import itertools
import json
import re
import urllib.parse
from contextlib import AbstractContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from runner.sandbox.serve import serve_in_thread

PAGE = """<!DOCTYPE html>
<html><head><title>Moby-Dick</title></head>
<body>
  <h1>Herman Melville - Moby-Dick</h1>
  <form><input type="hidden" name="csrf" value="csrf-token-5150"></form>
  <p>Call me Ishmael.</p>
  <p>Some years ago <a href="/chapter/2">never mind</a> how long.</p>
</body></html>
"""
SLIDES = """<?xml version="1.0"?>
<slideshow title="Sample" author="Yours Truly">
  <slide type="all"><title>Wake up to WonderWidgets!</title></slide>
  <slide type="all"><title>Overview</title><item>Why WonderWidgets are great</item></slide>
</slideshow>
"""
USER_PASSWORD = "hunter2-password"
# A page that does what a single-page app does: log in, use the token, create and read a thing.
# The HAR test records it in Chromium, imports the recording and runs the flow.
BROWSER_APP = """<!doctype html><html><head><title>working</title><link rel="stylesheet" href="/app.css">
</head><body><img src="/png" alt=""><script>
async function main() {
  const json = {"Content-Type": "application/json"};
  const login = await (await fetch("/login", {method: "POST", headers: json,
    body: JSON.stringify({user: "ann", password: "hunter2-password"})})).json();
  const auth = {"Authorization": "Bearer " + login.access_token};
  const page = await (await fetch("/private", {headers: auth})).json();
  const made = await (await fetch("/things", {method: "POST", headers: {...json, ...auth},
    body: JSON.stringify({name: "from-the-browser", price: 7})})).json();
  const read = await (await fetch("/things/" + made.data.id + "?view=full", {headers: auth})).json();
  document.title = "done " + page.secret_data + " " + read.data.name;
}
main();
</script></body></html>
"""
ISSUED_TOKEN = "tok_4f9d2b7e1c"


def create_app() -> Starlette:
    things: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)

    async def create_thing(request: Request) -> Response:
        body = await request.json()
        thing = {
            "id": next(ids),
            "name": body.get("name"),
            "tags": body.get("tags", []),
            "price": body.get("price", 0),
        }
        things[thing["id"]] = thing
        return JSONResponse(
            {"data": thing, "meta": {}},
            status_code=201,
            headers={"X-Request-Id": f"req-{thing['id']}"},
        )

    async def get_thing(request: Request) -> Response:
        thing = things.get(int(request.path_params["id"]))
        if thing is None:
            return JSONResponse({"status": 404, "title": "not found"}, status_code=404)
        return JSONResponse({"data": thing, "meta": {}})

    async def list_things(request: Request) -> Response:
        return JSONResponse({"data": list(things.values()), "meta": {"total": len(things)}})

    async def delete_thing(request: Request) -> Response:
        things.pop(int(request.path_params["id"]), None)
        return Response(status_code=204)

    async def echo(request: Request) -> Response:
        raw = await request.body()
        is_form = "form" in request.headers.get("content-type", "")
        form = dict(urllib.parse.parse_qsl(raw.decode())) if is_form else None
        try:
            parsed = json.loads(raw) if raw and form is None else None
        except ValueError:
            parsed = None
        return JSONResponse({
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params.multi_items()),
            "query_list": request.query_params.multi_items(),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "json": parsed,
            "form": form,
            "text": raw.decode() if form is None and parsed is None else None,
        })  # fmt: skip

    async def login(request: Request) -> Response:
        body = await request.json()
        if body.get("password") != USER_PASSWORD:
            return JSONResponse({"error": "bad password"}, status_code=401)
        return JSONResponse({"access_token": ISSUED_TOKEN, "expires_in": 3600})

    async def private(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {ISSUED_TOKEN}":
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        return JSONResponse({"secret_data": "ok", "echo_token": ISSUED_TOKEN})

    async def png(request: Request) -> Response:
        return Response(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), media_type="image/png")

    async def text(request: Request) -> Response:
        return PlainTextResponse("hello, this is not JSON")

    async def slow(request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("seconds", "1")))
        return JSONResponse({"slept": True})

    async def status(request: Request) -> Response:
        return JSONResponse(
            {"status": int(request.path_params["code"])},
            status_code=int(request.path_params["code"]),
        )

    async def set_cookie(request: Request) -> Response:
        response = JSONResponse({"ok": True})
        query = request.query_params
        response.set_cookie(query.get("name", "session"), query.get("value", "sess-cookie-value-123"))
        return response

    counters: dict[str, int] = {}

    async def count(request: Request) -> Response:
        """Each GET counts; `ready` turns true on the call numbered `ready_at` (3 by default)."""
        name = request.path_params["name"]
        counters[name] = counters.get(name, 0) + 1
        ready_at = int(request.query_params.get("ready_at", "3"))
        return JSONResponse({"count": counters[name], "ready": counters[name] >= ready_at})

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": "/things"})

    async def check_cookie(request: Request) -> Response:
        return JSONResponse({"session": request.cookies.get("session")})

    async def upload(request: Request) -> Response:
        """Each part of a multipart body: its name, file name, content type, size and sha256."""
        raw = await request.body()
        head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
        message = email.message_from_bytes(head + raw, policy=email.policy.HTTP)
        parts = []
        for part in message.iter_parts() if message.is_multipart() else []:
            data = part.get_payload(decode=True) or b""
            parts.append({
                "name": part.get_param("name", header="content-disposition"),
                "filename": part.get_filename(),
                "content_type": part.get_content_type() if part.get("content-type") else None,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "text": data.decode() if part.get_filename() is None else None,
            })  # fmt: skip
        return JSONResponse({"parts": parts, "length": request.headers.get("content-length")})

    async def raw_body(request: Request) -> Response:
        raw = await request.body()
        return JSONResponse({
            "size": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "content_type": request.headers.get("content-type"),
            "chunked": "chunked" in request.headers.get("transfer-encoding", ""),
        })  # fmt: skip

    async def basic_auth(request: Request) -> Response:
        user, password = request.path_params["user"], request.path_params["password"]
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"authenticated": False}, status_code=401, headers={"WWW-Authenticate": "Basic"})
        return JSONResponse({"authenticated": True, "user": user})

    async def digest_auth(request: Request) -> Response:
        """RFC 7616 with MD5 and qop=auth, as httpbin does it: challenge, then check the answer."""
        user, password = request.path_params["user"], request.path_params["password"]
        realm, nonce = "apiflow-tests", "0123456789abcdef"
        answer = request.headers.get("authorization", "")
        if answer.startswith("Digest "):
            fields = dict(re.findall(r'(\w+)="?([^",]+)"?', answer[7:]))
            md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731
            ha1 = md5(f"{user}:{realm}:{password}")
            ha2 = md5(f"{request.method}:{fields.get('uri', '')}")
            expected = md5(f"{ha1}:{nonce}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
            if fields.get("username") == user and fields.get("response") == expected:
                return JSONResponse({"authenticated": True, "user": user})
        challenge = f'Digest realm="{realm}", qop="auth", nonce="{nonce}", algorithm=MD5'
        return JSONResponse({"authenticated": False}, status_code=401, headers={"WWW-Authenticate": challenge})

    async def html_page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def xml_doc(request: Request) -> Response:
        return Response(SLIDES, media_type="application/xml")

    async def browser_app(request: Request) -> Response:
        return HTMLResponse(BROWSER_APP)

    async def stylesheet(request: Request) -> Response:
        return Response("body { font: 14px sans-serif }", media_type="text/css")

    return Starlette(routes=[
        Route("/app", browser_app),
        Route("/app.css", stylesheet),
        Route("/html", html_page),
        Route("/xml", xml_doc),
        Route("/upload", upload, methods=["POST"]),
        Route("/raw", raw_body, methods=["POST", "PUT"]),
        Route("/basic-auth/{user}/{password}", basic_auth),
        Route("/digest-auth/{user}/{password}", digest_auth),
        Route("/things", create_thing, methods=["POST"]),
        Route("/things", list_things, methods=["GET"]),
        Route("/things/{id:int}", get_thing, methods=["GET"]),
        Route("/things/{id:int}", delete_thing, methods=["DELETE"]),
        Route("/echo", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/login", login, methods=["POST"]),
        Route("/private", private),
        Route("/text", text),
        Route("/png", png),
        Route("/slow", slow),
        Route("/status/{code:int}", status),
        Route("/cookie/set", set_cookie),
        Route("/cookie/check", check_cookie),
        Route("/count/{name}", count),
        Route("/redirect", redirect),
    ])  # fmt: skip


def serve(app: Any) -> AbstractContextManager[str]:
    """Serve `app` on 127.0.0.1 and a free port in a thread; yields the base URL."""
    return serve_in_thread(app)
