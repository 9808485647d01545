"""Checks an HTTP response against BigCommerce's OpenAPI files, trimmed, in flows/bigcommerce/openapi.

`conformance_errors(method, path, status, body)` finds the operation whose server URL and path
template match, takes the documented response for the status (or its class, or `default`), and
validates the body with an OpenAPI 3.0 schema validator (readOnly fields allowed, as in a
response). Where a file documents no body for an error, the reference's verdict applies
(bigcommerce-headless-checkout.md §2.3, §2.4): the family's generic error schema is used.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

# Carried in the repository (see its README.md), so a clone alone passes its tests.
REFERENCE = Path(__file__).resolve().parents[1] / "flows" / "bigcommerce" / "openapi"
SPEC_FILES = (
    "carts.v3.yml",
    "checkouts.v3.yml",
    "orders.v2.oas2.yml",
    "accepted-methods_payments.v3.yml",
    "access-tokens_payments.v3.yml",
    "process_payments.yml",
    "products_catalog.v3.yml",
)
# Generic error shapes per the reference, for errors a file lists without a body.
V3_ERROR = ("carts.v3.yml", "#/components/schemas/ErrorResponse")
V2_ERROR = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class Operation:
    file: str
    template: str
    method: str


@cache
def spec(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(REFERENCE / name, encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)


@cache
def registry() -> Registry:
    resources = [(name, Resource.from_contents(spec(name), default_specification=DRAFT4)) for name in SPEC_FILES]
    return Registry().with_resources(resources)


def _prefix(name: str) -> str:
    url = spec(name)["servers"][0]["url"]
    return urllib.parse.urlparse(url.replace("{store_hash}", "STORE")).path.replace("STORE", "[^/]+")


def find_operation(method: str, path: str) -> Operation:
    matches = []
    for name in SPEC_FILES:
        prefix = re.match(_prefix(name), path)
        if not prefix:
            continue
        rest = path[prefix.end() :]
        for template, item in spec(name)["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, rest) and method.lower() in item:
                matches.append((template.count("{"), Operation(name, template, method.lower())))
    if not matches:
        raise LookupError(f"no operation in the OpenAPI files matches {method} {path}")
    return min(matches, key=lambda m: m[0])[1]


def _pointer(*parts: str) -> str:
    escaped = "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)
    return "#/" + urllib.parse.quote(escaped, safe="/~")


def response_schema(op: Operation, status: int) -> tuple[str, dict[str, Any]] | None:
    """Where the documented schema of this response is: (file, pointer) or an inline schema."""
    responses = spec(op.file)["paths"][op.template][op.method]["responses"]
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            response = responses[key]
            if "$ref" in response:
                name = response["$ref"].rsplit("/", 1)[1]
                response = spec(op.file)["components"]["responses"][name]
                base = ("components", "responses", name)
            else:
                base = ("paths", op.template, op.method, "responses", key)
            content = response.get("content", {})
            media = next((m for m in content if "json" in m), None)
            if media and content[media].get("schema"):
                return op.file, {"$ref": f"{op.file}{_pointer(*base, 'content', media, 'schema')}"}
            break
    if status < 400:
        return None
    if "v2" in op.file:
        return op.file, V2_ERROR
    return V3_ERROR[0], {"$ref": f"{V3_ERROR[0]}{V3_ERROR[1]}"}


def conformance_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Every way `body` breaks the documented schema of this response ([] when it conforms)."""
    op = find_operation(method, path)
    found = response_schema(op, status)
    if found is None:
        return [f"{op.file} documents no {status} response for {method} {op.template}"]
    _, schema = found
    validator = OAS30ReadValidator(schema, registry=registry())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(body)]
