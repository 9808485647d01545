"""An Arazzo 1.0 document as a flow.

Each step names an operation: by `operationId` (looked up in the document's OpenAPI source
descriptions, files next to it: nothing is fetched), by `operationPath`
(`{$sourceDescriptions.api.url}#/paths/~1things~1{id}/get`, whose pointer gives the method and
path even without the file), or inline with `x-operation: {url, method}` (Redocly's extension).
The first server of a description becomes a `base` var.

Runtime expressions become templates and captures: `$inputs.x` a var (its schema's `default`,
else read from the environment; a secret when the input is `format: password` or `writeOnly`),
`$steps.s.outputs.y` the capture that step's output became, `{$expr}` inside text likewise.
`outputs` of `$response.body#/a/0/b`, `$response.header.X` and `$statusCode` become captures;
`successCriteria` on `$statusCode`, on `$response.body#/...`, `$response.header.X`, and JSONPath
or regex criteria become `expect`. A `retry` failure action becomes `retry`. A step that calls
another workflow has that workflow's steps in its place. What none of this covers is listed at
the top of the flow, never dropped silently.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import LoadError, UsageError
from runner.flowfile.source import Problem, SourceFile
from runner.flowfile.yaml_source import parse_yaml
from runner.share.flow_writer import (
    METHODS,
    NOT_LITERAL,
    FlowOut,
    StepOut,
    UniqueNames,
    base_name,
    identifier,
    listed,
    literal,
    literal_tree,
    literal_value,
    secret_name,
    secret_template,
)

MAX_CALL_DEPTH = 16  # a workflow calling a workflow...
# Inlining multiplies: ten workflows each calling the next twice is 1,024 copies of the last one.
MAX_STEPS = 10_000
_EMBEDDED = re.compile(r"\{(\$[^{}]+)\}")
_OPERATORS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_COMPARISON = re.compile(r"^\s*(\$[^\s=!<>]+)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")


@dataclass
class _Server:
    url: str  # https://api.x.com/stores/{store_hash}
    variables: dict[str, Any]  # server variable -> its default


@dataclass
class _Source:
    name: str
    base: _Server | None  # the description's first server
    operations: dict[str, tuple[str, str, _Server | None]]  # operationId -> (METHOD, /path/{x}, server)


@dataclass
class _State:
    """What the steps converted so far make available to later ones."""

    vars: dict[str, Any] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    outputs: dict[tuple[str, str], str] = field(default_factory=dict)  # (stepId, output) -> capture name
    captures: set[str] = field(default_factory=set)
    unconverted: list[str] = field(default_factory=list)
    from_env: list[str] = field(default_factory=list)
    http: dict[str, Any] = field(default_factory=dict)  # an entry workflow's parameters: the flow's `http`


def from_arazzo(text: str, path: str, workflow_id: str | None = None) -> FlowOut:
    """The flow of the document's workflow `workflow_id`, or of the workflows no other one calls."""
    doc, problems = parse_yaml(SourceFile(path, text))
    if problems:
        raise LoadError(problems)
    data = doc.data
    if not isinstance(data, dict) or not re.fullmatch(r"1\.0\.\d+(-.+)?", str(data.get("arazzo", ""))):
        where = doc.span(("arazzo",)) if isinstance(data, dict) and "arazzo" in data else doc.span(())
        raise LoadError([Problem(where, "not an Arazzo 1.0 document (`arazzo: 1.0.x`)", "apiflow imports Arazzo 1.0")])
    workflows = [w for w in data.get("workflows") or [] if isinstance(w, dict) and isinstance(w.get("steps"), list)]
    if not workflows:
        raise LoadError([Problem(doc.span(()), "an Arazzo document with no workflow that has steps")])
    state = _State()
    sources = _sources(data, Path(path), state)
    by_id = {str(w.get("workflowId")): w for w in workflows}
    called = {str(s.get("workflowId")) for w in workflows for s in w["steps"] if isinstance(s, dict)}
    entry = [w for w in workflows if str(w.get("workflowId")) not in called] or workflows[:1]
    if workflow_id is not None:
        if workflow_id not in by_id:
            known = ", ".join(sorted(by_id))
            raise UsageError(f"{path}: no workflow `{workflow_id}` (the document has: {known})")
        entry = [by_id[workflow_id]]
    elif len(entry) > 1:
        ids = ", ".join(str(w.get("workflowId")) for w in entry)
        state.unconverted.append(
            f"{len(entry)} workflows ({ids}) run one after another here; import one with --workflow ID"
        )
    converter = _Steps(state, sources, by_id, data.get("components") or {})
    steps: list[StepOut] = []
    for workflow in entry:
        inputs = converter.inputs(workflow)
        steps += converter.workflow(workflow, inputs, prefix=len(entry) > 1, depth=0)
        if workflow.get("outputs"):
            state.unconverted.append(f"workflow {workflow.get('workflowId')}: outputs (its captures hold them)")
    info: dict[str, Any] = data["info"] if isinstance(data.get("info"), dict) else {}
    notes: list[str] = []
    if state.from_env:
        read = ", ".join(state.from_env)
        notes.append(f"Inputs without a default, read from the environment (or --var NAME=VALUE): {read}")
    notes += listed("Not converted", state.unconverted)
    return FlowOut(str(info.get("title") or entry[0].get("workflowId") or "Arazzo workflow"), steps, state.vars,
                   state.secrets, notes, state.http)  # fmt: skip


def _sources(data: dict[str, Any], path: Path, state: _State) -> dict[str, _Source]:
    from runner.contracts.description import load_description

    out: dict[str, _Source] = {}
    for source in data.get("sourceDescriptions") or []:
        if not isinstance(source, dict) or source.get("type", "openapi") != "openapi":
            continue
        name, url = str(source.get("name", "")), str(source.get("url", ""))
        if urllib.parse.urlsplit(url).scheme in ("http", "https"):
            state.unconverted.append(f"source {name}: {url} is remote and not fetched; its operationIds are unknown")
            out[name] = _Source(name, None, {})
            continue
        description = load_description(path.parent / url, shown=str(path.parent / url))
        base = _first_server(description.data.get("servers"))
        paths = description.data.get("paths") or {}
        operations = {}
        for op in description.operations:
            if op.spec.get("operationId"):
                item = paths.get(op.template) if isinstance(paths, dict) else None
                item_servers = item.get("servers") if isinstance(item, dict) else None
                server = _first_server(op.spec.get("servers")) or _first_server(item_servers) or base
                operations[str(op.spec["operationId"])] = (op.method, op.template, server)
        out[name] = _Source(name, base, operations)
    return out


class _Steps:
    def __init__(self, state: _State, sources: dict[str, _Source], workflows: dict[str, Any], components: Any) -> None:
        self.state = state
        self.sources = sources
        self.workflows = workflows
        self.components = components if isinstance(components, dict) else {}
        self.bases: dict[str, str] = {}  # server URL -> var
        self.visited = 0  # steps met so far, inlined calls included
        self.names = UniqueNames()

    def inputs(self, workflow: dict[str, Any], bound: frozenset[str] = frozenset()) -> dict[str, str]:
        """`$inputs.x` of a workflow -> the var's template; the var is declared here (unless a
        calling step binds it, or a var of that name is declared already)."""
        schema = workflow.get("inputs")
        schema = self._reference(schema)
        properties = schema.get("properties") if isinstance(schema, dict) else None
        out: dict[str, str] = {}
        for name, raw in (properties if isinstance(properties, dict) else {}).items():
            ident = identifier(str(name))
            if name in bound or ident in self.state.vars:
                out[str(name)] = "{{ " + ident + " }}"
                continue
            spec = raw if isinstance(raw, dict) else {}
            hidden = spec.get("format") == "password" or spec.get("writeOnly")
            if hidden or re.search(r"password|secret|token", name, re.I):
                self.state.secrets.add(secret_name(name))
                self.state.vars[ident] = secret_template(secret_name(name))
            elif "default" in spec:
                self.state.vars[ident] = spec["default"]
            else:
                self.state.from_env.append(ident)
                self.state.vars[ident] = "{{ env." + ident + " }}"
            out[str(name)] = "{{ " + ident + " }}"
        return out

    def _reference(self, value: Any) -> Any:
        """`{$ref: '#/components/inputs/x'}` within the document, followed once."""
        if isinstance(value, dict) and isinstance(value.get("$ref"), str):
            parts = value["$ref"].lstrip("#/").split("/")
            found: Any = {"components": self.components}
            for part in parts:
                found = found.get(part) if isinstance(found, dict) else None
            return found if isinstance(found, dict) else {}
        return value

    def workflow(self, workflow: dict[str, Any], inputs: dict[str, str], *, prefix: bool, depth: int) -> list[StepOut]:
        if depth > MAX_CALL_DEPTH:
            raise UsageError(f"workflows call each other more than {MAX_CALL_DEPTH} deep")
        wid = str(workflow.get("workflowId", ""))
        out: list[StepOut] = []
        for step in workflow["steps"]:
            if not isinstance(step, dict):
                continue
            self.visited += 1
            if self.visited > MAX_STEPS:
                hint = "workflows that call workflows are inlined; import the ones you need separately"
                raise UsageError(f"the document makes more than {MAX_STEPS:,} steps ({hint})")
            sid = str(step.get("stepId", f"step{len(out) + 1}"))
            if step.get("workflowId"):
                out += self.call(step, inputs, depth)
                continue
            converted = self.step(step, sid, inputs)
            if converted is not None:
                if prefix:
                    converted.data["name"] = f"{wid} / {converted.data['name']}"
                out.append(converted)
        for kind in ("successActions", "failureActions"):
            if workflow.get(kind):
                self.state.unconverted.append(f"workflow {wid}: {kind}")
        self.shared(workflow, inputs, out, entry=depth == 0)
        return out

    def shared(self, workflow: dict[str, Any], inputs: dict[str, str], steps: list[StepOut], *, entry: bool) -> None:
        """A workflow's parameters, applicable to all its steps: the flow's `http` headers and
        params for the workflow imported; each step's own (unless it sets them) for one inlined."""
        where = f"workflow {workflow.get('workflowId')}"
        for raw in workflow.get("parameters") or []:
            param = self._parameter(raw)
            place = param.get("in") if param else None
            if param is None or place not in ("header", "query"):
                self.state.unconverted.append(f"{where}: a parameter {json.dumps(raw)}")
                continue
            key, value = ("headers", "params")[place == "query"], self.template(param.get("value"), inputs, where)
            value = str(value) if key == "headers" else value
            if entry:
                self.state.http.setdefault(key, {})[str(param["name"])] = value
                continue
            for step in steps:
                step.data["request"].setdefault(key, {}).setdefault(str(param["name"]), value)

    def call(self, step: dict[str, Any], inputs: dict[str, str], depth: int) -> list[StepOut]:
        target = self.workflows.get(str(step["workflowId"]))
        if target is None:
            self.state.unconverted.append(f"step {step.get('stepId')}: workflow {step['workflowId']} is not here")
            return []
        bound = {
            str(p.get("name")): self.template(p.get("value"), inputs, f"step {step.get('stepId')}")
            for p in step.get("parameters") or []
            if isinstance(p, dict) and "name" in p
        }
        own = self.inputs(target, frozenset(bound))
        steps = self.workflow(target, own | {k: str(v) for k, v in bound.items()}, prefix=False, depth=depth + 1)
        self.call_outputs(step, target)
        return steps

    def call_outputs(self, step: dict[str, Any], target: dict[str, Any]) -> None:
        """The outputs of a step that ran a workflow (`$workflows.w.outputs.x`): the captures the
        inlined steps made, under the names later steps ask for (`$steps.<this>.outputs.y`)."""
        sid, declared = str(step.get("stepId")), target.get("outputs")
        outputs = step.get("outputs")
        for name, expr in (outputs if isinstance(outputs, dict) else {}).items():
            wanted = re.fullmatch(r"\$workflows\.[\w.-]+\.outputs\.([\w.-]+)|\$outputs\.([\w.-]+)", str(expr))
            inner = declared.get(wanted[1] or wanted[2]) if wanted and isinstance(declared, dict) else None
            found = re.fullmatch(r"\$steps\.([\w.-]+)\.outputs\.([\w.-]+)", str(inner)) if inner else None
            if found and (found[1], found[2]) in self.state.outputs:
                self.state.outputs[(sid, str(name))] = self.state.outputs[(found[1], found[2])]
            else:
                self.state.unconverted.append(f"step {sid}: output {name}: {expr}")

    def operation(self, step: dict[str, Any], where: str) -> tuple[str, str, str] | None:
        """(METHOD, path template, base var) of the step's operation, or None (listed)."""
        inline = step.get("x-operation")
        if isinstance(inline, dict) and isinstance(inline.get("url"), str) and isinstance(inline.get("method"), str):
            # An operation written in the step (Redocly's `x-operation`): no description needed.
            url = urllib.parse.urlsplit(inline["url"])
            if url.scheme in ("http", "https") and url.netloc:
                tail = urllib.parse.urlunsplit(("", "", url.path or "/", url.query, ""))
                return inline["method"].upper(), tail, self.base(_Server(f"{url.scheme}://{url.netloc}", {}))
            self.state.unconverted.append(f"{where}: x-operation url {inline['url'][:80]} (not an http(s) URL)")
            return None
        if step.get("operationPath"):
            source_part, _, pointer = str(step["operationPath"]).partition("#")
            parts = [urllib.parse.unquote(p).replace("~1", "/").replace("~0", "~") for p in pointer.split("/")]
            if len(parts) == 4 and parts[1] == "paths":
                name = re.search(r"sourceDescriptions\.([\w-]+)", source_part)
                source = self.sources.get(name[1]) if name else next(iter(self.sources.values()), None)
                return parts[3].upper(), parts[2], self.base(source.base if source else None)
            self.state.unconverted.append(f"{where}: operationPath {step['operationPath']} (not #/paths/PATH/METHOD)")
            return None
        op_id = str(step.get("operationId", ""))
        # `$sourceDescriptions.api.logIn`, or the short `api.logIn` some tools write.
        named = re.fullmatch(r"(?:\$sourceDescriptions\.)?([\w-]+)\.(.+)", op_id)
        named = named if named and named[1] in self.sources else None
        candidates = [self.sources[named[1]]] if named and named[1] in self.sources else list(self.sources.values())
        op_id = named[2] if named else op_id
        for source in candidates:
            if op_id in source.operations:
                method, template, server = source.operations[op_id]
                return method, template, self.base(server)
        self.state.unconverted.append(f"{where}: operationId {op_id} is in no source description read")
        return None

    def base(self, server: _Server | None) -> str:
        """The var holding a server's URL (`base`, `base2`...); its `{variables}` become vars too."""
        url = server.url if server else ""
        var = self.bases.get(url)
        if var is not None:
            return var
        var = base_name(len(self.bases))
        self.bases[url] = var
        if not url:
            self.state.from_env.append(var)
            self.state.vars[var] = "{{ env." + var + " }}"
            return var
        for name, default in (server.variables if server else {}).items():
            ident = identifier(name)
            if ident in self.state.vars:
                continue
            if default not in (None, ""):
                self.state.vars[ident] = default
            else:
                self.state.from_env.append(ident)
                self.state.vars[ident] = "{{ env." + ident + " }}"
        pieces = re.split(r"\{([^{}]+)\}", url.rstrip("/"))  # text, variable, text, ...
        self.state.vars[var] = "".join(
            literal(piece) if i % 2 == 0 else "{{ " + identifier(piece) + " }}" for i, piece in enumerate(pieces)
        )
        return var

    def step(self, step: dict[str, Any], sid: str, inputs: dict[str, str]) -> StepOut | None:
        where = f"step {sid}"
        found = self.operation(step, where)
        if found is None:
            return None
        method, template, base = found
        if method not in METHODS:
            self.state.unconverted.append(f"{where}: method {method[:40]} (a flow sends {', '.join(METHODS)})")
            return None
        request: dict[str, Any] = {"method": method} if method != "GET" else {}
        request["url"] = ""
        path_values = self.parameters(step, inputs, where, request)
        for name in re.findall(r"\{([^{}]+)\}", template):
            if name not in path_values:
                self.state.unconverted.append(f"{where}: path parameter {name} has no value: var {identifier(name)}")
                self.state.vars.setdefault(identifier(name), "{{ env." + identifier(name) + " }}")
                path_values[name] = "{{ " + identifier(name) + " }}"
        pieces = re.split(r"\{([^{}]+)\}", template)  # text, parameter, text, ...
        path = "".join(literal(p) if i % 2 == 0 else str(path_values[p]) for i, p in enumerate(pieces))
        request["url"] = "{{ " + base + " }}" + path
        self.body(step.get("requestBody"), request, inputs, where)
        title = str(step.get("description") or sid).strip().splitlines() or [sid]
        out: dict[str, Any] = {"name": self.names(title[0]), "request": request, "expect": {}}
        for criterion in step.get("successCriteria") or []:
            if not self.criterion(criterion, out["expect"], inputs):
                self.state.unconverted.append(f"{where}: successCriteria {json.dumps(criterion)}")
        out["expect"].setdefault("status", "2xx")
        self.outputs(step, sid, out)
        for action in step.get("onFailure") or []:
            if isinstance(action, dict) and action.get("type") == "retry" and not action.get("criteria"):
                delay = action.get("retryAfter", 1)
                out["retry"] = {"attempts": int(action.get("retryLimit", 1) or 1) + 1, "delay": delay}
            else:
                self.state.unconverted.append(f"{where}: onFailure {json.dumps(action)}")
        for action in step.get("onSuccess") or []:
            self.state.unconverted.append(f"{where}: onSuccess {json.dumps(action)}")
        return StepOut(out, [f"Arazzo step {sid}"])

    def parameters(
        self, step: dict[str, Any], inputs: dict[str, str], where: str, request: dict[str, Any]
    ) -> dict[str, Any]:
        """Query, header and cookie parameters into `request`; path parameters returned by name."""
        path_values: dict[str, Any] = {}
        for raw in step.get("parameters") or []:
            param = self._parameter(raw)
            if param is None:
                self.state.unconverted.append(f"{where}: a parameter {json.dumps(raw)}")
                continue
            value = self.template(param.get("value"), inputs, where)
            place, name = param.get("in", "query"), str(param["name"])
            if place == "path":
                path_values[name] = value
            elif place == "header":
                request.setdefault("headers", {})[name] = str(value)
            elif place == "cookie":
                request.setdefault("cookies", {})[name] = value
            else:
                request.setdefault("params", {})[name] = value
        return path_values

    def outputs(self, step: dict[str, Any], sid: str, out: dict[str, Any]) -> None:
        outputs = step.get("outputs")
        for name, expr in (outputs if isinstance(outputs, dict) else {}).items():
            capture = self.capture(str(expr))
            if capture is None:
                self.state.unconverted.append(f"step {sid}: output {name}: {expr}")
                continue
            ident = identifier(str(name))
            if ident in self.state.captures or ident in self.state.vars:
                ident = identifier(f"{sid}_{name}")
            self.state.captures.add(ident)
            self.state.outputs[(sid, str(name))] = ident
            out.setdefault("capture", {})[ident] = capture

    def _parameter(self, raw: Any) -> dict[str, Any] | None:
        if isinstance(raw, dict) and "reference" in raw:
            name = re.fullmatch(r"\$components\.parameters\.([\w.-]+)", str(raw["reference"]))
            found = (self.components.get("parameters") or {}).get(name[1]) if name else None
            if not isinstance(found, dict):
                return None
            return {**found, **({"value": raw["value"]} if "value" in raw else {})}
        return raw if isinstance(raw, dict) and "name" in raw and "value" in raw else None

    def body(self, body: Any, request: dict[str, Any], inputs: dict[str, str], where: str) -> None:
        if not isinstance(body, dict) or "payload" not in body:
            return
        payload = body["payload"]
        content_type = str(body.get("contentType", "application/json"))
        for replacement in body.get("replacements") or []:
            target = str(replacement.get("target", "")) if isinstance(replacement, dict) else ""
            if not _set_pointer(payload, target, replacement.get("value") if target else None):
                self.state.unconverted.append(f"{where}: replacement at {replacement.get('target')}")
        value = self.template(payload, inputs, where)
        if "json" in content_type and isinstance(value, (dict, list)):
            request["json"] = value
        elif "x-www-form-urlencoded" in content_type and isinstance(value, dict):
            request["form"] = value
        else:
            request["body"] = value if isinstance(value, str) else json.dumps(value)
            request.setdefault("headers", {})["Content-Type"] = content_type

    def template(self, value: Any, inputs: dict[str, str], where: str) -> Any:
        """A value with runtime expressions, as a flow template (a tree stays a tree)."""
        if isinstance(value, dict):
            return {str(k): self.template(v, inputs, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self.template(v, inputs, where) for v in value]
        if not isinstance(value, str):
            return value
        if value.startswith("$") and not _EMBEDDED.search(value):
            return self.expression(value, inputs, where) or literal(value)
        return _EMBEDDED.sub(lambda m: self.expression(m[1], inputs, where) or literal(m[0]), literal(value))

    def expression(self, expr: str, inputs: dict[str, str], where: str) -> str | None:
        expr = expr.strip()
        found = re.fullmatch(r"\$inputs\.([\w.-]+)", expr)
        if found and found[1] in inputs:
            return inputs[found[1]]
        found = re.fullmatch(r"\$steps\.([\w.-]+)\.outputs\.([\w.-]+)", expr)
        if found and (found[1], found[2]) in self.state.outputs:
            return "{{ " + self.state.outputs[(found[1], found[2])] + " }}"
        self.state.unconverted.append(f"{where}: runtime expression {expr}")
        return None

    def capture(self, expr: str) -> Any:
        body = re.fullmatch(r"\$response\.body(?:#(.*))?", expr)
        if body:
            return _jsonpath(body[1] or "")
        header = re.fullmatch(r"\$response\.header\.([\w-]+)", expr)
        if header:
            return {"header": header[1]}
        if expr == "$statusCode":
            return {"value": "{{ response.status }}"}
        return None

    def criterion(self, criterion: Any, expect: dict[str, Any], inputs: dict[str, str]) -> bool:
        if not isinstance(criterion, dict) or not isinstance(criterion.get("condition"), str):
            return False
        condition, context, kind = criterion["condition"], criterion.get("context"), criterion.get("type", "simple")
        if isinstance(kind, dict):
            kind = kind.get("type")
        if kind == "simple":
            return self.simple(condition, expect, inputs)
        if kind == "jsonpath" and context == "$response.body":
            from runner.flowfile.jsonpaths import JsonPathSyntaxError, compile_jsonpath

            try:
                compile_jsonpath(condition)
            except JsonPathSyntaxError:
                return False
            expect.setdefault("json", {})[literal(condition)] = {"exists": True}
            return True
        if kind == "regex" and context == "$response.body":
            expect.setdefault("text", {})["matches"] = literal(condition)
            return True
        if kind == "regex" and isinstance(context, str) and context.startswith("$response.header."):
            expect.setdefault("headers", {})[context.rpartition(".")[2]] = {"matches": literal(condition)}
            return True
        return False

    def simple(self, condition: str, expect: dict[str, Any], inputs: dict[str, str]) -> bool:
        codes = re.findall(r"\$statusCode\s*==\s*(\d{3})", condition)
        if codes and re.fullmatch(r"\s*\$statusCode\s*==\s*\d{3}(\s*\|\|\s*\$statusCode\s*==\s*\d{3})*\s*", condition):
            expect["status"] = int(codes[0]) if len(codes) == 1 else [int(c) for c in codes]
            return True
        span = re.fullmatch(r"\s*\$statusCode\s*>=\s*([1-5])00\s*&&\s*\$statusCode\s*<\s*([1-6])00\s*", condition)
        if span and int(span[2]) == int(span[1]) + 1:
            expect["status"] = f"{span[1]}xx"
            return True
        found = _COMPARISON.match(condition)
        if not found:
            return False
        left, op, right = found[1], _OPERATORS[found[2]], literal_tree(literal_value(found[3]))
        if right is NOT_LITERAL and re.fullmatch(r"\$(?:inputs|steps)\.[\w.-]+", found[3]):
            # Compared with an input or an earlier step's output: a template, rendered per run.
            right = self.expression(found[3], inputs, "a criterion") or NOT_LITERAL
        if right is NOT_LITERAL:
            return False
        body = re.fullmatch(r"\$response\.body(?:#(.*))?", left)
        header = re.fullmatch(r"\$response\.header\.([\w-]+)", left)
        if body:
            expect.setdefault("json", {})[literal(_jsonpath(body[1] or ""))] = right if op == "eq" else {op: right}
        elif header:
            expect.setdefault("headers", {})[header[1]] = right if op == "eq" else {op: right}
        elif left == "$statusCode" and op != "eq":
            expect["status"] = "2xx" if (op, right) in (("lt", 300), ("le", 299)) else expect.get("status", "2xx")
            return (op, right) in (("lt", 300), ("le", 299))
        else:
            return False
        return True


def _first_server(servers: Any) -> _Server | None:
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return None
    variables = servers[0].get("variables")
    defaults = {
        str(k): v.get("default")
        for k, v in (variables if isinstance(variables, dict) else {}).items()
        if isinstance(v, dict)
    }
    return _Server(str(servers[0].get("url", "")), defaults)


def _jsonpath(pointer: str) -> str:
    """A JSON pointer (`/data/items/0/id`) as JSONPath (`$.data.items[0].id`)."""
    path = "$"
    for raw in pointer.split("/")[1:] if pointer else []:
        part = urllib.parse.unquote(raw).replace("~1", "/").replace("~0", "~")
        if part.isdigit():
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_]\w*", part):
            path += f".{part}"
        else:
            path += "['" + part.replace("'", "\\'") + "']"
    return path


def _set_pointer(data: Any, pointer: str, value: Any) -> bool:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts or not pointer.startswith("/"):
        return False
    target = data
    for part in parts[:-1]:
        if isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        elif isinstance(target, dict) and part in target:
            target = target[part]
        else:
            return False
    last = parts[-1]
    if isinstance(target, list) and last.isdigit() and int(last) < len(target):
        target[int(last)] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        return False
    return True
