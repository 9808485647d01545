"""Responses beyond JSON (issue 11): templated status, text, bytes, cookies, CSS and XPath
checks and captures, regex and cookie captures, and the response's url, history, reason and
http_version in templates. Through the CLI, against the test API on a socket."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.server import PAGE

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def flow(*steps: str, top: str = "") -> str:
    lines = ["name: Beyond", 'vars: {base: "{{ env.BASE }}"}', *([top] if top else []), "steps:"]
    return "\n".join(lines + [f"  - {s}" for s in steps]) + "\n"


@pytest.fixture
def run(cli, write, live_server, tmp_path):
    def go(*steps: str, top: str = ""):
        report = tmp_path / "r.json"
        result = cli("run", "--report", report, write(flow(*steps, top=top)), env={"BASE": live_server})
        captures = {}
        if report.exists():
            for step in json.loads(report.read_text())["flows"][0]["steps"]:
                captures.update(step.get("captures") or {})
        return result, captures

    return go


@pytest.mark.parametrize(
    ("expect", "passes"),
    [
        ("css: {h1: Herman Melville - Moby-Dick}", True),
        ("css: {h1: {contains: Melville}}", True),
        ("css: {h1: Moby}", False),
        ("css: {'p a': never mind}", True),
        ("css: {h2: {exists: false}}", True),
        ("xpath: {'count(//p)': 2}", True),
        ("xpath: {'count(//p)': 3}", False),
        ("xpath: {'//title/text()': Moby-Dick}", True),
        ("xpath: {'count(//p) > 1': true}", True),
        ("text: {contains: Call me Ishmael, matches: 'Herman\\s+Melville'}", True),
        ("text: {contains: Queequeg}", False),
        (f"bytes: {{len: {len(PAGE.encode())}, sha256: {hashlib.sha256(PAGE.encode()).hexdigest()}}}", True),
        (f"bytes: {{md5: {hashlib.md5(b'x').hexdigest()}}}", False),
        ("status: '{{ 100 * 2 }}'", True),
        ("status: '{{ [200, 201] }}'", True),
        ("status: \"{{ '2xx' }}\"", True),
        ("status: \"{{ '4xx' }}\"", False),
    ],
)
def test_html_expectations(run, expect, passes):
    result, _ = run(f"{{name: Page, request: {{url: '{{{{ base }}}}/html'}}, expect: {{{expect}}}}}")
    assert (result.code == 0) is passes, result.output


def test_xpath_on_xml_is_typed(run):
    checks = "'count(//slide)': 2, '//slide[2]/title/text()': Overview, '/slideshow/@author': Yours Truly"
    result, _ = run(f"{{name: Slides, request: {{url: '{{{{ base }}}}/xml'}}, expect: {{xpath: {{{checks}}}}}}}")
    assert result.code == 0, result.output


def test_captures_by_css_xpath_regex_and_cookie(run):
    page = (
        "{name: Page, request: {url: '{{ base }}/html'}, capture: {"
        "heading: {css: h1}, link: {css: a, attr: href}, paragraphs: {css: p, all: true}, "
        "title: {xpath: '//title/text()'}, count: {xpath: 'count(//p)'}, "
        'csrf: {regex: \'name="csrf" value="([^"]+)"\'}, words: {regex: \'[A-Z][a-z]+\', group: 0, all: true}}}'
    )
    cookie = "{name: Cookie, request: {url: '{{ base }}/cookie/set', params: {name: flavour, value: oatmeal-raisin}}, capture: {flavour: {cookie: flavour}}}"
    use = "{name: Use, request: {url: '{{ base }}/echo', params: {h: '{{ heading }}', n: '{{ count + 1 }}'}}, expect: {json: {$.query.h: Herman Melville - Moby-Dick, $.query.n: '3'}}}"
    result, captured = run(page, cookie, use)
    assert result.code == 0, result.output
    assert captured["link"] == "/chapter/2"
    assert captured["paragraphs"] == ["Call me Ishmael.", "Some years ago never mind how long."]
    assert captured["title"] == "Moby-Dick" and captured["count"] == 2
    assert captured["words"][:3] == ["Moby", "Dick", "Herman"]
    assert "csrf" in captured  # its value is redacted in the report: a sensitive name


def test_cookies_a_response_sets_are_checked_and_in_scope(run):
    step = (
        "{name: Set, request: {url: '{{ base }}/cookie/set', params: {name: theme, value: dark}}, "
        "expect: {cookies: {theme: dark, missing: {exists: false}}, that: \"{{ response.cookies.theme == 'dark' }}\"}}"
    )
    assert run(step)[0].code == 0
    wrong = run(step.replace("theme: dark,", "theme: light,"))[0]
    assert wrong.code == 1 and "cookie theme" in wrong.out


def test_url_history_reason_and_http_version_are_in_scope(run):
    step = (
        "{name: Go, request: {url: '{{ base }}/redirect', follow_redirects: true}, expect: {that: ["
        '"{{ response.url.endswith(\'/things\') }}", "{{ response.history[0].status == 302 }}", '
        "\"{{ response.reason == 'OK' }}\", \"{{ response.http_version == 'HTTP/1.1' }}\", "
        "\"{{ response.headers['CONTENT-TYPE'] is search('json') }}\"]}}"
    )
    result, _ = run(step)
    assert result.code == 0, result.output


def test_a_body_that_is_not_html_or_xml_fails_the_check_and_says_what_it_was(run):
    result, _ = run("{name: Png, request: {url: '{{ base }}/png'}, expect: {xpath: {'//a': x}}}")
    assert result.code == 1
    assert "image/png" in result.out and "Traceback" not in result.output
    result, _ = run("{name: Json, request: {url: '{{ base }}/things'}, capture: {t: {css: title}}}")
    assert result.code == 1 and "the body is not HTML or XML (application/json)" in result.out
    result, _ = run("{name: Page, request: {url: '{{ base }}/html'}, capture: {t: {css: h2}}}")
    assert result.code == 1 and "the selector matched nothing" in result.out


def test_xml_entities_are_never_resolved(tmp_path):
    from runner.engine.markup import query

    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    body = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file://{secret}">]><r>&e;</r>'.encode()
    assert "top secret" not in str(query("xpath", "string(/r)", body, "application/xml"))


@pytest.mark.parametrize(
    ("capture_or_expect", "message"),
    [
        ("expect: {css: {'a[href': x}}", "invalid CSS `a[href`"),
        ("expect: {xpath: {'//p[': x}}", "invalid XPath `//p[`"),
        ("capture: {x: {css: 'p:nth-child(x)'}}", "invalid CSS"),
        ("capture: {x: {regex: '(unclosed'}}", "invalid regular expression"),
        ("capture: {x: {regex: '(a)', group: 2}}", "there is no group 2"),
        ("capture: {x: {regex: 'a', group: name}}", "no group named `name`"),
        ("capture: {x: {header: X-Id, attr: href}}", "`attr` applies to a css capture only"),
        ("capture: {x: {header: X-Id, all: true}}", "`all` applies to a jsonpath or css or xpath or regex capture"),
        ("expect: {status: two hundred}", "is not a status class such as 2xx"),
    ],
)
def test_bad_selectors_and_patterns_are_located_load_errors(cli, write, capture_or_expect, message):
    path = write(flow(f"{{name: S, request: {{url: 'http://x.test/'}}, {capture_or_expect}}}"))
    result = cli("validate", path)
    assert result.code == 2, result.output
    assert f"{path}:4:" in result.err and message in result.err


BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(alphabet="<>/=\"'&;!?[]- abcxml", max_size=200).map(str.encode),
    st.sampled_from(
        [b"<", b"<?xml", b"<a><b>", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", b"\x00<p>", b"<p>\xff</p>"]
    ),
)


@settings(max_examples=300, derandomize=True)
@given(BODIES, st.sampled_from(["text/html", "application/xml", "text/xml", "", "text/plain", "image/png"]))
def test_any_body_gives_values_or_a_markup_error(body, content_type):
    from runner.engine.markup import MarkupError, query

    for kind, text in (("css", "p"), ("xpath", "count(//*)"), ("xpath", "//text()")):
        try:
            found = query(kind, text, body, content_type)
        except MarkupError as err:
            assert str(err).startswith("the body")
        else:
            assert isinstance(found, list)


@pytest.mark.parametrize(
    ("capture", "why"),
    [
        ("{regex: 'Queequeg (\\w+)'}", "the regular expression matched nothing in the body"),
        ("{cookie: session}", "the response sets no cookie session (it sets: none)"),
        ("{css: a, attr: title}", "the selector matched nothing with the attribute title"),
        ("{xpath: '//table'}", "the expression matched nothing"),
    ],
)
def test_a_capture_that_finds_nothing_fails_the_step_and_says_why(run, capture, why):
    result, _ = run(f"{{name: Page, request: {{url: '{{{{ base }}}}/html'}}, capture: {{x: {capture}}}}}")
    assert result.code == 1 and why in result.out, result.output


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    body=st.binary(max_size=3000),
    encoding=st.sampled_from(["", "identity", " Identity ", "gzip", "x-gzip", "deflate", "x-made-up"]),
    direct=st.booleans(),
)
def test_a_body_reads_the_same_whichever_way_it_is_read(body, encoding, direct):
    """Speed (issue 10): a body without a content encoding, or one apiflow inflates itself, is
    read straight off the response's stream; any other goes through httpx's decoders. Each way,
    on the transport directly or through the client, the body is what the server meant."""
    import asyncio
    import gzip
    import zlib

    import httpx

    from runner.engine.http_exchange import Outgoing, send

    packed = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress}.get(encoding.strip())

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": encoding} if encoding else {}
        return httpx.Response(200, headers=headers, content=packed(body) if packed else body)

    async def exchange() -> bytes:
        transport = httpx.MockTransport(answer)
        async with httpx.AsyncClient(transport=transport, timeout=5) as client:
            outgoing = Outgoing(client.build_request("GET", "http://api.test/body"))
            received = await send(client, outgoing, 1 << 20, direct=transport if direct else None)
        return received.body

    assert asyncio.run(exchange()) == body
