"""Builds the immutable `Flow` model from a parsed, schema-checked YAML document.

It compiles every template and JSONPath once, checks what the schema cannot (one body kind per
request, one source per capture, regular expressions, JSON Schema files), and records every
problem instead of stopping at the first. It is defensive: a part the schema already reported
as malformed is skipped, so the other parts can still be checked and reported in the same run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path as FsPath
from typing import Any

import yaml

from runner import model as m
from runner.jsonpaths import JsonPath, JsonPathSyntaxError, compile_jsonpath
from runner.source import Problem, Span
from runner.templates import (
    Template,
    TemplateCompileError,
    Tree,
    compile_template,
    is_template,
    templates_in,
)
from runner.yaml_source import Document, Path


class FlowBuilder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.step_name = ""

    # -- helpers ---------------------------------------------------------------------------

    def problem(self, span: Span, message: str, hint: str = "") -> None:
        self.problems.append(Problem(span, message, hint, step=self.step_name))

    def template(self, text: str, path: Path) -> Template | str:
        if not is_template(text):
            return text
        try:
            return compile_template(text, self.doc.span(path))
        except TemplateCompileError as err:
            self.problem(err.span, str(err), "check the braces: {{ expression }} and {% tag %}")
            return text

    def value(self, value: Any, path: Path) -> Any:
        """Compile every template inside `value`; a structured value becomes a `Tree`."""
        if isinstance(value, str):
            return self.template(value, path)
        if isinstance(value, (dict, list)):
            compiled = self._tree(value, path)
            names = frozenset(n for t in templates_in(compiled) for n in t.names)
            return Tree(compiled, names)
        return value

    def _tree(self, value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            return {k: self._tree(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._tree(v, (*path, i)) for i, v in enumerate(value)]
        return self.template(value, path) if isinstance(value, str) else value

    def tree(self, value: Any, path: Path) -> Tree | None:
        if not isinstance(value, dict):
            return None
        compiled = self.value(value, path)
        return compiled if isinstance(compiled, Tree) else None

    def jsonpath(self, text: Any, path: Path, *, at_key: bool = False) -> JsonPath | None:
        if not isinstance(text, str):
            return None
        try:
            return compile_jsonpath(text)
        except JsonPathSyntaxError as err:
            span = self.doc.key_span(path) if at_key else self.doc.span(path)
            self.problem(
                span,
                f"invalid JSONPath `{text}`: {err}",
                "JSONPaths look like $.data.id, $.data.items[0].id or $.data[?(@.type == 'card')].id",
            )
            return None

    # -- the flow --------------------------------------------------------------------------

    def flow(self) -> m.Flow:
        data: dict[str, Any] = self.doc.data
        http = self.http(data.get("http"))
        variables = tuple(
            m.Variable(name, self.value(v, ("vars", name)), self.doc.key_span(("vars", name)))
            for name, v in _mapping(data.get("vars")).items()
        )
        steps_data = data.get("steps")
        steps = tuple(
            self.step(i, s)
            for i, s in enumerate(steps_data if isinstance(steps_data, list) else [])
            if isinstance(s, dict)
        )
        self.step_name = ""
        self.check_ids(steps)
        name = data.get("name") if isinstance(data.get("name"), str) else None
        tags = data["tags"] if isinstance(data.get("tags"), list) else []
        return m.Flow(
            name=name or FsPath(self.doc.source.path).stem,
            source=self.doc.source,
            steps=steps,
            http=http,
            vars=variables,
            description=str(data.get("description") or ""),
            tags=tuple(str(t) for t in tags),
        )

    def http(self, data: Any) -> m.HttpDefaults:
        data = _mapping(data)
        return m.HttpDefaults(
            headers=self.tree(data.get("headers"), ("http", "headers")),
            params=self.tree(data.get("params"), ("http", "params")),
            timeout=float(data.get("timeout", 30.0)) if _is_number(data.get("timeout", 30)) else 30.0,
            verify=data.get("verify", True) is not False,
            follow_redirects=data.get("follow_redirects") is True,
        )

    def check_ids(self, steps: tuple[m.Step, ...]) -> None:
        seen: dict[str, m.Step] = {}
        for step in steps:
            if step.id is None:
                continue
            if step.id in seen:
                self.problem(
                    self.doc.span(("steps", step.index, "id")),
                    f"two steps have the id `{step.id}` (the first is on line {seen[step.id].span.line})",
                    "step ids must be unique within a flow",
                )
            seen[step.id] = step

    def step(self, index: int, data: dict[str, Any]) -> m.Step:
        path: Path = ("steps", index)
        raw = _mapping(data.get("request"))
        self.step_name = str(data.get("name") or f"{raw.get('method') or 'GET'} {raw.get('url', '')}")
        request = self.request(raw, (*path, "request"))
        step = m.Step(
            index=index,
            name=self.step_name,
            request=request,
            expect=self.expect(_mapping(data.get("expect")), (*path, "expect")),
            captures=self.captures(_mapping(data.get("capture")), (*path, "capture")),
            span=self.doc.span(path),
            id=data.get("id") if isinstance(data.get("id"), str) else None,
        )
        return step

    def request(self, data: dict[str, Any], path: Path) -> m.Request:
        bodies = [k for k in ("json", "body", "form") if k in data]
        if len(bodies) > 1:
            self.problem(
                self.doc.key_span((*path, bodies[1])),
                f"a request has one body, but this one has {' and '.join(f'`{b}`' for b in bodies)}",
                "keep one of json, body and form",
            )
        body = data.get("body")
        timeout = data.get("timeout")
        return m.Request(
            method=str(data.get("method") or "GET").upper(),
            url=self.template(data["url"], (*path, "url")) if isinstance(data.get("url"), str) else "",
            span=self.doc.span(path),
            params=self.tree(data.get("params"), (*path, "params")),
            headers=self.tree(data.get("headers"), (*path, "headers")),
            json=self.value(data["json"], (*path, "json")) if "json" in data else None,
            body=self.template(body, (*path, "body")) if isinstance(body, str) else None,
            form=self.tree(data.get("form"), (*path, "form")),
            timeout=float(timeout) if isinstance(timeout, (int, float)) and _is_number(timeout) else None,
        )

    # -- expectations ----------------------------------------------------------------------

    def expect(self, data: dict[str, Any], path: Path) -> m.Expect:
        return m.Expect(
            status=self.status(data.get("status"), (*path, "status")),
            headers=tuple(
                m.HeaderExpectation(
                    name,
                    self.checks(v, (*path, "headers", name)),
                    self.doc.key_span((*path, "headers", name)),
                )
                for name, v in _mapping(data.get("headers")).items()
            ),
            json=self.json_expectations(_mapping(data.get("json")), (*path, "json")),
            schema=self.schema(data.get("schema"), (*path, "schema")),
            time_ms=self.checks(data["time_ms"], (*path, "time_ms")) if isinstance(data.get("time_ms"), dict) else (),
            that=self.conditions(data.get("that"), (*path, "that")),
        )

    def conditions(self, value: Any, path: Path) -> tuple[Template, ...]:
        """`that` entries may leave out the braces: `x > 1` means `{{ x > 1 }}`."""
        entries = [(value, path)] if isinstance(value, str) else []
        if isinstance(value, list):
            entries = [(v, (*path, i)) for i, v in enumerate(value) if isinstance(v, str)]
        compiled = [self.template(t if is_template(t) else "{{ " + t + " }}", p) for t, p in entries]
        return tuple(t for t in compiled if isinstance(t, Template))

    def status(self, value: Any, path: Path) -> m.StatusRule | None:
        span = self.doc.span(path)
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return m.StatusRule(frozenset([value]), frozenset(), value, span)
        if isinstance(value, list) and all(isinstance(v, int) for v in value):
            return m.StatusRule(frozenset(value), frozenset(), value, span)
        if isinstance(value, str) and re.fullmatch(r"[1-5]xx", value):
            return m.StatusRule(frozenset(), frozenset([int(value[0])]), value, span)
        return None

    def json_expectations(self, data: dict[str, Any], path: Path) -> tuple[m.JsonExpectation, ...]:
        out = []
        for text, matcher in data.items():
            compiled = self.jsonpath(text, (*path, text), at_key=True)
            if compiled is not None:
                out.append(
                    m.JsonExpectation(
                        compiled,
                        self.checks(matcher, (*path, text)),
                        self.doc.key_span((*path, text)),
                    )
                )
        return tuple(out)

    def checks(self, matcher: Any, path: Path) -> tuple[m.Check, ...]:
        """A plain value means equality; a mapping is an operator map."""
        if not isinstance(matcher, dict):
            return (m.Check("eq", self.value(matcher, path), self.doc.span(path)),)
        out = []
        for op, expected in matcher.items():
            if op not in m.OPERATORS:
                continue  # reported by the schema check
            where = (*path, op)
            nested = self.checks(expected, where) if op == "len" and isinstance(expected, dict) else ()
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
        except re.error as err:
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
            text = file.read_text("utf-8")
            loaded = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except OSError as err:
            self.problem(
                span,
                f"cannot read the JSON Schema file `{value}`: {err.strerror}",
                f"the path is relative to the flow file: {file}",
            )
            return None
        except (ValueError, yaml.YAMLError) as err:
            self.problem(span, f"the JSON Schema file `{value}` does not parse: {str(err).splitlines()[0]}")
            return None
        if not isinstance(loaded, dict):
            self.problem(span, f"the JSON Schema file `{value}` does not hold a mapping")
            return None
        return self.checked_schema(loaded, str(file), span)

    def checked_schema(self, schema: dict[str, Any], origin: str, span: Span) -> m.SchemaExpectation | None:
        from jsonschema import SchemaError, validators  # only flows that use `schema` pay for it

        try:
            validators.validator_for(schema).check_schema(schema)
        except SchemaError as err:
            self.problem(span, f"not a valid JSON Schema ({origin}): {err.message}")
            return None
        return m.SchemaExpectation(schema, origin, span)

    # -- captures --------------------------------------------------------------------------

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
        sources = [k for k in ("jsonpath", "header", "value") if k in spec]
        if len(sources) != 1:
            self.problem(
                span,
                f"capture `{name}` needs exactly one of jsonpath, header and value, got {', '.join(sources) or 'none'}",
                "for example {jsonpath: $.data.id} or {header: X-Request-Id}",
            )
        if "all" in spec and "jsonpath" not in spec:
            self.problem(
                self.doc.key_span((*path, "all")),
                f"`all` applies to a jsonpath capture only (capture `{name}`)",
            )
        header = spec.get("header")
        return m.Capture(
            name,
            span,
            jsonpath=self.jsonpath(spec.get("jsonpath"), (*path, "jsonpath")),
            all=spec.get("all") is True,
            header=header if isinstance(header, str) else None,
            value=self.value(spec["value"], (*path, "value")) if "value" in spec else None,
        )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
