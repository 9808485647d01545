"""Checks a parsed flow against the flow language's JSON Schema, with messages for people.

The schema (`flow.schema.json`) is the single description of the language: editors read it, and
this module enforces it. It interprets only the keywords that schema uses (a test pins that), so
that loading a flow needs no full JSON Schema engine at start-up, and so that each problem can
say, in the user's words, which key is wrong, what was expected, and what was probably meant.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path as FilePath
from typing import Any

from runner.flowfile.source import Problem, did_you_mean
from runner.flowfile.yaml_source import Document, Path

Schema = dict[str, Any]

SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties",
        "additionalProperties", "required", "items", "enum", "anyOf", "if", "then", "minimum",
        "maximum", "exclusiveMinimum", "pattern", "minItems", "minProperties", "propertyNames", "patternProperties",
    }
)  # fmt: skip

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


@cache
def flow_schema() -> Schema:
    """The flow language's JSON Schema, as shipped in the package."""
    # Read beside this module, as the package installs it: importlib.resources would cost every
    # start of apiflow ~12 ms (its readers import zipfile and more) for the same bytes.
    text = FilePath(__file__).with_name("flow.schema.json").read_text("utf-8")
    schema: Schema = json.loads(text)
    return schema


def type_name(value: Any) -> str:
    """The JSON name of a Python value's type, as a user reads it in YAML."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    names: dict[type, str] = {str: "string", list: "array", dict: "mapping"}
    return names.get(type(value), type(value).__name__)


def is_type(value: Any, name: str) -> bool:
    """Whether `value` is of the JSON Schema type `name` (booleans are not numbers)."""
    if isinstance(value, bool) and name in ("number", "integer"):
        return False
    return isinstance(value, _JSON_TYPES[name]) or (
        name == "integer" and isinstance(value, float) and value.is_integer()
    )


def _label(path: Path) -> str:
    """How a person would name the place at `path`: `expect`, step 2, the flow."""
    if not path:
        return "the flow"
    last = path[-1]
    if isinstance(last, int):
        return f"step {last + 1}" if path[:-1] == ("steps",) else f"item {last + 1} of {_label(path[:-1])}"
    return f"`{last}`"


_SCALARS = frozenset({str, int, float, bool, type(None)})
_SHORT = 200  # longer texts are rarely met twice
_MAX_FITS = 50_000  # bounded: a file of a million distinct values does not grow it for ever
_FITS: set[tuple[int, type, Any]] = set()  # (id of a part of the shipped schema, type, value)


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.root = flow_schema()
        self.problems: list[Problem] = []

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            schema = self.root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
        return schema

    def fail(self, path: Path, message: str, hint: str = "", *, at_key: bool = False) -> None:
        span = self.doc.key_span(path) if at_key else self.doc.span(path)
        self.problems.append(Problem(span, message, hint))

    def errors_of(self, value: Any, schema: Schema, path: Path) -> list[Problem]:
        """Check without recording: for anyOf branches."""
        saved, self.problems = self.problems, []
        self.check(value, schema, path)
        found, self.problems = self.problems, saved
        return found

    def check(self, value: Any, schema: Schema, path: Path) -> None:
        if type(value) in _SCALARS and (type(value) is not str or len(value) <= _SHORT):
            # Whether a scalar fits a part of the schema depends on nothing else: a value seen
            # to fit once (`POST`, `201`, `integer`, `Accept`) is not checked again.
            key = (id(schema), type(value), value)
            if key in _FITS:
                return
            before = len(self.problems)
            self._check(value, schema, path)
            if len(self.problems) == before and len(_FITS) < _MAX_FITS:
                _FITS.add(key)
            return
        self._check(value, schema, path)

    def _check(self, value: Any, schema: Schema, path: Path) -> None:
        schema = self.resolve(schema)
        if "anyOf" in schema:
            self.check_any_of(value, schema, path)
            return
        if "if" in schema and not self.errors_of(value, schema["if"], path):
            self.check(value, schema["then"], path)
        if "type" in schema and not self.check_type(value, schema, path):
            return
        self.check_value(value, schema, path)
        if isinstance(value, dict):
            self.check_mapping(value, schema, path)
        elif isinstance(value, list):
            self.check_list(value, schema, path)

    def check_any_of(self, value: Any, schema: Schema, path: Path) -> None:
        branch_errors: list[list[Problem]] = []
        for branch in schema["anyOf"]:
            errors = self.errors_of(value, branch, path)
            if not errors:
                return  # one branch holds: the others need not be checked
            branch_errors.append(errors)
        if branch_errors:
            # A value of the right shape but a wrong detail reports that detail.
            typed = [
                e for b, e in zip(schema["anyOf"], branch_errors, strict=True)
                if self.type_matches(value, self.resolve(b))
            ]  # fmt: skip
            if len(typed) == 1:
                hint = f"expected {schema['description']}"
                self.problems.extend(p if p.hint else Problem(p.span, p.message, hint) for p in typed[0])
            else:
                self.fail(
                    path,
                    f"{_label(path)}: expected {schema['description']}, got {type_name(value)} {_short(value)}",
                )

    def type_matches(self, value: Any, schema: Schema) -> bool:
        names = schema.get("type")
        if names is None:
            return False
        names = [names] if isinstance(names, str) else names
        return any(is_type(value, n) for n in names)

    def check_type(self, value: Any, schema: Schema, path: Path) -> bool:
        if self.type_matches(value, schema):
            return True
        expected = schema.get("description") or " or ".join(
            [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        )
        self.fail(path, f"{_label(path)}: expected {expected}, got {type_name(value)} {_short(value)}")
        return False

    def check_value(self, value: Any, schema: Schema, path: Path) -> None:
        if "enum" in schema and value not in schema["enum"]:
            choices = ", ".join(str(c) for c in schema["enum"])
            hint = did_you_mean(str(value), [str(c) for c in schema["enum"]]) or f"one of: {choices}"
            if isinstance(value, str) and value.upper() in schema["enum"]:
                hint = f"write it in capitals: `{value.upper()}`"
            self.fail(path, f"{_label(path)}: `{value}` is not one of {choices}", hint)
        if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
            self.fail(
                path,
                f"{_label(path)}: `{value}` is not {schema.get('description', schema['pattern'])}",
            )
        if is_type(value, "number"):
            self.check_bounds(value, schema, path)

    def check_bounds(self, value: float, schema: Schema, path: Path) -> None:
        if not math.isfinite(value):  # YAML's .nan and .inf: no bound can hold them
            self.fail(path, f"{_label(path)}: expected a finite number, got {value}", "write a number such as 10")
            return
        if "minimum" in schema and value < schema["minimum"]:
            self.fail(path, f"{_label(path)}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            self.fail(path, f"{_label(path)}: {value} is above the maximum {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            self.fail(
                path,
                f"{_label(path)}: expected {schema.get('description', 'a larger number')}, got {value}",
            )

    def check_mapping(self, value: dict[str, Any], schema: Schema, path: Path) -> None:
        properties: dict[str, Schema] = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                self.fail(path, f"{_label(path)} is missing the required key `{key}`", f"add `{key}:`")
        if schema.get("minProperties", 0) > len(value):
            self.fail(
                path,
                f"{_label(path)}: expected {schema.get('description', 'at least one key')}, got an empty mapping",
            )
        names = schema.get("propertyNames")
        for key, item in value.items():
            child = (*path, key)
            if names is not None:
                for problem in self.errors_of(key, names, child):
                    self.problems.append(Problem(self.doc.key_span(child), problem.message))
            if key in properties:
                self.check(item, properties[key], child)
                continue
            patterns = [p for p in schema.get("patternProperties", {}) if re.search(p, key)]
            if patterns:  # `x-` keys: accepted and ignored
                for pattern in patterns:
                    self.check(item, schema["patternProperties"][pattern], child)
                continue
            extra = schema.get("additionalProperties", True)
            if extra is False:
                self.fail(
                    child,
                    f"unknown key `{key}` in {_label(path)}",
                    did_you_mean(key, properties) or f"expected one of: {', '.join(properties)}",
                    at_key=True,
                )
            elif isinstance(extra, dict):
                self.check(item, extra, child)

    def check_list(self, value: list[Any], schema: Schema, path: Path) -> None:
        if len(value) < schema.get("minItems", 0):
            self.fail(
                path,
                f"{_label(path)}: expected {schema.get('description', 'a non-empty list')}, got an empty list",
            )
        if "items" in schema:
            for i, item in enumerate(value):
                self.check(item, schema["items"], (*path, i))


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return f"({text})" if len(text) <= 40 else f"({text[:37]}...)"


def check_flow_document(doc: Document) -> list[Problem]:
    """Every problem with the shape of `doc.data` as a flow, in file order."""
    if not isinstance(doc.data, dict):
        got = "an empty file" if doc.data is None else f"a {type_name(doc.data)}"
        return [
            Problem(
                doc.span(()),
                f"a flow file must be a mapping with `steps:`, got {got}",
                "start from `name: ...` and `steps: [...]`; see `apiflow schema`",
            )
        ]
    checker = _Checker(doc)
    checker.check(doc.data, checker.root, ())
    return sorted(checker.problems, key=lambda p: (p.span.line, p.span.column) if p.span else (0, 0))
