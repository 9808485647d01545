"""Regenerates the trimmed OpenAPI descriptions in this folder from BigCommerce's full files.

    python flows/bigcommerce/openapi/regenerate.py PATH/TO/bigcommerce-docs/reference

For each file it keeps what a machine needs to check the operations the headless checkout flows
use: `openapi`, `servers`, those paths with only those methods (parameters, request bodies,
responses) and every component they reach through `$ref`. Prose (`description`, `summary`),
examples and `x-` extensions are dropped; a property *named* `description` or `example` is kept.
The output is deterministic, so a diff after regenerating shows only what BigCommerce changed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
# file -> {path template: methods}; the operations flows/bigcommerce and the sandbox use.
OPERATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "carts.v3.yml": {
        "/carts": ("post",),
        "/carts/{cartId}": ("get", "delete"),
        "/carts/{cartId}/redirect_urls": ("post",),
    },
    "checkouts.v3.yml": {
        "/checkouts/{checkoutId}": ("get",),
        "/checkouts/{checkoutId}/billing-address": ("post",),
        "/checkouts/{checkoutId}/consignments": ("post",),
        "/checkouts/{checkoutId}/consignments/{consignmentId}": ("put",),
        "/checkouts/{checkoutId}/orders": ("post",),
    },
    "orders.v2.oas2.yml": {"/orders/{order_id}": ("get",)},
    "accepted-methods_payments.v3.yml": {"/payments/methods": ("get",)},
    "access-tokens_payments.v3.yml": {"/payments/access_tokens": ("post",)},
    "process_payments.yml": {"/payments": ("post",)},
    "products_catalog.v3.yml": {"/catalog/products": ("get",)},
}
# Components kept although no kept operation names them: the v3 error envelope (reference §2.3).
ALSO_KEEP = {"carts.v3.yml": ["#/components/schemas/ErrorResponse"]}
PROSE = frozenset({"description", "summary", "example", "examples", "externalDocs", "tags", "x-internal"})
# Mappings whose keys are names chosen by the API (properties, status codes, media types), not
# OpenAPI keywords: a key `description` there is a field of BigCommerce's data and stays.
NAMED = frozenset({"properties", "patternProperties", "paths", "responses", "content", "headers", "variables"})
METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def strip(value: Any, named: bool = False) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not named and (key in PROSE or str(key).startswith("x-")):
                continue
            out[key] = strip(item, key in NAMED and not named)
        return out
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [r for v in value.values() for r in refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    return []


def pointer_parts(ref: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in ref.removeprefix("#/").split("/")]


def trim(full: dict[str, Any], operations: dict[str, tuple[str, ...]], extra: list[str]) -> dict[str, Any]:
    paths = {}
    for template, methods in operations.items():
        item = full["paths"][template]
        paths[template] = {k: v for k, v in item.items() if k not in METHODS or k in methods}
    out: dict[str, Any] = {"openapi": full["openapi"], "info": {"title": full["info"]["title"], "version": "trimmed"}}
    out["servers"] = full["servers"]
    out["paths"] = paths
    components: dict[str, Any] = {}
    pending = refs(paths) + list(extra)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen or not ref.startswith("#/components/"):
            continue
        seen.add(ref)
        parts = pointer_parts(ref)
        node: Any = full
        for part in parts:
            node = node[part]
        target = components.setdefault(parts[1], {})
        target[parts[2]] = full["components"][parts[1]][parts[2]]
        pending += refs(full["components"][parts[1]][parts[2]])
    if components:
        out["components"] = {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())}
    return with_response_descriptions(strip(out, named=False))


def with_response_descriptions(doc: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI requires a `description` on every response object: keep the key, empty."""
    operations = [op for item in doc["paths"].values() for k, op in item.items() if k in METHODS]
    responses = [r for op in operations for r in op.get("responses", {}).values()]
    responses += list(doc.get("components", {}).get("responses", {}).values())
    for response in responses:
        if "$ref" not in response:
            response["description"] = ""
    return doc


def main(source: str) -> None:
    for name, operations in OPERATIONS.items():
        full = yaml.load((Path(source) / name).read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        trimmed = trim(full, operations, ALSO_KEEP.get(name, []))
        header = f"# Trimmed from BigCommerce's {name} by regenerate.py; see README.md. Do not edit by hand.\n"
        text = yaml.safe_dump(trimmed, sort_keys=False, width=120, allow_unicode=True)
        (HERE / name).write_text(header + text, "utf-8")
        print(f"{name}: {len(text):,} characters")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
