"""Servers that misbehave end a step with a message, never hang, eat memory or poison the next
step (issue 8 §5). The server is tests/rude_server.py, on a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rude_server import CONNECTIONS, RAW_RESPONSE, rude_server


@pytest.fixture(scope="module")
def rude() -> Iterator[str]:
    with rude_server() as url:
        yield url


def flow(*steps: str, http: str = "") -> str:
    lines = ["name: Rude", 'vars: {base: "{{ env.RUDE }}"}']
    if http:
        lines.append(f"http: {http}")
    lines.append("steps:")
    lines += [f"  - {step}" for step in steps]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("path", ["/endless", "/trickle"], ids=["endless-chunked-body", "one-byte-at-a-time"])
def test_the_timeout_bounds_the_whole_exchange(cli, write, rude, path):
    text = flow(f'{{name: Slow, request: {{url: "{{{{ base }}}}{path}", timeout: 0.5}}}}')
    result = cli("run", write(text), env={"RUDE": rude})
    assert result.code == 1
    assert "error: no complete response from 127.0.0.1:" in result.out and "within 0.5 s" in result.out


def test_a_gzip_bomb_stops_at_the_size_limit(cli, write, rude):
    text = flow('{name: Bomb, request: {url: "{{ base }}/gzip-bomb/128"}}', http="{max_response_mb: 8}")
    result = cli("run", write(text), env={"RUDE": rude})
    assert result.code == 1
    assert "the response body is larger than 8 MiB, the limit (raise it with http.max_response_mb)" in result.out


def test_the_default_size_limit_is_50_mib(cli, write, rude):
    result = cli("run", write(flow('{name: Big, request: {url: "{{ base }}/big"}}')), env={"RUDE": rude})
    assert result.code == 1
    assert "larger than 50 MiB" in result.out


def test_a_raised_size_limit_reads_the_body(cli, write, rude):
    text = flow('{name: Big, request: {url: "{{ base }}/big"}, expect: {status: 200}}', http="{max_response_mb: 64}")
    assert cli("run", write(text), env={"RUDE": rude}).code == 0


def test_json_nested_100000_deep_fails_the_step_with_a_message(cli, write, rude):
    text = flow(
        '{name: Deep, request: {url: "{{ base }}/deep"}, expect: {status: 200}}',
        "{name: Next, request: {url: '{{ base }}/ok'}}",
    )
    result = cli("run", write(text), env={"RUDE": rude})
    assert result.code == 1
    assert "why:      the JSON body nests deeper than 200 levels, the limit" in result.out
    assert "  · Next" in result.out and "not run" in result.out


def test_a_body_after_a_204_does_not_become_the_next_response(cli, write, rude):
    text = flow(
        '{name: No content, request: {url: "{{ base }}/smuggle"}, expect: {status: 204}}',
        '{name: Next, request: {url: "{{ base }}/ok"}, expect: {status: 200, json: {$.ok: true}}}',
    )
    result = cli("run", write(text), env={"RUDE": rude})
    assert result.code == 0, result.out


def test_nan_in_a_response_is_written_as_valid_json(cli, write, rude, tmp_path):
    text = flow('{name: NaN, request: {url: "{{ base }}/nan"}, capture: {a: $.a, b: $.b}, expect: {json: {$.c: 2}}}')
    report = tmp_path / "r.json"
    result = cli("run", "--report", report, write(text), env={"RUDE": rude})
    assert result.code == 1
    data = json.loads(report.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in the report"))
    assert data["flows"][0]["steps"][0]["captures"] == {"a": "NaN", "b": "Infinity"}


@pytest.fixture(scope="module")
def tls_server() -> Iterator[str]:
    with rude_server(tls=True) as url:
        yield url


def test_tls_with_verify_false_reaches_a_self_signed_server_and_reuses_the_connection(cli, write, tls_server):
    text = flow(
        '{name: One, request: {url: "{{ base }}/ok"}, expect: {status: 200, json: {$.ok: true}}}',
        '{name: Two, request: {url: "{{ base }}/ok"}, expect: {status: 200}}',
        http="{verify: false}",
    )
    result = cli("run", write(text), env={"RUDE": tls_server})
    assert result.code == 0, result.output


def test_tls_verifies_certificates_by_default(cli, write, tls_server):
    result = cli("run", write(flow('{name: One, request: {url: "{{ base }}/ok"}}')), env={"RUDE": tls_server})
    assert result.code == 1
    assert "error: cannot connect to 127.0.0.1:" in result.out and ": TLS: self-signed certificate" in result.out


def test_the_flows_of_a_run_share_kept_alive_connections(cli, write, rude):
    step = '{name: "Call", request: {url: "{{ base }}/ok"}, expect: {status: 200}}'
    for i in range(5):
        write(flow(step, step), f"flows/flow-{i}.yaml")
    before = CONNECTIONS[0]
    result = cli("run", write(flow(step), "flows/flow-5.yaml").parent, env={"RUDE": rude})
    assert result.code == 0, result.output
    assert CONNECTIONS[0] - before == 1  # six flows one after the other: one connection, not six


def test_a_connection_the_server_hung_up_is_not_reused(cli, write, rude):
    steps = [f'{{name: "Call {i}", request: {{url: "{{{{ base }}}}/bye"}}, expect: {{status: 200}}}}' for i in range(4)]
    result = cli("run", write(flow(*steps)), env={"RUDE": rude})
    assert result.code == 0, result.output


def test_a_header_value_with_a_line_break_fails_the_step_not_apiflow(cli, write, rude):
    result = cli(
        "run",
        write(flow('{name: Bad header, request: {url: "{{ base }}/ok", headers: {A: "x\\ny"}}}')),
        env={"RUDE": rude},
    )
    assert result.code == 1
    assert "the request cannot be sent: Illegal header value" in result.out


# Whatever a server sends back, the step passes or fails with a message: never a crash.
_STATUS_LINES = st.sampled_from(
    [b"HTTP/1.1 200 OK", b"HTTP/1.1 204 No Content", b"HTTP/1.0 200 OK", b"HTTP/1.1 999 Odd", b"HTTP/2 200",
     b"HTTP/1.1 200", b"ICY 200 OK", b"HTTP/1.1 abc OK", b"", b"HTTP/1.1 101 Switching Protocols"]
)  # fmt: skip
_HEADERS = st.lists(
    st.sampled_from(
        [b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 99999999999", b"Content-Length: 2, 3",
         b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip", b"Content-Encoding: gzip", b"Content-Type: application/json",
         b"Content-Type: text/html; charset=nope", b"Connection: close", b"X: \xff\xfe", b"no colon", b": empty name"]
    ),
    max_size=4,
)  # fmt: skip
_BODIES = st.one_of(
    st.binary(max_size=64), st.sampled_from([b"{}", b'{"ok": true}', b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n"])
)


@st.composite
def _responses(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    head = b"\r\n".join([draw(_STATUS_LINES), *draw(_HEADERS)])
    return head + b"\r\n\r\n" + draw(_BODIES)


@settings(
    max_examples=120, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=_responses())
def test_any_bytes_a_server_sends_back_end_in_a_result(cli, tmp_path, rude, raw):
    RAW_RESPONSE[0] = raw
    path = tmp_path / "raw.yaml"
    path.write_text(flow('{name: Raw, request: {url: "{{ base }}/raw", timeout: 2}, expect: {json: {$.ok: true}}}'))
    result = cli("run", path, env={"RUDE": rude})
    assert result.code in (0, 1), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


@pytest.mark.parametrize("path", ["/deflate-raw", "/deflate-zlib"])
def test_deflate_is_read_with_or_without_its_zlib_header(cli, write, rude, path):
    text = flow(f'{{name: Deflated, request: {{url: "{{{{ base }}}}{path}"}}, expect: {{json: {{$.ok: true}}}}}}')
    assert cli("run", write(text), env={"RUDE": rude}).code == 0


def test_a_body_that_does_not_decompress_fails_the_step(cli, write, rude):
    result = cli("run", write(flow('{name: Broken, request: {url: "{{ base }}/gzip-broken"}}')), env={"RUDE": rude})
    assert result.code == 1
    assert "the response body does not decompress (gzip)" in result.out


def test_the_transport_times_each_read_unless_its_caller_bounds_the_exchange():
    """Speed (issue 10): the engine bounds a whole exchange itself, and marks its requests so;
    apiflow's transport then sets no timer per read (one per read cost ~8% of a request's CPU).
    A request without the mark still has each read bounded by httpx's read timeout."""
    import asyncio

    import httpx

    from runner.engine.h11_transport import BOUNDED_BY_CALLER, H11Transport

    async def outcome(marked: bool) -> str:
        answered = asyncio.Event()
        handlers: list[asyncio.Task[None] | None] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            handlers.append(asyncio.current_task())  # type: ignore[arg-type]
            await reader.read(65536)  # the request, never answered
            await answered.wait()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(transport=H11Transport(), timeout=0.2) as client:
                request = client.build_request("GET", f"http://127.0.0.1:{port}/")
                if marked:
                    request.extensions[BOUNDED_BY_CALLER] = True
                async with asyncio.timeout(1.5):  # the caller's own bound
                    await client.send(request)
        except httpx.ReadTimeout:
            return "the transport's read timeout"
        except TimeoutError:
            return "the caller's bound"
        finally:
            answered.set()
            server.close()
            await server.wait_closed()
            await asyncio.gather(*(h for h in handlers if h is not None))  # each closed its side
        return "an answer"

    assert asyncio.run(outcome(marked=False)) == "the transport's read timeout"
    assert asyncio.run(outcome(marked=True)) == "the caller's bound"
