"""Secrets never leak, in any encoding, into any output; and ordinary text is not blanked (issue 8 §4)."""

from __future__ import annotations

import html
import json
from urllib.parse import quote, quote_plus

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.engine.redact import MASK, Redactor, encoded_forms
from runner.flowfile.source import SourceFile, Span
from runner.flowfile.templates import TemplateRenderError, compile_template
from tests.test_reports import run_with_reports

URL_SECRET = "q8Fz+Wm/3kQ="  # base64: `+`, `/` and `=` all change when URL-encoded
JSON_SECRET = 'pa"ss\\word-77'  # `"` and `\\` change when JSON-escaped
COOKIE = "sess-cookie-value-123"


def _outputs(cli, live_server, tmp_path, path, *, verbose, env):
    result, reports = run_with_reports(cli, live_server, tmp_path, path, extra=["-v"] if verbose else [], env=env)
    curls = [s["curl"] for f in json.loads(reports["json"])["flows"] for s in f["steps"] if s["curl"]]
    return result, {"console": result.output, "curl": "\n".join(curls), **reports}


def _leaks(outputs: dict[str, str], secrets: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for secret in secrets:
        for form in encoded_forms(secret) | {html.escape(secret)}:
            for name, text in outputs.items():
                if form in text:
                    found.setdefault(form, []).append(name)
    return found


@pytest.mark.parametrize("verbose", [False, True], ids=["default", "verbose"])
def test_secrets_in_params_bodies_cookies_and_responses_leak_nowhere(cli, live_server, tmp_path, write, verbose):
    path = write(
        """
        name: Encoded secrets
        vars: {base: "{{ env.BASE_URL }}"}
        steps:
          - name: Get a session cookie
            request: {url: "{{ base }}/cookie/set"}
          - name: Send secrets in a query and a body
            request:
              method: POST
              url: "{{ base }}/echo"
              params: {key: "{{ secret('URL_SECRET') }}"}
              json: {note: "{{ secret('JSON_SECRET') }}"}
            expect: {status: 299}
        """
    )
    env = {"URL_SECRET": URL_SECRET, "JSON_SECRET": JSON_SECRET}
    result, outputs = _outputs(cli, live_server, tmp_path, path, verbose=verbose, env=env)
    assert result.code == 1
    assert _leaks(outputs, [URL_SECRET, JSON_SECRET, COOKIE]) == {}
    assert MASK in outputs["console"]


def test_every_output_redacts_the_same_with_or_without_v(cli, live_server, tmp_path, write):
    path = write(
        """
        name: Cookie echoed later
        vars: {base: "{{ env.BASE_URL }}"}
        steps:
          - name: Get a session cookie
            request: {url: "{{ base }}/cookie/set"}
          - name: The server echoes it in a body
            request: {url: "{{ base }}/cookie/check"}
            expect: {status: 299}
        """
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    quiet = _outputs(cli, live_server, tmp_path / "a", path, verbose=False, env={})[1]
    loud = _outputs(cli, live_server, tmp_path / "b", path, verbose=True, env={})[1]
    for outputs in (quiet, loud):
        assert _leaks(outputs, [COOKIE]) == {}
    assert '{"session":"[REDACTED]"}' in quiet["console"]


def test_a_cookie_valued_like_a_word_does_not_blank_urls(cli, live_server, tmp_path, write):
    path = write(
        """
        name: Ordinary cookie
        vars: {base: "{{ env.BASE_URL }}"}
        steps:
          - name: Set mode=http
            request: {url: "{{ base }}/cookie/set", params: {name: mode, value: http}}
          - name: Fail to show the URL
            request: {url: "{{ base }}/echo"}
            expect: {status: 299}
        """
    )
    result, outputs = _outputs(cli, live_server, tmp_path, path, verbose=True, env={})
    assert f"> GET {live_server}/echo" in result.out
    assert "${SET_COOKIE}" not in outputs["curl"] and "[REDACTED]://" not in outputs["console"]


def test_a_short_cvv_is_masked_where_it_stands_but_the_same_digits_elsewhere_stay(cli, live_server, tmp_path, write):
    path = write(
        """
        name: Card and quantity
        vars: {base: "{{ env.BASE_URL }}"}
        matrix: [{quantity: 123}]
        steps:
          - name: Pay
            request:
              method: POST
              url: "{{ base }}/echo"
              json: {quantity: "{{ quantity }}", payment: {verification_value: "123"}}
            expect: {status: 299}
        """
    )
    result, outputs = _outputs(cli, live_server, tmp_path, path, verbose=False, env={})
    assert "Card and quantity [quantity=123]" in result.out
    assert '"verification_value":"[REDACTED]"' in result.out
    assert '"verification_value":"123"' not in outputs["json"]


SPAN = Span(SourceFile("flow.yaml", "x"), 1, 1)


def test_a_secret_quoted_by_python_in_an_error_message_is_masked():
    secret = "it's-a\\secret"
    redactor = Redactor()
    redactor.add(secret, "PW")
    for message in (f"KeyError: {secret!r}", f"no {{'k': {secret!r}}} here", f"ValueError: {[secret]}"):
        assert repr(secret)[1:-1] not in redactor.redact(message) and MASK in redactor.redact(message)


def test_a_template_error_names_what_was_missing_without_quoting_it_by_python():
    with pytest.raises(TemplateRenderError) as caught:
        compile_template("{{ {}[pw].x }}", SPAN).render({"pw": "it's-a\\secret"})
    assert str(caught.value) == "no `it's-a\\secret` in the mapping (it has: nothing)"


def test_text_is_masked_before_it_is_cut(cli, live_server, tmp_path, write):
    secret = "cut-me-secret-" + "9" * 30
    card = "4111 1111 1111 1111"
    pem = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----"
    path = write(
        """
        name: Cut
        vars: {base: "{{ env.BASE_URL }}", pad: "PAD"}
        steps:
          - name: Long body
            request:
              method: POST
              url: "{{ base }}/echo"
              json: {a: "{{ pad }}{{ secret('LONG') }}", card: "CARD", pem: "{{ secret('PEM') }}"}
            expect: {status: 299}
        """.replace("PAD", "x" * 262).replace("CARD", card)
    )
    env = {"LONG": secret, "PEM": pem}
    result, outputs = _outputs(cli, live_server, tmp_path, path, verbose=False, env=env)
    assert result.code == 1
    for name, text in outputs.items():
        for prefix in (secret[:12], "4111 1111 1111", "MIIBOgIBAAJBAKj34"):
            assert prefix not in text, f"{prefix!r} in {name}"


# Printable secrets with every character that some encoding changes.
SECRETS = st.text(alphabet=st.sampled_from("aZ09+/=&?%#\"'\\ :;@.-_~é€\n"), min_size=8, max_size=24).filter(
    lambda s: s.strip() == s and not s.isalpha()
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(SECRETS)
def test_a_declared_secret_is_masked_in_every_form_an_output_gives_it(secret):
    redactor = Redactor()
    redactor.add(secret, "S")
    request = httpx.Request("POST", "http://x.test/p", params={"k": secret}, json={"v": secret})
    shown = {
        "url": str(request.url),
        "body": request.content.decode(),
        "quote": quote(secret, safe=""),
        "quote_plus": quote_plus(secret),
        "json": json.dumps({"v": secret}),
        "json-ascii": json.dumps({"v": secret}, ensure_ascii=False),
        "repr": repr({"v": secret}),
    }
    for name, text in shown.items():
        redacted = redactor.redact(text)
        assert secret not in redacted, name
        for form in encoded_forms(secret):
            assert form not in redacted, (name, form)
