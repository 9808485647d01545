"""`apiflow import` (issue 15, in part): a file of curl commands and a HAR become flows a person
would write — secrets as secret(), volatile headers dropped, reused ids captured — that validate
and run."""

from __future__ import annotations

import json
import shutil

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.importing import imports_a_flow_that_loads_or_refuses

CURLS = """\
# from a bug report
curl -X POST '{base}/things' -H 'Content-Type: application/json' \\
  -H 'X-Auth-Token: tok-123456789' -H 'User-Agent: curl/8.0' -d '{{"name": "widget", "price": 3}}'
curl '{base}/echo?limit=5' -H 'X-Api-Key: key-123456789' -L
"""


def test_curl_commands_become_a_flow_that_runs(cli, tmp_path, live_server):
    source = tmp_path / "bug.sh"
    source.write_text(CURLS.format(base=live_server))
    out = tmp_path / "bug.yaml"
    assert cli("import", source, "-o", out).code == 0
    text = out.read_text()
    assert "{{ secret('X_AUTH_TOKEN') }}" in text and "{{ secret('X_API_KEY') }}" in text
    assert "tok-123456789" not in text and "User-Agent" not in text
    assert "# Secrets to set in the environment (or --env-file): X_API_KEY, X_AUTH_TOKEN" in text
    assert cli("validate", out).code == 0
    result = cli("run", out, env={"X_AUTH_TOKEN": "t", "X_API_KEY": "k"})
    assert result.code == 0, result.output


def _har(base: str) -> dict:
    created = httpx.post(f"{base}/things", json={"name": "har-thing", "price": 9}).json()
    thing = created["data"]["id"]
    entry = lambda method, url, status, body=None, response=None, mime="application/json": {  # noqa: E731
        "request": {
            "method": method,
            "url": url,
            "headers": [
                {"name": "Accept", "value": "application/json"},
                {"name": "sec-ch-ua", "value": "x"},
                {"name": "Cookie", "value": "session=abc123456"},
            ],
            **({"postData": {"mimeType": "application/json", "text": json.dumps(body)}} if body else {}),
        },
        "response": {"status": status, "content": {"mimeType": mime, "text": json.dumps(response or {})}},
    }
    return {
        "log": {
            "entries": [
                entry("POST", f"{base}/things", 201, {"name": "har-thing", "price": 9}, created),
                entry("GET", f"{base}/app.js", 200, mime="application/javascript"),
                entry("OPTIONS", f"{base}/things", 204),
                entry("GET", f"{base}/things/{thing}", 200, None, {"data": {"id": thing}}),
            ]
        }
    }


def test_a_har_becomes_a_flow_with_captures_that_runs(cli, tmp_path, live_server):
    source = tmp_path / "session.har"
    source.write_text(json.dumps(_har(live_server)))
    out = tmp_path / "session.yaml"
    assert cli("import", source, "-o", out).code == 0
    text = out.read_text()
    assert "# Left out: static assets, telemetry, preflight OPTIONS (2):" in text
    assert "capture:" in text and "$.data.id" in text and "/things/{{ id }}" in text
    assert "status: 201" in text and "sec-ch-ua" not in text and "{{ secret('COOKIE') }}" in text
    result = cli("run", out, env={"COOKIE": "session=x"})
    assert result.code == 0, result.output


def test_what_cannot_be_imported_says_so(cli, tmp_path):
    cases = {
        "postman.json": json.dumps({"info": {"_postman_id": "x", "schema": "https://schema.getpostman.com/v2.1"}}),
        "flow.arazzo.yaml": "arazzo: 1.0.0\n",
        "old.arazzo.yaml": "arazzo: 2.0.0\nworkflows: []\n",
        "notes.txt": "hello\n",
        "broken.json": "{",
    }
    expected = ["a Postman collection without an `item` list", "flow.arazzo.yaml:1",
                "not an Arazzo 1.0 document", "not a HAR file, a Postman collection (v2.1), an Arazzo 1.0 document",
                "looks like JSON but does not parse"]  # fmt: skip
    for (name, text), message in zip(cases.items(), expected, strict=True):
        (tmp_path / name).write_text(text)
        result = cli("import", tmp_path / name)
        assert result.code == 2 and message in result.err, (name, result.err)


CURL_WORDS = ["curl", "-X", "POST", "-H", "'A: b'", "-d", "'{\"a\": 1}'", "-u", "x:y", "-L", "-k", "'", '"', "\\\n",
              "https://h.test/a/1", "http://", "--json", "-b", "c=d", "{", "}"]  # fmt: skip


@settings(max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.lists(st.sampled_from(CURL_WORDS), max_size=12).map(" ".join),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["log", "entries", "request", "response", "url", "method", "headers", "info"]),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=20,
        ).map(json.dumps),
    )
)
def test_any_input_is_a_flow_that_loads_or_a_usage_error(tmp_path, text):
    source = tmp_path / "input.txt"
    source.write_text(text)
    imports_a_flow_that_loads_or_refuses(source)


def test_a_har_recorded_by_chromium_imports_and_runs(cli, tmp_path, live_server):
    """The acceptance test of issue 15: a real browser's recording, not a hand-made one."""
    from playwright.sync_api import sync_playwright

    from tests.server import USER_PASSWORD

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed: `make test` installs it"
    har = tmp_path / "session.har"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(record_har_path=str(har), record_har_content="embed")
        page = context.new_page()
        page.goto(f"{live_server}/app")
        page.wait_for_function("document.title.startsWith('done')")
        assert page.title() == "done ok from-the-browser"
        context.close()  # writes the HAR
        browser.close()
    out = tmp_path / "session.yaml"
    assert cli("import", har, "-o", out).code == 0
    text = out.read_text()
    assert "app.css" in text.split("name:")[0] and "/png" in text.split("name:")[0]  # left out, listed
    assert "tok_" not in text and USER_PASSWORD not in text  # the token is captured, the password a secret
    assert "access_token: $.access_token" in text and 'Authorization: "Bearer {{ access_token }}"' in text
    assert "/things/{{ id }}?view=full" in text and "- name: GET /things/{id}" in text
    assert "sec-ch-ua" not in text and "User-Agent" not in text and "Accept: '*/*'" not in text
    assert "password: \"{{ secret('PASSWORD') }}\"" in text
    assert cli("validate", out).code == 0
    result = cli("run", out, "-v", env={"PASSWORD": USER_PASSWORD})
    assert result.code == 0, result.output
    assert "tok_" not in result.output and USER_PASSWORD not in result.output


def test_a_long_recording_chains_its_ids_by_name(tmp_path):
    """300 requests, each reusing the id and token of the one before, with 15 more ids per response
    that nothing reuses: each step captures what the next reuses, named id, id_2, ... (names go
    to reused values only). Quadratic work here once took minutes for 1,500 requests."""
    from runner.share.importer import import_file

    entries = []
    for i in range(300):
        body = {
            "data": {"id": 1000 + i, "token": f"tok-{i:08d}", "items": [{"id": f"item-{i}-{j}-x"} for j in range(15)]}
        }
        entries.append({
            "request": {"method": "GET", "url": f"https://api.test/things/{999 + i}",
                        "headers": [{"name": "Authorization", "value": f"Bearer tok-{i - 1:08d}"}]},
            "response": {"status": 200, "content": {"mimeType": "application/json", "text": json.dumps(body)}},
        })  # fmt: skip
    source = tmp_path / "long.har"
    source.write_text(json.dumps({"log": {"entries": entries}}))
    text = import_file(str(source))
    assert "capture:\n    id: $.data.id\n    token: $.data.token" in text
    assert 'url: "{{ base }}/things/{{ id_299 }}"' in text and 'Authorization: "Bearer {{ token_299 }}"' in text
    assert "items" not in text  # never reused: never captured


_HAR_TEXT = st.sampled_from(["http://h.test/a/1", "https://h.test/x?y=1", "GET", "POST", "OPTIONS", "http://", "{{ x }}",
                             "{% for %}", "{#", "{", "a{{{", "}", "application/json", "image/png", "base64", '{"id": "tok-123456789"}',
                             "tok-123456789", "Authorization", "Cookie", ":authority", "", "\n"])  # fmt: skip
_HAR_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-1, 1000) | _HAR_TEXT | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["method", "url", "headers", "name", "value", "postData", "text", "status", "content", "mimeType", "encoding"]),
        inner, max_size=5),
    max_leaves=15,
)  # fmt: skip


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({}, optional={"request": _HAR_VALUE, "response": _HAR_VALUE}) | _HAR_VALUE,
                max_size=4))  # fmt: skip
def test_any_har_is_a_flow_that_loads_or_a_usage_error(tmp_path, entries):
    """HAR entries of any shape: a request or response that is a list, a header that is a number,
    a status that is text, a URL with template syntax in it."""
    source = tmp_path / "any.har"
    source.write_text(json.dumps({"log": {"entries": entries}}))
    imports_a_flow_that_loads_or_refuses(source)
