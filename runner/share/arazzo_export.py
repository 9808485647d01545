"""`apiflow export FLOW --to arazzo`: a flow as an Arazzo 1.0 document.

Arazzo steps name operations, so the export also writes a minimal OpenAPI 3.1 description of
the requests the flow sends (one operation per method and path template, path parameters where
the flow's URL has templates), or matches them in a description given with `--openapi SPEC`.

What maps: vars and secrets become workflow `inputs` (a var's constant value its `default`; a
secret `format: password`, `writeOnly`); templates naming a var, a secret or an earlier capture
become runtime expressions (`$inputs.x`, `$steps.s.outputs.x`, `{$...}` inside text); `expect`
becomes `successCriteria` (status, definite-JSONPath comparisons as `$response.body#/...`,
`exists` as a JSONPath criterion, header equality and `matches` as regex criteria); `capture`
becomes `outputs` (a definite JSONPath or a header); `retry` an `onFailure` retry action; the
flow's declared `outputs` the workflow's. Everything else (filters and helpers in templates,
`when`, `use`, `finally`, `matrix`, multipart, files, basic/digest auth, other checks and captures)
cannot be said in Arazzo: it is listed, in the document (`x-apiflow-not-exported`) and on stderr.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from runner.contracts.description import Description
from runner.flowfile.model import Check, Expect, Flow, JsonExpectation, Request, StatusRule, Step
from runner.flowfile.templates import Template, Tree, templates_in
from runner.share.flow_writer import UniqueNames

ARAZZO_VERSION = "1.0.1"
_EXPRESSION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_NAME = re.compile(r"[A-Za-z_]\w*")
_SECRET_ONLY = re.compile(r"\{\{-?\s*secret\(\s*['\"][A-Za-z0-9_.-]+['\"]\s*\)\s*-?\}\}")
_COMPARE = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


@dataclass
class Exported:
    arazzo: dict[str, Any]
    openapi: dict[str, Any] | None  # None when --openapi named an existing description
    not_exported: list[str]


@dataclass
class _Server:
    var: str | None  # the flow var a URL starts with
    url: str  # https://api.x.com/stores/{store_hash}
    variables: dict[str, str]  # server variable -> default

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url}
        if self.variables:
            out["variables"] = {name: {"default": default} for name, default in self.variables.items()}
        return out


@dataclass
class _Operation:
    method: str
    template: str  # /things/{thing_id}
    operation_id: str | None
    operation_path: str | None
    parameters: list[str]  # path parameter names, in order
    source: str  # the source description it is in
    server: _Server
    statuses: set[str] = field(default_factory=set)
    body_type: str | None = None
    query: set[str] = field(default_factory=set)
    headers: set[str] = field(default_factory=set)


def export_flow(flow: Flow, openapi_url: str, spec: Description | None = None, spec_url: str = "") -> Exported:
    """`flow` as Arazzo. Operations are found in `spec` (named `spec_url` in the document) when
    given; the others are described in a minimal OpenAPI document that will be at `openapi_url`."""
    return _Exporter(flow, openapi_url, spec, spec_url).export()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "step"


class _Exporter:
    def __init__(self, flow: Flow, openapi_url: str, spec: Description | None, spec_url: str) -> None:
        self.flow = flow
        self.openapi_url = openapi_url
        self.spec = spec
        self.spec_url = spec_url
        self.source_name = "requests"  # the description written with the document
        self.spec_name = "api"  # the one --openapi names
        self.step_sources: dict[int, str] = {}  # id() of a step written -> the source its operationId is in
        self.not_exported: list[str] = []
        # What the workflow being written knows (`_workflow` swaps these for a used flow's):
        self.inputs: dict[str, Any] = {}
        self.var_names = {v.name for v in flow.vars} | {i.name for i in flow.inputs}
        self.captured_by: dict[str, str] = {}  # capture name -> stepId of the latest step capturing it
        self.step_ids = UniqueNames("{name}_{n}")
        self.operations: dict[tuple[str, str, str], _Operation] = {}  # method, path, server
        self.workflows: list[dict[str, Any]] = []  # every used flow's workflow, after the main one
        self.workflow_ids: dict[str, str] = {}  # a used flow's path -> its workflowId
        self.workflow_names = UniqueNames("{name}_{n}")
        self.operation_ids = UniqueNames("{name}{n}")
        self.url_query: list[dict[str, Any]] = []  # the current step's query pairs written in its URL
        self.servers: dict[tuple[str, str], _Server] = {}  # (leading var, its value) -> its server

    def export(self) -> Exported:
        main = self._steps_of(self.workflow_names(_slug(self.flow.name)))
        steps = [s for w in (main, *self.workflows) for s in w["steps"]]
        sources = []
        if self.spec is not None:
            sources.append({"name": self.spec_name, "url": self.spec_url, "type": "openapi"})
        generated = [o for o in self.operations.values() if o.source == self.source_name]
        if generated or self.spec is None:
            sources.append({"name": self.source_name, "url": self.openapi_url, "type": "openapi"})
        if len(sources) > 1:
            # With two sources, Arazzo wants each operationId to say which one it is in.
            for step in steps:
                if "operationId" in step:
                    source = self.step_sources[id(step)]
                    step["operationId"] = f"$sourceDescriptions.{source}.{step['operationId']}"
        document: dict[str, Any] = {
            "arazzo": ARAZZO_VERSION,
            "info": {"title": self.flow.name, "version": "1.0.0"},
            "sourceDescriptions": sources,
            "workflows": [main, *self.workflows],
        }
        if self.not_exported:
            document["x-apiflow-not-exported"] = self.not_exported
        return Exported(document, self._openapi(generated) if generated or self.spec is None else None,
                        self.not_exported)  # fmt: skip

    def _steps_of(self, workflow_id: str) -> dict[str, Any]:
        """The workflow of `self.flow` (the main flow, or a used one `_workflow` set up)."""
        steps = [s for s in (self.step(step) for step in self.flow.steps) if s is not None]
        for kind, present in (("finally", self.flow.finally_steps), ("matrix", self.flow.matrix)):
            if present:
                self.not_exported.append(f"{self.flow.name}: the flow's `{kind}` ({len(present)} entries)")
        workflow: dict[str, Any] = {"workflowId": workflow_id}
        if self.flow.description:
            workflow["description"] = self.flow.description
        if self.inputs:
            workflow["inputs"] = {"type": "object", "properties": self.inputs}
            required = [i.name for i in self.flow.inputs if i.required and i.name in self.inputs]
            if required:
                workflow["inputs"]["required"] = required
        workflow["steps"] = steps
        shared = self.workflow_parameters()
        if shared:
            workflow["parameters"] = shared
        outputs = {name: f"$steps.{self.captured_by[name]}.outputs.{name}" for name in self.flow.outputs
                   if name in self.captured_by}  # fmt: skip
        if outputs:
            workflow["outputs"] = outputs
        return workflow

    def _workflow(self, flow: Flow) -> str:
        """The workflowId of a used flow, written once as a workflow of its own."""
        if flow.path in self.workflow_ids:
            return self.workflow_ids[flow.path]
        workflow_id = self.workflow_names(_slug(flow.name))
        self.workflow_ids[flow.path] = workflow_id
        saved = (self.flow, self.inputs, self.var_names, self.captured_by, self.step_ids)
        self.flow, self.inputs, self.captured_by = flow, {}, {}
        self.var_names = {v.name for v in flow.vars} | {i.name for i in flow.inputs}
        self.step_ids = UniqueNames("{name}_{n}")
        try:
            self.workflows.append(self._steps_of(workflow_id))
        finally:
            self.flow, self.inputs, self.var_names, self.captured_by, self.step_ids = saved
        return workflow_id

    def use_step(self, step: Step, where: str) -> dict[str, Any]:
        """`use: other.yaml` as a step that runs the other flow's workflow, its `with` as parameters
        and its declared outputs as this step's."""
        assert step.use is not None
        workflow_id = self._workflow(step.use.flow)
        sid = self.step_ids(_slug(step.id or step.name))
        out: dict[str, Any] = {"stepId": sid, "description": step.name, "workflowId": workflow_id}
        parameters = [{"name": name, "value": self.value(value, where)} for name, value in step.use.inputs.items()]
        if parameters:
            out["parameters"] = parameters
        outputs = {name: f"$workflows.{workflow_id}.outputs.{name}" for name in step.use.flow.outputs}
        if outputs:
            out["outputs"] = outputs
        for name in step.use.flow.outputs:
            self.captured_by[name] = sid
        return out

    # -- the server and the inputs ---------------------------------------------------------------

    def server(self, var: str | None, where: str) -> _Server:
        """The server a URL's leading var (`{{ base }}`) stands for: its URL, with OpenAPI server
        variables for what its template leaves open (`{{ env.X | default('https://a') }}` is
        `https://a`; another constant var is its value; anything else a `{variable}`)."""
        value = next((v.value for v in self.flow.vars if v.name == var), None)
        key = (var or "", value.source if isinstance(value, Template) else str(value))
        if key in self.servers:
            return self.servers[key]
        variables: dict[str, str] = {}
        if isinstance(value, Template):
            url = self._server_url(value.source, variables)
        elif isinstance(value, str):
            url = value
        else:
            url = "/"
            if var is not None:
                self.not_exported.append(f"{where}: var {var} holds no URL")
        found = _Server(var, url.rstrip("/") or "/", variables)
        self.servers[key] = found
        return found

    def _server_url(self, source: str, variables: dict[str, str]) -> str:
        def part(match: re.Match[str]) -> str:
            expr = match[1]
            default = re.fullmatch(r"env\.\w+\s*\|\s*default\(\s*(['\"])(.*?)\1\s*\)", expr)
            if default:
                return default[2]
            constant = next((v.value for v in self.flow.vars if v.name == expr), None)
            if isinstance(constant, (str, int)) and not isinstance(constant, bool):
                return str(constant)
            name = identifier_of(expr)
            variables[name] = ""
            return "{" + name + "}"

        return _EXPRESSION.sub(part, source)

    def _input(self, name: str, *, secret: bool = False) -> None:
        if name in self.inputs:
            return
        if secret:
            self.inputs[name] = {"type": "string", "format": "password", "writeOnly": True}
            return
        declared = next((i for i in self.flow.inputs if i.name == name), None)
        if declared is not None and declared.required:
            self.inputs[name] = {}  # the calling step gives it
            return
        value = next((v.value for v in self.flow.vars if v.name == name), declared.default if declared else None)
        if isinstance(value, Template) and _SECRET_ONLY.fullmatch(value.source.strip()):
            self.inputs[name] = {"type": "string", "format": "password", "writeOnly": True}
            return
        spec: dict[str, Any] = {"type": _json_type(value)} if not isinstance(value, (Template, Tree)) else {}
        if isinstance(value, (Template, Tree)):
            self.not_exported.append(f"var {name}: its value is a template; the input has no default")
        elif value is not None:
            spec["default"] = value
        self.inputs[name] = spec

    # -- values ----------------------------------------------------------------------------------

    def expression(self, text: str) -> str | None:
        """A template's expression as a runtime expression, or None."""
        if _NAME.fullmatch(text):
            if text in self.captured_by:
                return f"$steps.{self.captured_by[text]}.outputs.{text}"
            if text in self.var_names:
                self._input(text)
                return f"$inputs.{text}"
            return None
        found = re.fullmatch(r"vars(?:\.(\w+)|\[['\"](\w+)['\"]\])", text)
        if found and (found[1] or found[2]) in self.var_names:
            self._input(found[1] or found[2])
            return f"$inputs.{found[1] or found[2]}"
        found = re.fullmatch(r"secret\(\s*['\"]([A-Za-z0-9_.-]+)['\"]\s*\)", text)
        if found:
            self._input(found[1], secret=True)
            return f"$inputs.{found[1]}"
        return None

    def value(self, value: Any, where: str) -> Any:
        """A compiled value (constant, Template, Tree) with runtime expressions for templates."""
        if isinstance(value, Tree):
            return self.value(value.value, where)
        if isinstance(value, dict):
            return {k: self.value(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, where) for v in value]
        if isinstance(value, Template):
            return self.text(value.source, where)
        return value

    def text(self, source: str, where: str) -> str:
        """Template text as Arazzo text: `$inputs.x` when it is one expression, else `{$...}` inside."""
        if "{%" in source or "{#" in source:
            self.not_exported.append(f"{where}: template {source!r} (statements)")
            return source
        whole = _EXPRESSION.fullmatch(source.strip())
        if whole:
            quoted = re.fullmatch(r"'(\{[{%#])'", whole[1])
            expr = self.expression(whole[1]) if not quoted else None
            if expr is not None:
                return expr
        out, last, lost = [], 0, False
        for match in _EXPRESSION.finditer(source):
            out.append(source[last : match.start()])
            quoted = re.fullmatch(r"'(\{[{%#])'", match[1])
            expr = quoted[1] if quoted else self.expression(match[1])
            out.append(match[0] if expr is None else (expr if quoted else "{" + expr + "}"))
            lost = lost or expr is None
            last = match.end()
        out.append(source[last:])
        if lost:
            self.not_exported.append(
                f"{where}: template {source!r} (kept as written: Arazzo has no filters or helpers)"
            )
        return "".join(out)

    # -- steps -----------------------------------------------------------------------------------

    def step(self, step: Step) -> dict[str, Any] | None:
        where = f"step {step.name!r}"
        if step.use is not None:
            return self.use_step(step, where)
        if step.request is None:
            self.not_exported.append(f"{where}: a `sleep`-only step")
            return None
        for key, present in (("when", step.when), ("sleep", step.sleep)):
            if present is not None:
                self.not_exported.append(f"{where}: `{key}`")
        sid = self.step_ids(_slug(step.id or step.name))
        self.url_query = []
        out: dict[str, Any] = {"stepId": sid, "description": step.name}
        operation, path_values = self.operation(step.request, where)
        self.step_sources[id(out)] = operation.source
        if operation.operation_id:
            out["operationId"] = operation.operation_id
        else:
            out["operationPath"] = operation.operation_path
        parameters = [{"name": n, "in": "path", "value": v} for n, v in path_values.items()] + self.url_query
        parameters += self.parameters(step.request, operation, where)
        if parameters:
            out["parameters"] = parameters
        body = self.body(step.request, operation, where)
        if body:
            out["requestBody"] = body
        criteria = self.criteria(step.expect, operation, where)
        if criteria:
            out["successCriteria"] = criteria
        outputs = self.outputs(step, sid, where)
        if outputs:
            out["outputs"] = outputs
        if step.retry is not None:
            if step.retry.until is not None:
                self.not_exported.append(f"{where}: retry until {step.retry.until.source!r}")
            out["onFailure"] = [{"name": "retry", "type": "retry", "stepId": sid, "retryAfter": step.retry.delay,
                                 "retryLimit": step.retry.attempts - 1}]  # fmt: skip
        return out

    def operation(self, request: Request, where: str) -> tuple[_Operation, dict[str, Any]]:
        url = request.url.source if isinstance(request.url, Template) else request.url
        var = _leading_var(url)
        server = self.server(var, where)
        tail = re.sub(r"^\{\{-?\s*" + re.escape(var) + r"\s*-?\}\}", "", url) if var else url
        parts = urllib.parse.urlsplit(tail)
        path = parts.path or "/"
        if parts.scheme or parts.netloc:
            self.not_exported.append(f"{where}: URL {url!r} does not start with a var holding the server")
        segments: list[str] = []
        values: dict[str, Any] = {}
        for raw in path.split("/"):
            segment = raw
            for match in _EXPRESSION.finditer(raw):
                name = _param_name(match[1], values)
                values[name] = self.text(match[0], where)
                segment = segment.replace(match[0], "{" + name + "}", 1)
            segments.append(segment)
        template = "/".join(segments)
        key = (request.method, template, server.url)
        operation = self.operations.get(key)
        if operation is None:
            operation = self._operation(request.method, template, server, where)
            self.operations[key] = operation
        # A description given by --openapi names path parameters its own way: by position.
        renamed = dict(zip(operation.parameters, values.values(), strict=False))
        for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            self.url_query.append({"name": name, "in": "query", "value": self.text(value, where)})
            operation.query.add(name)
        return operation, renamed

    def _operation(self, method: str, template: str, server: _Server, where: str) -> _Operation:
        names = re.findall(r"\{([^{}]+)\}", template)
        if self.spec is not None:
            concrete = re.sub(r"\{[^{}]+\}", "x", template)
            server_path = re.sub(r"\{[^{}]*\}", "x", urllib.parse.urlsplit(server.url).path.rstrip("/"))
            found = self.spec.match(method, server_path + concrete) or self.spec.match(method, concrete)
            if found is None:
                self.not_exported.append(f"{where}: {method} {template} is in no operation of {self.spec_url}")
            else:
                pointer = "/paths/" + found.template.replace("~", "~0").replace("/", "~1") + "/" + method.lower()
                op_id = found.spec.get("operationId")
                return _Operation(
                    method, found.template, str(op_id) if op_id else None,
                    None if op_id else "{$sourceDescriptions." + self.spec_name + ".url}#" + pointer,
                    re.findall(r"\{([^{}]+)\}", found.template), self.spec_name, server,
                )  # fmt: skip
        words = [w for w in re.split(r"[^A-Za-z0-9]+", template) if w] or ["root"]
        op_id = method.lower() + "".join(w[:1].upper() + w[1:] for w in words)
        op_id = self.operation_ids(op_id)
        return _Operation(method, template, op_id, None, names, self.source_name, server)

    def _shared(self, tree: Tree | None) -> dict[str, Any]:
        """The flow's `http` headers or params that can be said once for the workflow: those whose
        templates read no capture (a capture changes from step to step)."""
        value = tree.value if isinstance(tree, Tree) else None
        if not isinstance(value, dict):
            return {}
        captured = {c.name for s in self.flow.steps for c in s.captures}
        captured |= {o for s in self.flow.steps if s.use for o in s.use.flow.outputs}
        return {k: v for k, v in value.items() if not (templates_names(v) & captured)}

    def workflow_parameters(self) -> list[dict[str, Any]]:
        """The flow's shared headers and params as the workflow's parameters (every step gets them)."""
        where = f"the flow's http ({self.flow.name})"
        out = [
            {"name": k, "in": "header", "value": self.value(v, where)}
            for k, v in self._shared(self.flow.http.headers).items()
        ]
        out += [
            {"name": k, "in": "query", "value": self.value(v, where)}
            for k, v in self._shared(self.flow.http.params).items()
        ]
        return out

    def parameters(self, request: Request, operation: _Operation, where: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        shared_headers, shared_params = self._shared(self.flow.http.headers), self._shared(self.flow.http.params)
        flow_headers = self.value(self.flow.http.headers, where) or {}
        flow_params = self.value(self.flow.http.params, where) or {}
        operation.headers |= set(flow_headers)  # described on the operation, said once on the workflow
        operation.query |= set(flow_params)
        query = {k: v for k, v in flow_params.items() if k not in shared_params}
        query.update(self.value(request.params, where) if request.params is not None else {})
        headers = {k: v for k, v in flow_headers.items() if k not in shared_headers}
        headers.update(self.value(request.headers, where) or {})
        auth = request.auth if request.auth is not None else self.flow.http.auth
        if auth is not None:
            tree = auth.value if isinstance(auth, Tree) else {}
            if isinstance(tree, dict) and "bearer" in tree:
                token = self.value(tree["bearer"], where)
                headers["Authorization"] = "Bearer " + (f"{{{token}}}" if str(token).startswith("$") else str(token))
            else:
                self.not_exported.append(f"{where}: {'/'.join(tree) if isinstance(tree, dict) else ''} auth")
        for name, value in (query or {}).items():
            out.append({"name": name, "in": "query", "value": value})
            operation.query.add(name)
        for name, value in headers.items():
            out.append({"name": name, "in": "header", "value": value})
            operation.headers.add(name)
        for name, value in (self.value(request.cookies, where) or {}).items():
            out.append({"name": name, "in": "cookie", "value": value})
        return out

    def body(self, request: Request, operation: _Operation, where: str) -> dict[str, Any] | None:
        if request.json is not None:
            kind, payload = "application/json", self.value(request.json, where)
        elif request.form is not None:
            kind, payload = "application/x-www-form-urlencoded", self.value(request.form, where)
        elif request.body is not None:
            kind, payload = "text/plain", self.value(request.body, where)
        else:
            if request.multipart or request.body_file:
                self.not_exported.append(f"{where}: a {'multipart' if request.multipart else 'file'} body")
            return None
        operation.body_type = kind
        replacements: list[dict[str, str]] = []
        payload = _lift_expressions(payload, "", replacements)
        out: dict[str, Any] = {"contentType": kind, "payload": payload}
        if replacements:
            out["replacements"] = replacements
        return out

    def criteria(self, expect: Expect, operation: _Operation, where: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if expect.status is not None:
            condition = _status_condition(expect.status)
            if condition is None:
                self.not_exported.append(f"{where}: status {expect.status.expected!r}")
            else:
                out.append({"condition": condition})
                operation.statuses |= {str(c) for c in expect.status.codes} | {f"{c}XX" for c in expect.status.classes}
        for expectation in expect.json:
            out += self.json_criteria(expectation, where)
        for named in expect.headers:
            for check in named.checks:
                if check.op == "matches" and isinstance(check.expected, str):
                    out.append(
                        {"context": f"$response.header.{named.name}", "condition": check.expected, "type": "regex"}
                    )
                elif check.op in _COMPARE and _is_literal(check.expected):
                    out.append(
                        {"condition": f"$response.header.{named.name} {_COMPARE[check.op]} {_literal(check.expected)}"}
                    )
                else:
                    self.not_exported.append(f"{where}: header {named.name} check `{check.op}`")
        for check in expect.text:
            if check.op == "matches" and isinstance(check.expected, str):
                out.append({"context": "$response.body", "condition": check.expected, "type": "regex"})
            else:
                self.not_exported.append(f"{where}: text check `{check.op}`")
        for kind in ("schema", "that", "time_ms", "bytes", "cookies", "css", "xpath"):
            if getattr(expect, kind):
                self.not_exported.append(f"{where}: expect.{kind}")
        return out

    def json_criteria(self, expectation: JsonExpectation, where: str) -> list[dict[str, Any]]:
        if expectation.path is None:
            self.not_exported.append(f"{where}: a templated JSONPath")
            return []
        text, out = expectation.path.text, []
        pointer = _pointer(text) if expectation.path.definite else None
        for check in expectation.checks:
            if check.op == "exists" and check.expected is True:
                out.append({"context": "$response.body", "condition": text, "type": "jsonpath"})
            elif pointer is not None and check.op in _COMPARE and _is_literal(check.expected):
                out.append({"condition": f"$response.body#{pointer} {_COMPARE[check.op]} {_literal(check.expected)}"})
            elif pointer is not None and check.op in _COMPARE and self._expression_of(check.expected):
                # Compared with a var, a secret or a capture: the runtime expression that holds it.
                right = self._expression_of(check.expected)
                out.append({"condition": f"$response.body#{pointer} {_COMPARE[check.op]} {right}"})
            else:
                self.not_exported.append(f"{where}: {text} `{_describe(check)}`")
        return out

    def _expression_of(self, value: Any) -> str | None:
        """The runtime expression a template that is one name stands for (`{{ cart_id }}`)."""
        whole = _EXPRESSION.fullmatch(value.source.strip()) if isinstance(value, Template) else None
        return self.expression(whole[1]) if whole else None

    def outputs(self, step: Step, sid: str, where: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for capture in step.captures:
            expr = None
            if capture.jsonpath is not None and capture.jsonpath.definite and not capture.all:
                pointer = _pointer(capture.jsonpath.text)
                expr = f"$response.body#{pointer}" if pointer is not None else None
            elif capture.header is not None:
                expr = f"$response.header.{capture.header}"
            if expr is None:
                self.not_exported.append(f"{where}: capture {capture.name}")
                self.captured_by.pop(capture.name, None)
                continue
            out[capture.name] = expr
            self.captured_by[capture.name] = sid
        return out

    def _openapi(self, operations: list[_Operation]) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for operation in operations:
            spec: dict[str, Any] = {"operationId": operation.operation_id}
            parameters: list[dict[str, Any]] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in operation.parameters
            ]
            parameters += [{"name": n, "in": "query", "schema": {}} for n in sorted(operation.query)]
            parameters += [{"name": n, "in": "header", "schema": {}} for n in sorted(operation.headers)
                           if n.lower() not in ("accept", "content-type", "authorization")]  # fmt: skip
            if parameters:
                spec["parameters"] = parameters
            if operation.body_type:
                spec["requestBody"] = {"content": {operation.body_type: {}}}
            statuses = sorted(operation.statuses) or ["default"]
            spec["responses"] = {s: {"description": "as the flow expects"} for s in statuses}
            paths.setdefault(operation.template, {})[operation.method.lower()] = spec
        servers = {o.server.url: o.server for o in operations}
        if len(servers) > 1:  # each operation says which server it is on
            for operation in operations:
                paths[operation.template][operation.method.lower()]["servers"] = [operation.server.openapi()]
        document: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": f"{self.flow.name}: the requests it sends", "version": "1.0.0"},
        }
        if servers:
            document["servers"] = [next(iter(servers.values())).openapi()]
        document["paths"] = paths
        return document


def identifier_of(expr: str) -> str:
    """A name for what an expression reads: `n` for `n | int`, `x` for `vars.x`, `X` for `secret('X')`."""
    names = re.findall(r"[A-Za-z_]\w*", expr.split("|", maxsplit=1)[0])
    return names[-1] if names else "value"


def _leading_var(text: str) -> str | None:
    found = re.match(r"\{\{-?\s*([A-Za-z_]\w*)\s*-?\}\}", text)
    return found[1] if found else None


def _param_name(expr: str, taken: dict[str, Any]) -> str:
    name = identifier_of(expr)
    base, n = name, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _json_type(value: Any) -> str:
    from runner.flowfile.schema_check import type_name

    name = type_name(value)
    return {"mapping": "object", "null": "string"}.get(name, name)


def _lift_expressions(value: Any, pointer: str, replacements: list[dict[str, str]]) -> Any:
    """A payload with its whole-value runtime expressions moved to `replacements` (so a number
    stays a number); expressions inside text (`{$inputs.x}`) stay where they are."""
    if isinstance(value, dict):
        return {k: _lift_expressions(v, f"{pointer}/{_escape(k)}", replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_lift_expressions(v, f"{pointer}/{i}", replacements) for i, v in enumerate(value)]
    if isinstance(value, str) and re.fullmatch(r"\$(inputs|steps)\.[\w.-]+", value) and pointer:
        replacements.append({"target": pointer, "value": value})
        return None
    return value


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _pointer(jsonpath: str) -> str | None:
    """A definite JSONPath (`$.data.items[0]['a b']`) as a JSON pointer, or None."""
    rest, out = jsonpath[1:], ""
    pattern = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
    while rest:
        found = pattern.match(rest)
        if not found:
            return None
        key = next(g for g in found.groups() if g is not None)
        out += "/" + _escape(key)
        rest = rest[found.end() :]
    return out


def _status_condition(status: StatusRule) -> str | None:
    if status.template is not None:
        return None
    parts = [f"$statusCode == {c}" for c in sorted(status.codes)]
    parts += [f"($statusCode >= {c}00 && $statusCode < {c + 1}00)" for c in sorted(status.classes)]
    if len(parts) == 1 and status.classes:
        return parts[0][1:-1]
    return " || ".join(parts) if parts else None


def _is_literal(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)


def _describe(check: Check) -> str:
    expected = check.expected.source if isinstance(check.expected, Template) else check.expected
    return f"{check.op}: {expected!r}"


def templates_names(value: Any) -> frozenset[str]:
    """The names the templates inside a compiled value read."""
    return frozenset(name for template in templates_in(value) for name in template.names)
