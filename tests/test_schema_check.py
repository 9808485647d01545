"""The flow schema is one description of the language: our checker and a full JSON Schema
validator must agree on it, and the checker may only rely on keywords it implements."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from runner.flowfile.schema_check import SUPPORTED_KEYWORDS, check_flow_document, flow_schema
from runner.flowfile.source import SourceFile
from runner.flowfile.yaml_source import parse_yaml


def keywords(node, inside_properties=False):
    if isinstance(node, dict):
        for key, value in node.items():
            if not inside_properties:
                yield key
            yield from keywords(
                value, inside_properties=key in ("properties", "$defs", "patternProperties") and not inside_properties
            )
    elif isinstance(node, list):
        for item in node:
            yield from keywords(item)


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(flow_schema())


def test_the_checker_implements_every_keyword_the_schema_uses():
    assert set(keywords(flow_schema())) <= SUPPORTED_KEYWORDS


FLOWS = {
    "minimal": "steps:\n  - request: {url: 'http://x/'}\n",
    "full": Path(__file__).parent.joinpath("golden/failed_assertions/flow.yaml").read_text(),
    "every-key": """
name: n
description: d
tags: [a]
vars: {a: 1, b: "{{ a }}"}
http: {headers: {A: b}, params: {p: [1, 2]}, timeout: 3, verify: false, follow_redirects: true}
steps:
  - id: s
    name: s
    request: {method: PUT, url: u, params: {a: 1}, headers: {H: v}, form: {a: b}, timeout: 1.5}
    expect:
      status: [200, 201]
      headers: {X: {exists: true}}
      json: {$.a: {len: {gt: 1}}, $.b: [1, 2], $.c: null}
      schema: {type: object}
      time_ms: {lt: 100}
      that: x
    capture: {a: $.a, b: {jsonpath: $.b, all: true}, c: {header: X}, d: {value: 1}}
""",
    "unknown-key": "steps:\n  - request: {url: x}\n    nope: 1\n",
    "wrong-type": "steps:\n  - request: {url: 1}\n",
    "bad-status": "steps:\n  - request: {url: x}\n    expect: {status: 99}\n",
    "status-class": "steps:\n  - request: {url: x}\n    expect: {status: 2xx}\n",
    "bad-class": "steps:\n  - request: {url: x}\n    expect: {status: 6xx}\n",
    "bad-operator": "steps:\n  - request: {url: x}\n    expect: {json: {$.a: {nope: 1}}}\n",
    "empty-operators": "steps:\n  - request: {url: x}\n    expect: {time_ms: {}}\n",
    "bad-capture": "steps:\n  - request: {url: x}\n    capture: {a: 1}\n",
    "bad-capture-name": "steps:\n  - request: {url: x}\n    capture: {1a: $.a}\n",
    "bad-var-name": "vars: {a-b: 1}\nsteps:\n  - request: {url: x}\n",
    "empty-steps": "steps: []\n",
    "no-steps": "name: x\n",
    "bool-timeout": "http: {timeout: true}\nsteps:\n  - request: {url: x}\n",
    "x-keys": "x-anchors: {a: &a 1}\nsteps:\n  - request: {url: x}\n    x-note: {b: *a}\n",
    "bad-type-name": "steps:\n  - request: {url: x}\n    expect: {json: {$.a: {type: str}}}\n",
}


@pytest.mark.parametrize("text", FLOWS.values(), ids=FLOWS.keys())
def test_the_checker_agrees_with_jsonschema(text):
    doc, problems = parse_yaml(SourceFile("f.yaml", text))
    assert not problems
    ours = check_flow_document(doc)
    theirs = list(jsonschema.Draft202012Validator(flow_schema()).iter_errors(doc.data))
    assert bool(ours) == bool(theirs), (ours, [e.message for e in theirs])


def test_a_value_that_fits_one_place_is_still_checked_in_another():
    """Fitting values are remembered per part of the schema: `POST` is a method, not a timeout,
    however often it was a method before."""

    def problems_of(text: str) -> list[str]:
        doc, found = parse_yaml(SourceFile("f.yaml", text))
        assert found == []
        return [p.message for p in check_flow_document(doc)]

    fits = "steps:\n  - request: {method: POST, url: 'http://x/', timeout: 5}\n"
    assert problems_of(fits) == problems_of(fits) == []
    wrong = problems_of("steps:\n  - request: {method: POST, url: 'http://x/', timeout: POST}\n")
    assert len(wrong) == 1 and "`timeout`" in wrong[0]
    assert problems_of("steps:\n  - request: {method: 5, url: 'http://x/', timeout: 5}\n") != []
