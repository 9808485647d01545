"""Checks one response against the operation it belongs to: documented status, declared content
type, required headers, and the body against its schema (openapi-schema-validator: OpenAPI 3.0's
`nullable`, `readOnly` and draft-4 rules, or 3.1's JSON Schema 2020-12).

Each mismatch is one `Mismatch` (the rule broken and a message that names the operation, the
status and, for the body, the JSON path inside it); the engine turns them into failed checks.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from runner.contracts.description import Description, Operation
from runner.engine.redact import MASK
from runner.limits import MAX_CONTRACT_ERRORS


@dataclass(frozen=True, slots=True)
class Mismatch:
    rule: str  # "status", "content type", "header", "schema"
    expected: Any  # what the description asks for, shortly: the documented statuses, a type...
    actual: Any  # what came: the status, the content type, the value at the body's path
    message: str


def check(operation: Operation, status: int, headers: list[tuple[str, str]], body: bytes, data: Any,
          is_json: bool) -> tuple[list[Mismatch], str]:  # fmt: skip
    """What the response breaks ([] when it conforms), and a note (a `+json` type read as JSON)."""
    name = f"{operation.name} → {status}"
    responses = operation.responses()
    key = next(
        (k for k in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default") if k in responses), None
    )
    if key is None:
        documented = ", ".join(str(k) for k in responses) or "none"
        message = f"{operation.name}: status {status} is not documented (documented: {documented})"
        return [Mismatch("status", f"one of {documented}", status, message)], ""
    description = operation.description
    response = description.resolve(responses[key])
    response = response if isinstance(response, dict) else {}
    found: list[Mismatch] = []
    note = ""
    lowered = {k.lower(): v for k, v in headers}
    for header, raw in (response.get("headers") or {}).items():
        spec = description.resolve(raw)
        if isinstance(spec, dict) and spec.get("required") is True and header.lower() not in lowered:
            found.append(Mismatch("header", header, "(missing)", f"{name}: the required header {header} is missing"))
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    if not content or not body:
        return found, note
    actual = lowered.get("content-type", "").partition(";")[0].strip().lower()
    media = _declared(actual, content)
    if media is None and actual.endswith("+json") and _declared("application/json", content) is not None:
        media = _declared("application/json", content)
        note = f"{actual} was checked as application/json, the type {operation.name} declares"
    if media is None:
        declared = ", ".join(content)
        message = f"{name}: content type {actual or '(none)'} is not declared ({declared})"
        found.append(Mismatch("content type", declared, actual or "(none)", message))
        return found, note
    schema = description.resolve(content[media]).get("schema") if isinstance(content[media], dict) else None
    if schema is None or not ("json" in media or media == "*/*"):
        return found, note
    if not is_json:
        found.append(Mismatch("schema", media, "not JSON", f"{name}: the body is not JSON, and {media} has a schema"))
        return found, note
    validator = _validator(description, _schema_uri(operation, key, media))
    # A value a recording hid (`[REDACTED]`, replayed from a cassette) cannot be judged against its schema.
    errors = [e for e in validator.iter_errors(data) if e.instance != MASK]
    errors.sort(key=lambda e: list(map(str, e.absolute_path)))
    for error in errors[:MAX_CONTRACT_ERRORS]:
        rule = f"{error.validator}: {_short(error.validator_value)}"
        message = f"{name}: {error.json_path}: {error.message} (schema rule `{error.validator}`)"
        found.append(Mismatch("schema", rule, _short(error.instance), message))
    if len(errors) > MAX_CONTRACT_ERRORS:
        more = len(errors) - MAX_CONTRACT_ERRORS
        found.append(Mismatch("schema", "", "", f"{name}: and {more} more schema errors, {len(errors)} in all"))
    return found, note


def _short(value: Any) -> Any:
    """A value as a message shows it: scalars as they are, structures cut to 80 characters."""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return value


def _declared(actual: str, content: dict[str, Any]) -> str | None:
    """The declared media type `actual` falls under: exact, `type/*`, or `*/*`."""
    lowered = {k.lower(): k for k in content}
    for candidate in (actual, actual.partition("/")[0] + "/*", "*/*"):
        if candidate in lowered:
            return lowered[candidate]
    return None


def _schema_uri(operation: Operation, key: str, media: str) -> str:
    """Where the response schema stands (`file-uri#/json/pointer`), following a `$ref` to a
    response object so that the schema's own `$ref`s resolve from where they are written."""
    description = operation.description
    raw = operation.responses()[key]
    if isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
        target, _, pointer = raw["$ref"].partition("#")
        uri = urllib.parse.urljoin(description.uri, target) if target else description.uri
    else:
        uri = description.uri
        pointer = "/" + "/".join(_escape(p) for p in ("paths", operation.template, operation.method.lower()))
        pointer += f"/responses/{_escape(key)}"
    return f"{uri}#{pointer}/content/{_escape(media)}/schema"


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _validator(description: Description, where: str) -> Any:
    """One validator per response schema, kept on the description: built once per run."""
    validator = description.validators.get(where)
    if validator is None:
        if description.registry is None:
            spec = DRAFT202012 if description.version == "3.1" else DRAFT4
            documents = description.documents.items()
            description.registry = Registry().with_resources(
                (uri, Resource.from_contents(data, default_specification=spec)) for uri, data in documents
            )
        kind = OAS31Validator if description.version == "3.1" else OAS30ReadValidator  # readOnly comes back
        validator = description.validators[where] = kind({"$ref": where}, registry=description.registry)
    return validator
