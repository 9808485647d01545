"""Builds the immutable `Flow` model from a parsed, schema-checked YAML document.

It compiles every template and JSONPath once, checks what the schema cannot (one body kind per
request, one source per capture, regular expressions, JSON Schema files), and records every
problem instead of stopping at the first. It is defensive: a part the schema already reported
as malformed is skipped, so the other parts can still be checked and reported in the same run.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

import yaml

from runner import model as m
from runner.jsonpaths import JsonPath, JsonPathSyntaxError, compile_jsonpath
from runner.source import Problem, Span, did_you_mean
from runner.templates import (
    Template,
    TemplateCompileError,
    Tree,
    compile_template,
    is_template,
    templates_in,
)
from runner.yaml_source import Document, Path

# Loads the flow a `use` step names (relative to this flow's file), or None when it does not load.
ResolveUse = Callable[[str, Span], "m.Flow | None"]


class FlowBuilder:
    def __init__(self, doc: Document, resolve_use: ResolveUse | None = None) -> None:
        self.doc = doc
        self.resolve_use = resolve_use
        self.problems: list[Problem] = []
        self.step_name = ""
        self.unresolved_uses = 0  # `use` steps whose flow did not load: their outputs are unknown

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
        steps = self.steps(data, "steps")
        finally_steps = self.steps(data, "finally")
        self.step_name = ""
        self.check_ids(steps + finally_steps)
        name = data.get("name") if isinstance(data.get("name"), str) else None
        tags = data["tags"] if isinstance(data.get("tags"), list) else []
        flow = m.Flow(
            name=name or FsPath(self.doc.source.path).stem,
            source=self.doc.source,
            steps=steps,
            http=http,
            vars=variables,
            description=str(data.get("description") or ""),
            tags=tuple(str(t) for t in tags),
            inputs=self.inputs(_mapping(data.get("inputs"))),
            outputs=tuple(o for o in data.get("outputs") or [] if isinstance(o, str)),
            finally_steps=finally_steps,
            matrix=self.matrix(data.get("matrix")),
        )
        self.check_outputs(flow)
        return flow

    def steps(self, data: dict[str, Any], key: str) -> tuple[m.Step, ...]:
        items = data.get(key)
        listed = items if isinstance(items, list) else []
        return tuple(self.step(i, s, key) for i, s in enumerate(listed) if isinstance(s, dict))

    def inputs(self, data: dict[str, Any]) -> tuple[m.Input, ...]:
        out = []
        for name, raw in data.items():
            spec = _mapping(raw)
            required = spec.get("required") is True
            span = self.doc.key_span(("inputs", name))
            if required and "default" in spec:
                self.problem(
                    span, f"input `{name}` is required and has a default", "keep one: a required input has no default"
                )
            out.append(m.Input(name, required, self.value(spec.get("default"), ("inputs", name, "default")), span))
        return tuple(out)

    def check_outputs(self, flow: m.Flow) -> None:
        """Each declared output must be something the flow defines: a capture, var or input."""
        defined = {c.name for s in flow.steps for c in s.captures}
        defined |= {o for s in flow.steps if s.use for o in s.use.flow.outputs}
        defined |= {v.name for v in flow.vars} | {i.name for i in flow.inputs}
        for index, name in enumerate(flow.outputs):
            if name not in defined:
                hint = did_you_mean(name, defined) or "capture it in one of the flow's steps"
                self.problem(self.doc.span(("outputs", index)), f"output `{name}` is never captured by this flow", hint)

    def matrix(self, value: Any) -> tuple[dict[str, Any], ...]:
        """Rows of variables: inline, or read from a CSV or YAML file next to the flow."""
        if isinstance(value, dict) and isinstance(value.get("file"), str):
            rows = read_rows(FsPath(self.doc.source.path).parent / value["file"], value["file"])
            if isinstance(rows, str):
                self.problem(
                    self.doc.span(("matrix", "file")), rows, "a CSV file with a header row, or a YAML list of mappings"
                )
                return ()
            value = rows
        if not isinstance(value, list):
            return ()
        rows = [r for r in value if isinstance(r, dict)]
        for index, row in enumerate(rows):
            if set(row) != set(rows[0]):
                first, this = ", ".join(sorted(rows[0])), ", ".join(sorted(row))
                self.problem(
                    self.doc.span(("matrix", index)),
                    f"matrix row {index + 1} sets {this}, the first row {first}",
                    "give every row the same variables",
                )
        return tuple(rows)

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

    def step(self, index: int, data: dict[str, Any], key: str = "steps") -> m.Step:
        path: Path = (key, index)
        raw = _mapping(data.get("request"))
        default_name = f"use {data['use']}" if "use" in data else f"{raw.get('method') or 'GET'} {raw.get('url', '')}"
        self.step_name = str(data.get("name") or default_name)
        self.check_step_kind(data, path)
        return m.Step(
            index=index,
            name=self.step_name,
            request=self.request(raw, (*path, "request")) if "request" in data else None,
            expect=self.expect(_mapping(data.get("expect")), (*path, "expect")),
            captures=self.captures(_mapping(data.get("capture")), (*path, "capture")),
            span=self.doc.span(path),
            id=data.get("id") if isinstance(data.get("id"), str) else None,
            when=self.when(data.get("when"), (*path, "when")) if "when" in data else None,
            retry=self.retry(_mapping(data.get("retry")), (*path, "retry")) if "retry" in data else None,
            use=self.use(data, path) if isinstance(data.get("use"), str) else None,
        )

    def check_step_kind(self, data: dict[str, Any], path: Path) -> None:
        """A step sends a `request` or runs a flow with `use`, never both, never neither."""
        if ("request" in data) == ("use" in data):
            both = "has both `request` and `use`" if "request" in data else "has neither `request` nor `use`"
            self.problem(
                self.doc.span(path),
                f"a step {both}",
                "a step sends a request, or runs another flow with `use: file.yaml`",
            )
        if "use" in data:
            for key in ("expect", "capture", "retry"):
                if key in data:
                    hint = "check inside the used flow; its `outputs` become captures here"
                    self.problem(self.doc.key_span((*path, key)), f"a `use` step takes no `{key}`", hint)
        elif "with" in data:
            self.problem(
                self.doc.key_span((*path, "with")), "`with` gives inputs to a `use` step, but this step has no `use`"
            )

    def when(self, value: Any, path: Path) -> Template | None:
        if isinstance(value, bool):
            value = "true" if value else "false"
        conditions = self.conditions(value, path)
        return conditions[0] if conditions else None

    def retry(self, data: dict[str, Any], path: Path) -> m.Retry:
        until = data.get("until", "passed")

        def number(key: str, default: float) -> float:
            value = data.get(key, default)
            return float(value) if _is_number(value) else default

        return m.Retry(
            attempts=int(number("attempts", 3)),
            delay=number("delay", 0.5),
            backoff=number("backoff", 1.0),
            until=None if until == "passed" else self.when(until, (*path, "until")),
            transport_errors=data.get("transport_errors") is True,
            span=self.doc.span(path),
        )

    def use(self, data: dict[str, Any], path: Path) -> m.Use | None:
        span = self.doc.span((*path, "use"))
        flow = self.resolve_use(data["use"], span) if self.resolve_use else None
        given = _mapping(data.get("with"))
        inputs = {name: self.value(v, (*path, "with", name)) for name, v in given.items()}
        if flow is None:
            self.unresolved_uses += 1
            return None
        declared = {i.name: i for i in flow.inputs}
        for name in given:
            if name not in declared:
                hint = did_you_mean(name, declared) or f"its inputs are: {', '.join(declared) or 'none'}"
                self.problem(self.doc.key_span((*path, "with", name)), f"`{data['use']}` has no input `{name}`", hint)
        for name in (i.name for i in flow.inputs if i.required and i.name not in given):
            self.problem(
                span,
                f"`{data['use']}` needs the input `{name}`",
                f"add it under `with:`, for example with: {{{name}: ...}}",
            )
        return m.Use(flow, inputs, span)

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


def read_rows(file: FsPath, name: str) -> list[dict[str, Any]] | str:
    """A matrix file's rows, or what is wrong with it. CSV cells are typed like --var values."""
    from runner.scalars import parse_scalar
    from runner.source import SourceFile
    from runner.yaml_source import parse_yaml

    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return f"cannot read the matrix file `{name}`: {getattr(err, 'strerror', None) or err}"
    rows: Any
    if file.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        rows = [{k.strip(): parse_scalar(v.strip()) for k, v in row.items() if k} for row in reader]
    else:
        doc, problems = parse_yaml(SourceFile(str(file), text))
        if problems:
            return f"the matrix file `{name}` does not parse: {problems[0].message}"
        rows = doc.data if isinstance(doc.data, list) and all(isinstance(r, dict) for r in doc.data) else None
    if not rows:
        return f"the matrix file `{name}` holds no rows"
    if bad := [str(k) for k in rows[0] if not str(k).isidentifier()]:
        return f"the matrix file `{name}` has column names that are not names: {', '.join(bad)}"
    return list(rows)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
