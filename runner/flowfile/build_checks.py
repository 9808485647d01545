"""Builds a step's `expect` and `capture` from their YAML: checks, operators, schemas, captures."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any
from urllib.parse import unquote

from runner.flowfile import model as m
from runner.flowfile.build_values import ValueBuilder, mapping_of
from runner.flowfile.files import UnreadableFileError, read_data_file
from runner.flowfile.source import Span
from runner.flowfile.templates import Template, is_template
from runner.flowfile.yaml_source import Path
from runner.limits import MAX_YAML_DEPTH, deeper_than


class CheckBuilder(ValueBuilder):
    def expect(self, data: dict[str, Any], path: Path) -> m.Expect:
        return m.Expect(
            status=self.status(data.get("status"), (*path, "status")),
            headers=self.named(data, "headers", path),
            json=self.json_expectations(mapping_of(data.get("json")), (*path, "json")),
            schema=self.schema(data.get("schema"), (*path, "schema")),
            time_ms=self.checks(data["time_ms"], (*path, "time_ms")) if isinstance(data.get("time_ms"), dict) else (),
            that=self.conditions(data.get("that"), (*path, "that")),
            text=self.checks(data["text"], (*path, "text")) if "text" in data else (),
            bytes=self.named(data, "bytes", path),
            cookies=self.named(data, "cookies", path),
            css=self.named(data, "css", path, check=lambda q, where: self.query(q, where, "css")),
            xpath=self.named(data, "xpath", path, check=lambda q, where: self.query(q, where, "xpath")),
            openapi=data.get("openapi") is not False,
        )

    def named(
        self, data: dict[str, Any], key: str, path: Path, check: Callable[[str, Path], None] | None = None
    ) -> tuple[m.NamedChecks, ...]:
        """`key: {name: value or operator map, ...}` as checks per name; `check` vets each name."""
        out = []
        for name, matcher in mapping_of(data.get(key)).items():
            where = (*path, key, name)
            if check is not None:
                check(name, where)
            out.append(m.NamedChecks(name, self.checks(matcher, where), self.doc.key_span(where)))
        return tuple(out)

    def query(self, text: str, path: Path, kind: str) -> None:
        """A CSS selector or XPath that does not compile is a load error, located at its key."""
        from runner.flowfile.queries import QueryError, compiled_query  # lxml: only flows that use it

        try:
            compiled_query(kind, text)
        except QueryError as err:
            self.problem(
                self.doc.key_span(path), f"invalid {kind.upper() if kind == 'css' else 'XPath'} `{text}`: {err}"
            )

    def templated_jsonpath(self, text: str, path: Path) -> Template | None:
        """A JSONPath key holding templates: compiled once rendered, at each response. Its shape
        is checked now, with each template standing for a number and then for a name."""
        from runner.flowfile.jsonpaths import JsonPathSyntaxError, compile_jsonpath

        template = self.template(text, path)
        if not isinstance(template, Template):
            return None
        errors = []
        for stand_in in ("0", "x"):
            try:
                compile_jsonpath(_TEMPLATE_PART.sub(stand_in, text))
                return template
            except JsonPathSyntaxError as err:
                errors.append(str(err))
        self.problem(self.doc.key_span(path), f"invalid JSONPath `{text}` (its templates aside): {errors[0]}")
        return None

    def status(self, value: Any, path: Path) -> m.StatusRule | None:
        span = self.doc.span(path)
        if isinstance(value, str) and is_template(value):
            template = self.template(value, path)
            if isinstance(template, Template):
                return m.StatusRule(frozenset(), frozenset(), value, span, template)
            return None
        if isinstance(value, str) and value.strip().isdigit():
            return None  # `"201"`: the schema check asks for a number
        return m.status_rule(value, span)

    def json_expectations(self, data: dict[str, Any], path: Path) -> tuple[m.JsonExpectation, ...]:
        out = []
        for text, matcher in data.items():
            where = (*path, text)
            if is_template(text):
                template = self.templated_jsonpath(text, where)
                if template is not None:
                    checks = self.checks(matcher, where, many=True)
                    out.append(m.JsonExpectation(None, checks, self.doc.key_span(where), template))
                continue
            compiled = self.jsonpath(text, where, at_key=True)
            if compiled is not None:
                out.append(
                    m.JsonExpectation(compiled, self.checks(matcher, where, many=True), self.doc.key_span(where))
                )
        return tuple(out)

    def checks(self, matcher: Any, path: Path, *, many: bool = False) -> tuple[m.Check, ...]:
        """A plain value means equality; a mapping is an operator map. `count`, `all` and `any`
        apply to a JSONPath's matches (`many`), nowhere else."""
        if not isinstance(matcher, dict):
            return (m.Check("eq", self.value(matcher, path), self.doc.span(path)),)
        out = []
        for op, expected in matcher.items():
            if op not in m.OPERATORS:
                continue  # reported by the schema check
            where = (*path, op)
            if op in m.LIST_OPERATORS and not many:
                hint = "write it directly under a JSONPath: `$.items[*].id: {count: 3}`"
                self.problem(self.doc.key_span(where), f"`{op}` checks the matches of a JSONPath, not one value", hint)
                continue
            nested: tuple[m.Check, ...] = ()
            if (op in ("len", "count") and isinstance(expected, dict)) or op in ("all", "any"):
                nested = self.checks(expected, where)  # an operator map, or a value (`eq`)
            if op == "matches" and isinstance(expected, str) and not is_template(expected):
                self.regex(expected, where)
            out.append(
                m.Check(
                    op,
                    None if nested else self.value(expected, where),
                    self.doc.key_span(where),
                    nested,
                )
            )
        return tuple(out)

    def regex(self, pattern: str, path: Path) -> None:
        try:
            re.compile(pattern)
        except (re.error, OverflowError, RecursionError) as err:
            self.problem(
                self.doc.span(path),
                f"invalid regular expression `{pattern}`: {err}",
                "`matches` takes a Python regular expression; escape special characters with \\",
            )

    def schema(self, value: Any, path: Path) -> m.SchemaExpectation | None:
        span = self.doc.span(path)
        if isinstance(value, dict):
            return self.checked_schema(value, "inline", span)
        if not isinstance(value, str):
            return None
        file = FsPath(self.doc.source.path).parent / value
        try:
            loaded = read_data_file(file)
        except UnreadableFileError as err:
            self.problem(
                span,
                f"cannot read the JSON Schema file `{value}`: {err}",
                f"the path is relative to the flow file: {file}",
            )
            return None
        except ValueError as err:
            self.problem(span, f"the JSON Schema file `{value}` does not parse: {err}")
            return None
        if not isinstance(loaded, dict):
            self.problem(span, f"the JSON Schema file `{value}` does not hold a mapping")
            return None
        return self.checked_schema(loaded, str(file), span)

    def checked_schema(self, schema: dict[str, Any], origin: str, span: Span) -> m.SchemaExpectation | None:
        from jsonschema import SchemaError, validators  # only flows that use `schema` pay for it

        if deeper_than(schema, MAX_YAML_DEPTH):
            self.problem(span, f"the JSON Schema ({origin}) nests deeper than {MAX_YAML_DEPTH} levels")
            return None
        try:
            validators.validator_for(schema).check_schema(schema)
        except SchemaError as err:
            self.problem(span, f"not a valid JSON Schema ({origin}): {err.message}")
            return None
        for ref in unresolved_refs(schema):
            self.problem(
                span,
                f"the JSON Schema ({origin}) has a `$ref` that leads nowhere: {ref}",
                "a $ref points inside the same schema, such as #/$defs/item",
            )
            return None
        return m.SchemaExpectation(schema, origin, span)

    def captures(self, data: dict[str, Any], path: Path) -> tuple[m.Capture, ...]:
        out = []
        for name, spec in data.items():
            where = (*path, name)
            span = self.doc.key_span(where)
            if isinstance(spec, str):
                out.append(m.Capture(name, span, jsonpath=self.jsonpath(spec, where)))
            elif isinstance(spec, dict):
                out.append(self.capture_map(name, spec, where, span))
        return tuple(out)

    def capture_map(self, name: str, spec: dict[str, Any], path: Path, span: Span) -> m.Capture:
        sources = [k for k in CAPTURE_SOURCES if k in spec]
        if len(sources) != 1:
            self.problem(
                span,
                f"capture `{name}` needs exactly one of {', '.join(CAPTURE_SOURCES)}, "
                f"got {', '.join(sources) or 'none'}",
                "for example {jsonpath: $.data.id}, {header: X-Request-Id} or {css: h1}",
            )
        for key, needs in (("all", ("jsonpath", "css", "xpath", "regex")), ("attr", ("css",)), ("group", ("regex",))):
            if key in spec and not any(n in spec for n in needs):
                self.problem(
                    self.doc.key_span((*path, key)),
                    f"`{key}` applies to a {' or '.join(needs)} capture only (capture `{name}`)",
                )
        for kind in ("css", "xpath"):
            if isinstance(spec.get(kind), str):
                self.query(spec[kind], (*path, kind), kind)
        if isinstance(spec.get("regex"), str):
            self.capture_regex(spec["regex"], spec.get("group"), (*path, "regex"))

        def text(key: str) -> str | None:
            return spec[key] if isinstance(spec.get(key), str) else None

        group = spec.get("group")
        return m.Capture(
            name,
            span,
            jsonpath=self.jsonpath(spec.get("jsonpath"), (*path, "jsonpath")),
            all=spec.get("all") is True,
            header=text("header"),
            value=self.value(spec["value"], (*path, "value")) if "value" in spec else None,
            cookie=text("cookie"),
            css=text("css"),
            attr=text("attr"),
            xpath=text("xpath"),
            regex=text("regex"),
            group=group if isinstance(group, (int, str)) and not isinstance(group, bool) else None,
        )

    def capture_regex(self, pattern: str, group: Any, path: Path) -> None:
        """The pattern compiles, and the group it names exists in it."""
        try:
            compiled = re.compile(pattern)
        except (re.error, OverflowError, RecursionError) as err:
            self.problem(self.doc.span(path), f"invalid regular expression `{pattern}`: {err}")
            return
        if isinstance(group, int) and not isinstance(group, bool) and not 0 <= group <= compiled.groups:
            self.problem(self.doc.span(path), f"the pattern has {compiled.groups} groups; there is no group {group}")
        if isinstance(group, str) and group not in compiled.groupindex:
            names = ", ".join(compiled.groupindex) or "none"
            self.problem(self.doc.span(path), f"the pattern has no group named `{group}` (its named groups: {names})")


_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
CAPTURE_SOURCES = ("jsonpath", "header", "cookie", "css", "xpath", "regex", "value")


def unresolved_refs(schema: dict[str, Any]) -> list[str]:
    """Every `$ref` of `schema` that does not point at a part of it (`#`, `#/a/b`, `#anchor`).

    Checked at load, because jsonschema finds out only while validating a response, and other
    documents are never fetched: a schema file is self-contained.
    """
    refs: list[str] = []
    anchors: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for key in ("$anchor", "$dynamicAnchor"):
                if isinstance(node.get(key), str):
                    anchors.add(node[key])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return [ref for ref in refs if not _resolves(schema, ref, anchors)]


def _resolves(schema: dict[str, Any], ref: str, anchors: set[str]) -> bool:
    if not ref.startswith("#"):
        return False
    fragment = unquote(ref[1:])
    if fragment and not fragment.startswith("/"):
        return fragment in anchors
    node: Any = schema
    for escaped in fragment.split("/")[1:]:
        part = escaped.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True
