"""`apiflow import` of a Postman collection v2.1 (issue 15): folders become named steps, `{{var}}`s
become vars, env values or secrets, the common test-script lines become expect and capture, the
rest are comments; the flow validates and runs against the test API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.importing import imports_a_flow_that_loads_or_refuses
from tests.server import USER_PASSWORD

COLLECTION = Path(__file__).parent / "data" / "share" / "postman-things.json"


def test_a_collection_becomes_a_flow_that_runs(cli, tmp_path, live_server):
    out = tmp_path / "things.yaml"
    assert cli("import", COLLECTION, "-o", out).code == 0
    text = out.read_text()
    # Folders name the steps; scripts are translated where they can be, the rest are comments.
    assert "- name: Things / Create a thing" in text and "capture:\n    thingId: $.data.id" in text
    assert "token: $.access_token" in text and "status: 201" in text and "$.data.name: widget" in text
    assert "# pm.expect(json.data.id).to.satisfy(id => id > 0);" in text
    assert "# Postman prerequest script (not run):\n# pm.variables.set('now', Date.now());" in text
    assert "# Folder Things: prerequest script, not run:" in text
    # The collection's password is a secret; the environment's baseUrl is read from the environment;
    # its empty `token`, set by the login's script before anything reads it, is a capture only.
    assert (
        "# Secrets to set in the environment (or --env-file): PASSWORD\n" in text
        and "token: " not in text.split("steps:")[0]
    )
    assert "not-the-real-one" not in text and "password: \"{{ secret('PASSWORD') }}\"" in text
    assert 'baseUrl: "{{ env.baseUrl }}"' in text and "X-Debug" not in text and "off:" not in text
    assert "{{ uuid() }}" in text and "price: 3" in text  # a dynamic variable; a bare number stays one
    # chai assertions: merged per path, in the kinds of check apiflow has
    assert "$.data.price:\n        eq: 3\n        gt: 2" in text and "type: array\n        len: 1" in text
    assert "ne: gadget\n        contains: idg" in text and "Content-Type:\n        exists: true" in text
    assert "text:\n      contains: widget" in text and "time_ms:\n      lt: 5000" in text
    assert cli("validate", out).code == 0
    result = cli("run", out, "-v", "--var", f"baseUrl={live_server}", env={"PASSWORD": USER_PASSWORD})
    assert result.code == 0, result.output
    assert USER_PASSWORD not in result.output and "tok_" not in result.output


def test_a_failing_translated_check_fails_the_run(cli, tmp_path, live_server):
    collection = json.loads(COLLECTION.read_text())
    script = collection["item"][1]["item"][1]["event"][0]["script"]["exec"]
    script[1] = "pm.expect(jsonData.data.price).to.eql(4);"
    source = tmp_path / "c.json"
    source.write_text(json.dumps(collection))
    out = tmp_path / "c.yaml"
    assert cli("import", source, "-o", out).code == 0
    result = cli("run", out, "--var", f"baseUrl={live_server}", env={"PASSWORD": USER_PASSWORD})
    assert result.code == 1 and "$.data.price" in result.output


POSTMAN_KEYS = ["item", "request", "url", "raw", "method", "header", "key", "value", "body", "mode", "urlencoded",
                "formdata", "graphql", "auth", "type", "bearer", "event", "listen", "script", "exec", "variable",
                "name", "disabled", "src", "options"]  # fmt: skip
POSTMAN_TEXT = ["{{x}}", "{{$guid}}", "{{$nope}}", "{", "{{{x}}}", "a{%", "http://h.test/a/:id", "{%", "{#", '{"a": {{x}}}', "json",
                "bearer", "basic", "apikey", "oauth2", "raw", "file", "pm.response.to.have.status(200);", "POST"]  # fmt: skip


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.sampled_from(POSTMAN_TEXT) | st.text(max_size=6),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(POSTMAN_KEYS), inner, max_size=5),
        max_leaves=30,
    )
)
def test_any_collection_is_a_flow_that_loads_or_a_usage_error(tmp_path, body):
    collection = {"info": {"_postman_id": "x", "name": "fuzz"}, "item": body if isinstance(body, list) else [body]}
    source = tmp_path / "c.json"
    source.write_text(json.dumps(collection))
    imports_a_flow_that_loads_or_refuses(source)


@pytest.mark.parametrize(
    "item",
    [
        {"request": []},
        {"request": {"url": "http://a.test/", "header": "x"}},
        {"request": {"url": {"raw": 5}}},
        {"request": {"url": "http://a.test/", "auth": {"type": "bearer", "bearer": "tok"}}},
        {"request": {"url": {"host": "a", "path": 5, "variable": [{"key": "id", "value": {"x": 1}}]}},
         "event": [{"script": {"exec": [1, 2]}}]},
        {"name": ["a"], "request": {"method": 5, "url": "http://a.test/:id"}, "event": "x"},
        {"request": {"method": "PROPFIND", "url": "http://a.test/"}},
        {"request": {"url": "http://a.test/"},  # a literal nested past Python's recursion limit
         "event": [{"listen": "test", "script": {"exec": ["pm.expect(pm.response.json().a).to.eql(" + "[" * 5000 + ")"]}}]},
        {"request": {"url": "http://a.test/", "body": {"mode": "urlencoded", "urlencoded": {"a": 1}}}},
        {"request": {"url": "http://a.test/", "body": {"mode": "graphql", "graphql": {"query": 1, "variables": {}}}}},
    ],
)  # fmt: skip
def test_odd_items_are_a_flow_that_loads_or_a_usage_error(tmp_path, item):
    source = tmp_path / "c.json"
    source.write_text(json.dumps({"info": {"_postman_id": "x"}, "variable": [1, {"key": 3}], "item": [item]}))
    imports_a_flow_that_loads_or_refuses(source)


def test_a_password_written_in_a_body_becomes_a_secret(cli, tmp_path):
    body = {"mode": "raw", "raw": '{"username": "ann", "password": "Hunter2-in-the-collection"}'}
    item = {"name": "Log in", "request": {"method": "POST", "url": "http://a.test/login", "body": body}}
    form = {
        "mode": "urlencoded",
        "urlencoded": [{"key": "api_key", "value": "k-123456789"}, {"key": "q", "value": "x"}],
    }
    other = {"name": "Search", "request": {"method": "POST", "url": "http://a.test/s", "body": form}}
    source = tmp_path / "c.json"
    source.write_text(json.dumps({"info": {"_postman_id": "x", "name": "c"}, "item": [item, other]}))
    result = cli("import", source)
    assert result.code == 0 and "Hunter2" not in result.out and "k-123456789" not in result.out
    assert "# Secrets to set in the environment (or --env-file): API_KEY, PASSWORD" in result.out
    assert "password: \"{{ secret('PASSWORD') }}\"" in result.out and "q: x" in result.out


def test_the_files_a_collection_sends_are_listed(cli, tmp_path):
    parts = {"mode": "formdata", "formdata": [{"key": "pic", "type": "file", "src": "/home/ann/cat.png"}]}
    raw_file = {"mode": "file", "file": {"src": "order.xml"}}
    items = [{"name": n, "request": {"method": "POST", "url": "http://a.test/u", "body": b}}
             for n, b in (("Upload", parts), ("Put", raw_file))]  # fmt: skip
    source = tmp_path / "c.json"
    source.write_text(json.dumps({"info": {"_postman_id": "x", "name": "c"}, "item": items}))
    result = cli("import", source)
    assert result.code == 0
    assert "# Files the requests send, to put next to this flow (paths are relative to it) (2):" in result.out
    assert "#   /home/ann/cat.png\n#   order.xml" in result.out
