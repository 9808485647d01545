"""The trimmed OpenAPI copies in flows/bigcommerce/openapi: complete for the flows, free of prose."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parents[1] / "flows" / "bigcommerce" / "openapi"
_spec = importlib.util.spec_from_file_location("regenerate", FOLDER / "regenerate.py")
assert _spec and _spec.loader
regenerate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regenerate)


def test_every_operation_the_flows_use_is_in_the_copies():
    for name, operations in regenerate.OPERATIONS.items():
        doc = yaml.safe_load((FOLDER / name).read_text("utf-8"))
        for template, methods in operations.items():
            assert set(methods) <= set(doc["paths"][template]), (name, template)


def test_every_ref_in_the_copies_resolves():
    for name in regenerate.OPERATIONS:
        doc = yaml.safe_load((FOLDER / name).read_text("utf-8"))
        for ref in regenerate.refs(doc):
            node = doc
            for part in regenerate.pointer_parts(ref):
                node = node[part]  # a KeyError names the dangling reference


def test_prose_goes_but_a_property_named_description_stays():
    schema = {
        "description": "prose",
        "example": {"a": 1},
        "x-internal": True,
        "type": "object",
        "properties": {"description": {"type": "string", "description": "prose"}, "example": {"type": "integer"}},
    }
    assert regenerate.strip(schema) == {
        "type": "object",
        "properties": {"description": {"type": "string"}, "example": {"type": "integer"}},
    }


def test_unused_operations_are_dropped():
    carts = yaml.safe_load((FOLDER / "carts.v3.yml").read_text("utf-8"))
    assert set(carts["paths"]) == set(regenerate.OPERATIONS["carts.v3.yml"])
    assert set(carts["paths"]["/carts"]) - {"parameters"} == {"post"}
