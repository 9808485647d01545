"""`apiflow import` of an Arazzo 1.0 document (issue 15): operations found by operationId in the
OpenAPI source description or by operationPath, runtime expressions as templates and captures,
criteria as expect, a called workflow inlined; what is not converted is listed; it runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.importing import imports_a_flow_that_loads_or_refuses
from tests.server import USER_PASSWORD

DATA = Path(__file__).parent / "data" / "share"


def test_an_arazzo_document_becomes_a_flow_that_runs(cli, tmp_path, live_server):
    out = tmp_path / "things.yaml"
    assert cli("import", DATA / "things.arazzo.yaml", "-o", out).code == 0
    text = out.read_text()
    assert "# Not converted (3):" in text and "#   step echo: runtime expression $url" in text
    assert "#   step echo: onSuccess" in text and "$response.body.length > 0" in text
    assert 'Authorization: "Bearer {{ token }}"' in text  # $steps.login.outputs.token, inside text
    assert 'url: "{{ base }}/things/{{ thing_id }}"' in text  # a path parameter from an output
    assert 'name: "{{ thing_name }}"' in text and 'price: "{{ price }}"' in text  # replacements
    assert "- name: The private page" in text  # the called workflow, inlined
    assert '- name: An inline operation\n  request:\n    url: "{{ base }}/text"' in text  # x-operation
    assert "retry:\n    attempts: 3" in text and "gt: 2" in text and "status: 2xx" in text
    assert cli("validate", out).code == 0
    result = cli("run", out, "-v", "--var", f"base={live_server}", env={"PASSWORD": USER_PASSWORD})
    assert result.code == 0, result.output
    assert USER_PASSWORD not in result.output


def test_operation_ids_need_the_description_and_say_so(cli, tmp_path):
    document = yaml.safe_load((DATA / "things.arazzo.yaml").read_text())
    document["sourceDescriptions"][0]["url"] = "https://example.test/things.yaml"  # never fetched
    source = tmp_path / "remote.arazzo.yaml"
    source.write_text(yaml.safe_dump(document))
    result = cli("import", source)
    assert result.code == 0
    assert "is remote and not fetched" in result.out and "operationId logIn is in no source description" in result.out
    assert 'url: "{{ base }}/things"' in result.out  # the operationPath needs no file


def test_a_broken_source_description_is_a_located_error(cli, tmp_path):
    shutil.copy(DATA / "things.arazzo.yaml", tmp_path)
    (tmp_path / "things.openapi.yaml").write_text("openapi: 3.1.0\npaths: {/a: {get: {$ref: '#/nowhere'}}}\n")
    result = cli("import", tmp_path / "things.arazzo.yaml")
    assert result.code == 2 and "things.openapi.yaml:2" in result.err, result.err


ARAZZO_KEYS = ["workflows", "workflowId", "steps", "stepId", "operationId", "operationPath", "parameters", "name",
               "in", "value", "requestBody", "payload", "replacements", "target", "successCriteria", "condition",
               "context", "type", "outputs", "onFailure", "retryAfter", "retryLimit", "inputs", "properties",
               "default", "sourceDescriptions", "url", "components", "reference"]  # fmt: skip
ARAZZO_TEXT = ["$inputs.a", "$steps.s.outputs.t", "$response.body#/a/0", "$response.header.X", "$statusCode == 200",
               "{$inputs.a}", "#/paths/~1a~1{id}/get", "path", "query", "header", "cookie", "retry", "jsonpath",
               "regex", "$.a[?(", "/a", "{{ x }}", "{%", "{", "}", "#/paths/~1{{x}}~1{id}/get", "s", "a", "logIn", "things.openapi.yaml"]  # fmt: skip


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(ARAZZO_TEXT) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(ARAZZO_KEYS), inner, max_size=5),
    max_leaves=20,
)
_STEPS = st.lists(st.dictionaries(st.sampled_from(ARAZZO_KEYS), _VALUES, max_size=6), max_size=4)


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.fixed_dictionaries(
            {"workflowId": st.sampled_from(["w", "x", "s"]), "steps": _STEPS},
            optional={"inputs": _VALUES, "outputs": _VALUES, "failureActions": _VALUES},
        ),
        min_size=1,
        max_size=3,
    )
    | _VALUES
)
def test_any_document_is_a_flow_that_loads_or_an_error_without_a_traceback(tmp_path, workflows):
    shutil.copy(DATA / "things.openapi.yaml", tmp_path)
    document = {"arazzo": "1.0.0", "sourceDescriptions": [{"name": "t", "url": "things.openapi.yaml"}],
                "workflows": workflows if isinstance(workflows, list) else [workflows]}  # fmt: skip
    source = tmp_path / "a.arazzo.json"
    source.write_text(json.dumps(document))
    imports_a_flow_that_loads_or_refuses(source)


def test_workflows_that_multiply_when_inlined_are_refused(cli, tmp_path):
    # w0 calls w1 ten times, w1 calls w2 ten times... 10^6 steps, 7 deep, if nothing stopped it.
    workflows = [{"workflowId": f"w{i}", "steps": [{"stepId": f"s{j}", "workflowId": f"w{i + 1}"} for j in range(10)]}
                 for i in range(6)] + [{"workflowId": "w6", "steps": [{"stepId": "x", "operationId": "echo"}]}]  # fmt: skip
    shutil.copy(DATA / "things.openapi.yaml", tmp_path)
    source = tmp_path / "bomb.arazzo.json"
    source.write_text(json.dumps({"arazzo": "1.0.0", "sourceDescriptions": [{"name": "t", "url": "things.openapi.yaml"}],
                                  "workflows": workflows}))  # fmt: skip
    result = cli("import", source)
    assert result.code == 2 and "more than 10,000 steps" in result.err, result.err


@pytest.mark.parametrize(
    "step",
    [
        {"stepId": "a", "operationPath": "#/paths/~1a/trace"},
        {"stepId": "b", "operationPath": "#/paths/~1{{x}}~1{id}/get"},
        {"stepId": "c", "operationPath": "#/paths/~1a b{%/get", "parameters": [{"name": "id", "in": "path", "value": 1}]},
        {"stepId": "d", "operationId": "logIn", "requestBody": {"payload": "{{ not a template }}"}},
        {"stepId": "e", "operationId": "logIn", "successCriteria": [{"condition": "$response.body#/{{x} == '{%'"}]},
    ],
)  # fmt: skip
def test_odd_steps_are_a_flow_that_loads_or_an_error(tmp_path, step):
    shutil.copy(DATA / "things.openapi.yaml", tmp_path)
    source = tmp_path / "odd.arazzo.json"
    source.write_text(json.dumps({"arazzo": "1.0.0", "sourceDescriptions": [{"name": "t", "url": "things.openapi.yaml"}],
                                  "workflows": [{"workflowId": "w", "steps": [step]}]}))  # fmt: skip
    imports_a_flow_that_loads_or_refuses(source)


def test_one_workflow_of_several_can_be_imported(cli, tmp_path):
    document = yaml.safe_load((DATA / "things.arazzo.yaml").read_text())
    document["workflows"].append({"workflowId": "echoOnly", "steps": [{"stepId": "e", "operationId": "echo"}]})
    shutil.copy(DATA / "things.openapi.yaml", tmp_path)
    source = tmp_path / "two.arazzo.yaml"
    source.write_text(yaml.safe_dump(document))
    both = cli("import", source)
    assert both.code == 0 and "2 workflows (makeThing, echoOnly) run one after another" in both.out
    one = cli("import", source, "--workflow", "echoOnly")
    assert one.code == 0 and one.out.count("- name:") == 1 and "run one after another" not in one.out
    unknown = cli("import", source, "--workflow", "nope")
    assert (
        unknown.code == 2 and "no workflow `nope` (the document has: echoOnly, makeThing, readPrivate)" in unknown.err
    )
    postman = cli("import", DATA / "postman-things.json", "--workflow", "x")
    assert postman.code == 2 and "only an Arazzo document has workflows" in postman.err
