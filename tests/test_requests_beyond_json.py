"""Requests beyond JSON (issue 11): auth, multipart and file bodies, cookies, per-step redirects
and TLS, GraphQL, `sleep`. Through the CLI, against the test API on a socket."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator

import pytest

from runner.engine import step_runner
from tests.rude_server import rude_server
from tests.server import ISSUED_TOKEN

PICTURE = bytes(range(256)) * 40  # 10,240 bytes that are not text


def flow(*steps: str, top: str = "") -> str:
    lines = ["name: Beyond", 'vars: {base: "{{ env.BASE }}"}', *([top] if top else []), "steps:"]
    return "\n".join(lines + [f"  - {s}" for s in steps]) + "\n"


@pytest.fixture
def run(cli, write, live_server):
    def go(text: str, *args: str, env: dict[str, str] | None = None):
        return cli("run", "-v", *args, write(text), env={"BASE": live_server, **(env or {})})

    return go


def test_basic_auth_is_encoded_for_the_user_and_redacted(run):
    step = "{name: In, request: {url: '{{ base }}/basic-auth/alice/wonder-land', auth: {basic: {username: alice, password: %s}}}, expect: {status: %d}}"
    ok = run(flow(step % ("\"{{ secret('PW') }}\"", 200)), env={"PW": "wonder-land"})
    assert ok.code == 0, ok.output
    encoded = base64.b64encode(b"alice:wonder-land").decode()
    assert "wonder-land" not in ok.output and encoded not in ok.output
    assert "authorization: [REDACTED]" in ok.out
    wrong = run(flow(step % ("not-the-password", 200)))
    assert wrong.code == 1 and "401" in wrong.out


def test_digest_auth_answers_the_challenge(run):
    step = "{name: In, request: {url: '{{ base }}/digest-auth/bob/pa55-word', auth: {digest: {username: bob, password: %s}}}, expect: {status: 200, json: {$.user: bob}}}"
    assert run(flow(step % "pa55-word")).code == 0
    failed = run(flow(step % "wrong-word"))
    assert failed.code == 1 and "401" in failed.out


def test_bearer_auth_from_http_is_replaced_by_a_steps_own(run):
    private = "{name: Private, request: {url: '{{ base }}/private'}, expect: {status: 200}}"
    top = "http: {auth: {bearer: '%s'}}"
    assert run(flow(private, top=top % ISSUED_TOKEN)).code == 0
    assert run(flow(private, top=top % "stale-token-123")).code == 1
    own = "{name: Own, request: {url: '{{ base }}/private', auth: {bearer: '%s'}}, expect: {status: 200}}"
    result = run(flow(own % ISSUED_TOKEN, top=top % "stale-token-123"))
    assert result.code == 0, result.output
    assert ISSUED_TOKEN not in result.output


def test_multipart_streams_files_and_sends_fields(run, write, tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "cat.png").write_bytes(PICTURE)
    step = """{name: Upload, request: {method: POST, url: '{{ base }}/upload', multipart: {note: hello, count: 3, picture: {file: files/cat.png, content_type: image/png}}}, capture: {parts: {jsonpath: '$.parts', all: true}}}"""
    report = tmp_path / "r.json"
    result = run(flow(step), "--report", str(report))
    assert result.code == 0, result.output
    parts = json.loads(report.read_text())["flows"][0]["steps"][0]["captures"]["parts"][0]
    assert [(p["name"], p["text"]) for p in parts[:2]] == [("note", "hello"), ("count", "3")]
    picture = parts[2]
    assert (picture["filename"], picture["content_type"], picture["size"]) == ("cat.png", "image/png", len(PICTURE))
    assert picture["sha256"] == hashlib.sha256(PICTURE).hexdigest()
    # Reports name the file and its size; its bytes are never dumped.
    assert "picture: <file files/cat.png, 10,240 bytes> as cat.png (image/png)" in result.out
    assert "<file files/cat.png, 10,240 bytes>" in report.read_text()


def test_a_file_body_is_sent_with_its_length_not_chunked(run, tmp_path):
    (tmp_path / "order.xml").write_text("<order id='1'/>\n")
    step = "{name: Put, request: {method: PUT, url: '{{ base }}/raw', body: {file: order.xml}, headers: {Content-Type: application/xml}}, expect: {json: {$.size: 16, $.chunked: false, $.content_type: application/xml}}}"
    result = run(flow(step))
    assert result.code == 0, result.output
    assert "<file order.xml, 16 bytes>" in result.out


@pytest.mark.parametrize(
    ("make", "why"),
    [(lambda p: None, "no such file"), (lambda p: (p / "order.xml").mkdir(), "a folder")],
    ids=["missing", "folder"],
)
def test_a_file_that_cannot_be_sent_is_a_located_load_error(cli, write, tmp_path, make, why):
    make(tmp_path)
    path = write(flow("{name: Put, request: {method: PUT, url: 'http://x.test/', body: {file: order.xml}}}"))
    for command in ("validate", "run"):
        result = cli(command, path)
        assert result.code == 2
        assert f"{path}:4:" in result.err and "`file: order.xml`:" in result.err and why in result.err
        assert "the path is relative to the flow file" in result.err


def test_one_body_per_request_counts_multipart_and_graphql(cli, write):
    step = "{name: Two, request: {method: POST, url: 'http://x.test/', json: {a: 1}, graphql: {query: '{ a }'}}}"
    result = cli("validate", write(flow(step)))
    assert result.code == 2
    assert "a request has one body, but this one has `json` and `graphql`" in result.err


def test_cookies_of_a_step_join_the_runs_jar(run):
    first = "{name: Set, request: {url: '{{ base }}/cookie/check', cookies: {session: jar-cookie-42}}, expect: {json: {$.session: jar-cookie-42}}}"
    later = "{name: Later, request: {url: '{{ base }}/cookie/check'}, expect: {json: {$.session: jar-cookie-42}}}"
    result = run(flow(first, later))
    assert result.code == 0, result.output
    assert "jar-cookie-42" not in result.output  # cookie values are credentials


def test_follow_redirects_per_step_overrides_the_flow(run):
    step = "{name: Go, request: {url: '{{ base }}/redirect'%s}, expect: {status: %d}}"
    assert run(flow(step % ("", 302))).code == 0
    assert run(flow(step % (", follow_redirects: true", 200))).code == 0
    top = "http: {follow_redirects: true}"
    assert run(flow(step % (", follow_redirects: false", 302), top=top)).code == 0


def test_graphql_is_posted_as_a_json_body(run):
    step = "{name: Ask, request: {url: '{{ base }}/echo', graphql: {query: 'query($id: ID!) { user(id: $id) { name } }', variables: {id: '{{ 40 + 2 }}'}, operation_name: One}}, expect: {json: {$.method: POST, $.json.operationName: One, $.json.variables.id: 42}}}"
    result = run(flow(step))
    assert result.code == 0, result.output


def test_a_sleep_step_waits_and_passes(run, monkeypatch):
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(step_runner, "sleep", fake_sleep)
    result = run(flow("{name: Wait, sleep: 1.5}", "{name: Then, sleep: 0.25, request: {url: '{{ base }}/text'}}"))
    assert result.code == 0, result.output
    assert waited == [1.5, 0.25]


def test_a_sleep_over_the_limit_is_a_load_error(cli, write):
    result = cli("validate", write(flow("{name: Wait, sleep: 3600}")))
    assert result.code == 2 and "above the maximum 300" in result.err


@pytest.fixture(scope="module")
def tls_server() -> Iterator[str]:
    with rude_server(tls=True) as url:
        yield url


def test_verify_false_on_one_step_of_a_verifying_flow(cli, write, tls_server):
    insecure = "{name: Self-signed, request: {url: '{{ base }}/ok', verify: false}, expect: {status: 200}}"
    secure = "{name: Checked, request: {url: '{{ base }}/ok'}}"
    result = cli("run", write(flow(insecure, secure)), env={"BASE": tls_server})
    assert result.code == 1
    assert "✓ Self-signed" in result.out and "self-signed certificate" in result.out


def test_the_schema_bounds_sleep_by_the_limit():
    from runner.flowfile.schema_check import flow_schema
    from runner.limits import MAX_SLEEP_SECONDS

    assert flow_schema()["$defs"]["step"]["properties"]["sleep"]["maximum"] == MAX_SLEEP_SECONDS


def test_a_missing_multipart_file_is_a_located_load_error(cli, write):
    step = "{name: Up, request: {method: POST, url: 'http://x.test/', multipart: {a: {file: gone.png}}}}"
    result = cli("validate", write(flow(step)))
    assert result.code == 2 and "`file: gone.png`: no such file" in result.err


@pytest.mark.parametrize("file", ["", "3", "[a]", "{a: b}"], ids=["empty", "number", "list", "mapping"])
def test_a_body_file_that_is_not_a_path_is_a_located_load_error(cli, write, file):
    # Found by hypothesis through `apiflow export`: `body: {file: }` crashed the loader.
    path = write(flow("{name: Put, request: {method: PUT, url: 'http://x.test/', body: {file: " + file + "}}}"))
    result = cli("validate", path)
    assert result.code == 2 and f"{path}:4:" in result.err and "internal error" not in result.err, result.err
