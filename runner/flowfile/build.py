"""Builds the immutable `Flow` model from a parsed, schema-checked YAML document.

It compiles every template and JSONPath once, checks what the schema cannot (one body kind per
request, one source per capture, regular expressions, JSON Schema files), and records every
problem instead of stopping at the first. It is defensive: a part the schema already reported
as malformed is skipped, so the other parts can still be checked and reported in the same run.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

from runner.flowfile import model as m
from runner.flowfile.build_checks import CheckBuilder
from runner.flowfile.build_values import is_number, mapping_of
from runner.flowfile.source import Span, did_you_mean
from runner.flowfile.templates import Template
from runner.flowfile.yaml_source import Document, Path
from runner.limits import DEFAULT_MAX_RESPONSE_MB

# Loads the flow a `use` step names (relative to this flow's file), or None when it does not load.
ResolveUse = Callable[[str, Span], "m.Flow | None"]


class FlowBuilder(CheckBuilder):
    def __init__(self, doc: Document, resolve_use: ResolveUse | None = None, number: int | None = None) -> None:
        super().__init__(doc)
        self.resolve_use = resolve_use
        self.number = number  # the flow's place in a file of several, for a flow with no name
        self.unresolved_uses = 0  # `use` steps whose flow did not load: their outputs are unknown

    def flow(self) -> m.Flow:
        data: dict[str, Any] = self.doc.data
        http = self.http(data.get("http"))
        variables = tuple(
            m.Variable(name, self.value(v, ("vars", name)), self.doc.key_span(("vars", name)))
            for name, v in mapping_of(data.get("vars")).items()
        )
        steps = self.steps(data, "steps")
        finally_steps = self.steps(data, "finally")
        self.step_name = ""
        self.check_ids(steps + finally_steps)
        name = data.get("name") if isinstance(data.get("name"), str) else None
        tags = data["tags"] if isinstance(data.get("tags"), list) else []
        flow = m.Flow(
            name=name or FsPath(self.doc.source.path).stem + (f" #{self.number}" if self.number else ""),
            source=self.doc.source,
            steps=steps,
            http=http,
            vars=variables,
            description=str(data.get("description") or ""),
            tags=tuple(str(t) for t in tags),
            inputs=self.inputs(mapping_of(data.get("inputs"))),
            outputs=tuple(o for o in data.get("outputs") or [] if isinstance(o, str)),
            finally_steps=finally_steps,
            matrix=self.matrix(data.get("matrix")),
            openapi=self.descriptions(data.get("openapi")),
            load_weight=_weight(data.get("load")),
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
            spec = mapping_of(raw)
            required = spec.get("required") is True
            span = self.doc.key_span(("inputs", name))
            if required and "default" in spec:
                self.problem(
                    span, f"input `{name}` is required and has a default", "keep one: a required input has no default"
                )
            out.append(m.Input(name, required, self.value(spec.get("default"), ("inputs", name, "default")), span))
        return tuple(out)

    def descriptions(self, value: Any) -> tuple[m.FileRef, ...]:
        """`openapi:` — a file or a list of files next to the flow; each must exist (it is
        parsed once per run, by the run: runner/contracts)."""
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        found = [
            self.file(name, ("openapi", i) if isinstance(value, list) else ("openapi",))
            for i, name in enumerate(names)
            if isinstance(name, str)  # anything else is reported by the schema check
        ]
        return tuple(f for f in found if f is not None)

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
        data = mapping_of(data)
        return m.HttpDefaults(
            headers=self.tree(data.get("headers"), ("http", "headers")),
            params=self.tree(data.get("params"), ("http", "params")),
            timeout=float(data.get("timeout", 30.0)) if is_number(data.get("timeout", 30)) else 30.0,
            verify=data.get("verify", True) is not False,
            follow_redirects=data.get("follow_redirects") is True,
            max_response_bytes=_mebibytes(data.get("max_response_mb", DEFAULT_MAX_RESPONSE_MB)),
            auth=self.tree(data.get("auth"), ("http", "auth")),
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
        raw = mapping_of(data.get("request"))
        default_name = f"use {data['use']}" if "use" in data else f"{raw.get('method') or 'GET'} {raw.get('url', '')}"
        self.step_name = str(data.get("name") or default_name)
        self.check_step_kind(data, path)
        return m.Step(
            index=index,
            name=self.step_name,
            request=self.request(raw, (*path, "request")) if "request" in data else None,
            expect=self.expect(mapping_of(data.get("expect")), (*path, "expect")),
            captures=self.captures(mapping_of(data.get("capture")), (*path, "capture")),
            span=self.doc.span(path),
            id=data.get("id") if isinstance(data.get("id"), str) else None,
            when=self.when(data.get("when"), (*path, "when")) if "when" in data else None,
            retry=self.retry(mapping_of(data.get("retry")), (*path, "retry")) if "retry" in data else None,
            use=self.use(data, path) if isinstance(data.get("use"), str) else None,
            sleep=float(data["sleep"]) if is_number(data.get("sleep")) else None,
        )

    def check_step_kind(self, data: dict[str, Any], path: Path) -> None:
        """A step sends a `request` or runs a flow with `use`, never both, never neither."""
        if ("request" in data) == ("use" in data) and not ("sleep" in data and "request" not in data):
            both = "has both `request` and `use`" if "request" in data else "has neither `request` nor `use`"
            self.problem(
                self.doc.span(path),
                f"a step {both}",
                "a step sends a request, runs another flow with `use: file.yaml`, or only waits (`sleep`)",
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
            return float(value) if is_number(value) else default

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
        given = mapping_of(data.get("with"))
        inputs = {name: self.value(v, (*path, "with", name)) for name, v in given.items()}
        if flow is None:
            self.unresolved_uses += 1
            return None
        if flow.matrix:
            self.problem(
                span,
                f"`{data['use']}` has a matrix, which a `use` step cannot run",
                "move the matrix to this flow (each row a run of it), or run that flow by itself",
            )
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
        bodies = [k for k in BODY_KINDS if k in data]
        if len(bodies) > 1:
            self.problem(
                self.doc.key_span((*path, bodies[1])),
                f"a request has one body, but this one has {' and '.join(f'`{b}`' for b in bodies)}",
                f"keep one of {', '.join(BODY_KINDS)}",
            )
        body = data.get("body")
        timeout = data.get("timeout")
        graphql = data.get("graphql")
        json_body = self.value(data["json"], (*path, "json")) if "json" in data else None
        if isinstance(graphql, dict):
            json_body = self.graphql(graphql, (*path, "graphql"))
        method = data.get("method") or ("POST" if "graphql" in data else "GET")
        # `{file: path}`; `{file: }` or `{file: 3}` is the schema check's to report.
        file_name = body.get("file") if isinstance(body, dict) else None
        return m.Request(
            method=str(method).upper(),
            url=self.template(data["url"], (*path, "url")) if isinstance(data.get("url"), str) else "",
            span=self.doc.span(path),
            params=self.tree(data.get("params"), (*path, "params")),
            headers=self.tree(data.get("headers"), (*path, "headers")),
            json=json_body,
            body=self.template(body, (*path, "body")) if isinstance(body, str) else None,
            form=self.tree(data.get("form"), (*path, "form")),
            timeout=float(timeout) if isinstance(timeout, (int, float)) and is_number(timeout) else None,
            body_file=self.file(file_name, (*path, "body", "file")) if isinstance(file_name, str) else None,
            multipart=self.multipart(mapping_of(data.get("multipart")), (*path, "multipart")),
            auth=self.tree(data.get("auth"), (*path, "auth")),
            cookies=self.tree(data.get("cookies"), (*path, "cookies")),
            follow_redirects=data["follow_redirects"] if isinstance(data.get("follow_redirects"), bool) else None,
            verify=data["verify"] if isinstance(data.get("verify"), bool) else None,
        )

    def graphql(self, data: dict[str, Any], path: Path) -> Any:
        """A GraphQL request as the JSON body every GraphQL server reads (`operationName`)."""
        body = {"query": data.get("query", "")}
        if "variables" in data:
            body["variables"] = data["variables"]
        if "operation_name" in data:
            body["operationName"] = data["operation_name"]
        return self.value(body, path)  # `query` and `variables` keep their own lines

    def multipart(self, data: dict[str, Any], path: Path) -> tuple[m.Part, ...]:
        parts = []
        for name, spec in data.items():
            where = (*path, name)
            if isinstance(spec, dict) and isinstance(spec.get("file"), str):
                file = self.file(spec["file"], (*where, "file"))
                content_type, filename = spec.get("content_type"), spec.get("filename")
                parts.append(m.Part(name, file=file, content_type=content_type, filename=filename))
            elif not isinstance(spec, dict):
                value = self.template(spec, where) if isinstance(spec, str) else _text(spec)
                parts.append(m.Part(name, value=value))
        return tuple(parts)

    def file(self, name: str, path: Path) -> m.FileRef | None:
        """A file the request sends: it must be a readable regular file, next to the flow."""
        from runner.flowfile.files import why_not_a_file

        span = self.doc.span(path)
        target = FsPath(self.doc.source.path).parent / name
        why = why_not_a_file(target)
        if not why and not os.access(target, os.R_OK):
            why = "it cannot be read (permission denied)"
        if why:
            self.problem(span, f"`file: {name}`: {why}", "the path is relative to the flow file")
            return None
        return m.FileRef(os.path.normpath(target), name, span)


def _weight(value: Any) -> int:
    weight = value.get("weight", 1) if isinstance(value, dict) else 1
    return weight if isinstance(weight, int) and not isinstance(weight, bool) and weight >= 1 else 1


BODY_KINDS = ("json", "body", "form", "multipart", "graphql")


def _text(value: Any) -> str:
    """A multipart value that is not a string, as it is sent: JSON's spelling of true and null."""
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    return str(value)


def _mebibytes(value: Any) -> int:
    """`http.max_response_mb` in bytes; a wrong value (reported by the schema check) is the default."""
    valid = is_number(value) and math.isfinite(value) and value > 0
    return int((value if valid else DEFAULT_MAX_RESPONSE_MB) * 1024 * 1024)


def read_rows(file: FsPath, name: str) -> list[dict[str, Any]] | str:
    """A matrix file's rows, or what is wrong with it. CSV cells are typed like --var values."""
    from runner.flowfile.files import UnreadableFileError, read_data_file, read_text

    rows: Any
    try:
        if file.suffix.lower() == ".csv":
            rows = _csv_rows(read_text(file, encoding="utf-8-sig"))  # -sig: a BOM is not part of a name
        else:
            data = read_data_file(file)
            rows = data if isinstance(data, list) and all(isinstance(r, dict) for r in data) else None
    except UnreadableFileError as err:
        return f"cannot read the matrix file `{name}`: {err}"
    except ValueError as err:
        return f"the matrix file `{name}` does not parse: {err}"
    if not rows:
        return f"the matrix file `{name}` holds no rows"
    if bad := [str(k) for k in rows[0] if not str(k).isidentifier()]:
        return f"the matrix file `{name}` has column names that are not names: {', '.join(bad)}"
    return list(rows)


def _csv_rows(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV text with a header line; a row of another width is a ValueError."""
    import csv  # only a matrix from a .csv file pays for it

    from runner.flowfile.scalars import parse_scalar

    reader = csv.reader(io.StringIO(text))
    try:
        lines = [line for line in reader if line]
    except csv.Error as err:  # a cell over csv's field limit (128 KiB), a stray quote...
        raise ValueError(f"line {reader.line_num}: {err}") from None
    if not lines:
        return []
    header = [h.strip() for h in lines[0]]
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            raise ValueError(f"row {number} has {len(line)} cells, the header {len(header)}")
    return [{k: parse_scalar(v.strip()) for k, v in zip(header, line, strict=True) if k} for line in lines[1:]]
