"""Filters and tests added to templates (issue 11): encodings, digests, HMAC, JWT payloads and
regular-expression tests, checked against the standard library on generated input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.flowfile.source import SourceFile, Span
from runner.flowfile.templates import TemplateRenderError, compile_template

SPAN = Span(SourceFile("flow.yaml", "x"), 1, 1)


def render(text: str, **scope: object) -> object:
    return compile_template(text, SPAN).render(scope)


@settings(max_examples=150, derandomize=True)
@given(st.text())
def test_b64encode_then_b64decode_gives_the_text_back(text):
    encoded = render("{{ v | b64encode }}", v=text)
    assert encoded == base64.b64encode(text.encode()).decode()
    assert render("{{ v | b64decode }}", v=encoded) == text


@settings(max_examples=150, derandomize=True)
@given(st.text(), st.text())
def test_digests_are_lowercase_hex_of_the_utf8_text(text, key):
    assert render("{{ v | sha256 }}", v=text) == hashlib.sha256(text.encode()).hexdigest()
    assert render("{{ v | md5 }}", v=text) == hashlib.md5(text.encode()).hexdigest()
    expected = hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()
    assert render("{{ v | hmac_sha256(k) }}", v=text, k=key) == expected


@settings(max_examples=150, derandomize=True)
@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=10), max_size=4))
def test_jwt_payload_reads_the_claims(claims):
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    token = f"eyJhbGciOiJIUzI1NiJ9.{part}.c2lnbmF0dXJl"
    assert render("{{ t | jwt_payload }}", t=token) == claims
    assert render("{{ t | jwt_payload }}", t=f"Bearer {token}") == claims


@settings(max_examples=200, derandomize=True)
@given(st.text(max_size=40))
def test_anything_given_to_b64decode_or_jwt_payload_is_a_value_or_a_render_error(text):
    for template in ("{{ v | b64decode }}", "{{ v | jwt_payload }}"):
        try:
            render(template, v=text)
        except TemplateRenderError as err:
            assert "b64decode" in str(err) or "jwt_payload" in str(err)


def test_match_anchors_at_the_start_and_search_looks_anywhere():
    assert render("{{ v is match('ord_[0-9]+') }}", v="ord_12") is True
    assert render("{{ v is match('ord_') }}", v="x ord_12") is False
    assert render("{{ v is search('ord_') }}", v="x ord_12") is True


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b", "a.%%%.c"])
def test_a_token_that_is_not_a_jwt_says_so(token):
    with pytest.raises(TemplateRenderError, match="jwt_payload"):
        render("{{ t | jwt_payload }}", t=token)
