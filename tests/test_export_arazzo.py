"""`apiflow export FLOW --to arazzo` (issue 15): a document valid against the Arazzo 1.0 JSON
Schema (tests/data/arazzo, as the OpenAPI Initiative publishes it), with a minimal OpenAPI
description of the requests or one given with --openapi; importing it back gives a flow that
sends the same requests; what Arazzo cannot express is listed, never dropped silently."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from runner.contracts.description import load_description
from tests.server import USER_PASSWORD
from tests.test_mutated_flows import EXAMPLES, LOCATED, SOURCE, _apiflow, mutated

DATA = Path(__file__).parent / "data"
FLOW = DATA / "share" / "roundtrip.yaml"
ARAZZO = jsonschema.Draft202012Validator(yaml.safe_load((DATA / "arazzo" / "schema-1.0.yaml").read_text()))


def _valid(document: dict) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in ARAZZO.iter_errors(document)]
    assert not errors, errors


def _requests(cassette: Path) -> list[tuple[str, str, str]]:
    """Method, URL and body of every request of a recorded run, with ids made alike."""
    runs = json.loads(cassette.read_text())["runs"]
    out = []
    for run in runs:
        for attempt in run["exchanges"]:
            request = attempt["request"]
            url = re.sub(r"127\.0\.0\.1:\d+", "HOST", request["url"])
            out.append((request["method"], re.sub(r"\d+", "N", url), re.sub(r"\d+", "N", request["body"])))
    return out


def test_a_flow_goes_to_arazzo_and_back_and_sends_the_same_requests(cli, tmp_path, live_server):
    out = tmp_path / "roundtrip.arazzo.yaml"
    result = cli("export", FLOW, "--to", "arazzo", "-o", out)
    assert result.code == 0, result.err
    assert "not exported" not in result.err  # this flow says nothing Arazzo cannot
    document = yaml.safe_load(out.read_text())
    _valid(document)
    assert document["sourceDescriptions"] == [{"name": "requests", "url": "roundtrip.openapi.yaml", "type": "openapi"}]
    description = load_description(tmp_path / "roundtrip.openapi.yaml")  # OpenAPI 3.1 that loads
    assert {op.name for op in description.operations} == {"POST /login", "POST /things", "GET /things/{thing_id}",
                                                           "GET /echo"}  # fmt: skip
    steps = document["workflows"][0]["steps"]
    assert steps[2]["parameters"][0] == {"name": "thing_id", "in": "path",
                                         "value": "$steps.Create_a_thing.outputs.thing_id"}  # fmt: skip
    assert {"condition": "$statusCode == 200 || $statusCode == 201"} in steps[1]["successCriteria"]
    assert {"condition": "$response.body#/data/id == $steps.Create_a_thing.outputs.thing_id"} in steps[2][
        "successCriteria"
    ]  # compared with a capture
    assert document["workflows"][0]["inputs"]["properties"]["PASSWORD"]["format"] == "password"
    # The flow's http headers are said once, for the workflow, not on every step.
    assert document["workflows"][0]["parameters"] == [{"name": "Accept", "in": "header", "value": "application/json"}]
    assert "Accept" not in str(steps)

    back = tmp_path / "back.yaml"
    assert cli("import", out, "-o", back).code == 0
    assert cli("validate", back).code == 0
    assert "http:\n  headers:\n    Accept: application/json" in back.read_text()
    env = {"PASSWORD": USER_PASSWORD}
    first = cli("run", FLOW, "--var", f"base={live_server}", "--record", tmp_path / "a.json", env=env)
    second = cli("run", back, "--var", f"base={live_server}", "--record", tmp_path / "b.json", env=env)
    assert first.code == 0 and second.code == 0, second.output
    assert _requests(tmp_path / "a.json") == _requests(tmp_path / "b.json")
    assert len(_requests(tmp_path / "a.json")) == 4


def test_an_openapi_description_names_the_operations(cli, tmp_path):
    shutil.copy(DATA / "share" / "things.openapi.yaml", tmp_path)
    out = tmp_path / "flow.arazzo.json"
    assert cli("export", FLOW, "--to", "arazzo", "-o", out, "--openapi", tmp_path / "things.openapi.yaml").code == 0
    document = json.loads(out.read_text())  # .json: JSON
    _valid(document)
    ids = [s["operationId"] for s in document["workflows"][0]["steps"]]
    assert ids == ["logIn", "createThing", "getThing", "echo"]
    assert document["workflows"][0]["steps"][2]["parameters"][0]["name"] == "id"  # the description's name
    assert not (tmp_path / "flow.openapi.yaml").exists()  # nothing to describe: all are in the given one


def test_requests_the_given_description_lacks_are_described_beside_it(cli, tmp_path):
    spec = tmp_path / "partial.yaml"
    spec.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /login: {post: {operationId: logIn, "
                    "responses: {'200': {description: ok}}}}\n")  # fmt: skip
    out = tmp_path / "flow.arazzo.yaml"
    result = cli("export", FLOW, "--to", "arazzo", "-o", out, "--openapi", spec)
    assert result.code == 0 and "is in no operation of partial.yaml" in result.err
    document = yaml.safe_load(out.read_text())
    _valid(document)
    assert [s["name"] for s in document["sourceDescriptions"]] == ["api", "requests"]
    ids = [s["operationId"] for s in document["workflows"][0]["steps"]]
    assert ids[0] == "$sourceDescriptions.api.logIn" and ids[1] == "$sourceDescriptions.requests.postThings"
    assert "/things" in yaml.safe_load((tmp_path / "flow.openapi.yaml").read_text())["paths"]


def test_what_arazzo_cannot_say_is_listed(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # printed to stdout: the description goes in the working folder
    flow = tmp_path / "odd.yaml"
    flow.write_text(
        "name: Odd\nvars: {base: 'http://h.test', n: '{{ 2 + 2 }}'}\nmatrix: [{k: 1}, {k: 2}]\nsteps:\n"
        "  - name: A\n    when: '{{ k == 1 }}'\n    request: {url: '{{ base }}/a/{{ n | int }}', params: {m: '{{ n }}'}, auth: {basic: {username: u,"
        " password: p}}, multipart: {f: x}}\n    expect: {status: 200, time_ms: {lt: 5}, json: {'$.a[*]': {len: 2}}}\n"
        "    capture: {x: {regex: 'a(b)'}}\n"
    )  # fmt: skip
    result = cli("export", flow, "--to", "arazzo")
    assert result.code == 0, result.err
    listed = result.err.split("not exported", 1)[1]
    for item in ["`when`", "basic auth", "a multipart body", "expect.time_ms", "$.a[*] `len", "capture x",
                 "`matrix`", "var n: its value is a template", "{{ n | int }}"]:  # fmt: skip
        assert item in listed, item
    document = yaml.safe_load(result.out)
    _valid(document)
    assert "/a/{n}" in yaml.safe_load((tmp_path / "odd.openapi.yaml").read_text())["paths"]
    assert len(document["x-apiflow-not-exported"]) == listed.count("\n  ")


@pytest.mark.parametrize("flow", sorted([*SOURCE.glob("*.yaml"), *EXAMPLES.glob("*.yaml")]), ids=lambda p: p.name)
def test_every_shipped_flow_exports_to_a_valid_document(cli, tmp_path, flow):
    out = tmp_path / "x.arazzo.yaml"
    result = cli("export", flow, "--to", "arazzo", "-o", out)
    assert result.code == 0, result.err
    _valid(yaml.safe_load(out.read_text()))
    load_description(tmp_path / "x.openapi.yaml")


def test_export_usage_errors(cli, tmp_path):
    assert cli("export", SOURCE, "--to", "arazzo").code == 2  # a folder
    assert cli("export", FLOW, "--to", "postman").code == 2
    missing = cli("export", tmp_path / "nope.yaml", "--to", "arazzo")
    assert missing.code == 2 and "nope.yaml" in missing.err


@settings(max_examples=120, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(mutated(EXAMPLES))
def test_a_mutated_flow_exports_to_a_valid_document_or_a_located_error(tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("export")
    shutil.copytree(EXAMPLES, folder / "examples")
    name, text = case
    path = folder / "examples" / name
    path.write_text(text, "utf-8", errors="surrogateescape")
    code, _, err = _apiflow("export", str(path), "--to", "arazzo", "-o", str(folder / "x.arazzo.yaml"))
    assert code in (0, 2) and "Traceback" not in err and "internal error" not in err, err
    assert code == 0 or LOCATED.match(err) or err.startswith("error: "), err
    if code == 0:
        _valid(yaml.safe_load((folder / "x.arazzo.yaml").read_text()))


def test_an_output_that_cannot_be_written_is_a_usage_error(cli, tmp_path):
    for command in (["import", DATA / "share" / "postman-things.json"], ["export", FLOW, "--to", "arazzo"]):
        result = cli(*command, "-o", tmp_path / "no-such-folder" / "out.yaml")
        assert result.code == 2 and "cannot write" in result.err and "internal error" not in result.err, result.err


def test_a_used_flow_becomes_a_workflow_and_comes_back_inlined(cli, tmp_path, live_server):
    flow = DATA / "share" / "with-use.yaml"
    out = tmp_path / "with-use.arazzo.yaml"
    result = cli("export", flow, "--to", "arazzo", "-o", out)
    assert result.code == 0 and "not exported" not in result.err, result.err
    document = yaml.safe_load(out.read_text())
    _valid(document)
    main, login = document["workflows"]
    assert main["steps"][0]["workflowId"] == login["workflowId"] == "Log_in"
    assert main["steps"][0]["parameters"] == [{"name": "user", "value": "$inputs.who"}]
    assert login["outputs"] == {"token": "$steps.Log_in.outputs.token"}
    assert login["inputs"]["required"] == ["user"] and login["inputs"]["properties"]["password"]["format"] == "password"
    back = tmp_path / "back.yaml"
    assert cli("import", out, "-o", back).code == 0
    env = {"PASSWORD": USER_PASSWORD, "THINGS_URL": live_server}  # the used flow reads its server from it
    first = cli("run", flow, "--var", f"base={live_server}", "--record", tmp_path / "a.json", env=env)
    second = cli("run", back, "--var", f"base={live_server}", "--record", tmp_path / "b.json", env=env)
    assert first.code == 0 and second.code == 0, second.output
    assert _requests(tmp_path / "a.json") == _requests(tmp_path / "b.json") and len(_requests(tmp_path / "b.json")) == 2
