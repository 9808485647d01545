"""A Postman collection (v2.1, and v2.0's object-shaped auth) as one flow.

Decided: the whole collection is one flow, in Postman's run order, because that is how Postman's
collection runner runs it: variables a request's script sets are read by requests in later
folders. Folders name the steps (`Orders / Create order`). `{{var}}` becomes `{{ var }}`: a
collection variable becomes a flow var; one the collection never defines (a Postman environment's)
becomes `{{ env.NAME }}` (set it, or pass --var); a credential (used in `Authorization`,
`X-Api-Key`..., an auth block, or named like a token or password) becomes `secret('NAME')`.
Dynamic variables (`{{$guid}}`...) map to apiflow's helpers where one exists.

Scripts are not run. The common lines of a test script are translated: a status check becomes
`expect.status`; `pm.expect(json.a.b)` with chai's eql, not.eql, a/an, above/below/least/most,
lengthOf, include, exist, true/false/null an `expect.json` check; a header, the response time and
the text likewise; `pm.environment.set("x", json.a.b)` (or a header) a capture. Every other line, and every
pre-request script, is written as a comment above its step.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from runner.errors import UsageError
from runner.share.flow_writer import (
    METHODS,
    NOT_LITERAL,
    SECRET_HEADERS,
    FlowOut,
    StepOut,
    UniqueNames,
    base_name,
    identifier,
    listed,
    literal,
    literal_tree,
    literal_value,
    secret_fields,
    secret_name,
    secret_template,
)

MAX_DEPTH = 64  # folders in folders
_VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_SECRET_LOOKING = re.compile(r"token|secret|password|passwd|api[-_]?key|apikey|credential|auth", re.I)
DYNAMIC = {
    "$guid": "uuid()", "$randomUUID": "uuid()", "$randomInt": "random_int(0, 1000)",
    "$isoTimestamp": "now()", "$randomEmail": "fake.email()", "$randomExampleEmail": "fake.email()",
    "$randomFullName": "fake.name()", "$randomPhoneNumber": "fake.phone()",
    "$randomStreetAddress": "fake.address()",
}  # fmt: skip


@dataclass
class _Vars:
    """What the collection's `{{var}}`s turn into, learned while the requests are converted."""

    defined: dict[str, Any]  # collection variables: name -> value as Postman holds it
    captured: dict[str, int] = field(default_factory=dict)  # set by a test script: name -> its step's index
    first_use: dict[str, int] = field(default_factory=dict)  # name -> index of the first step reading it
    current: int = 0  # the index of the step being converted
    used: dict[str, str] = field(default_factory=dict)  # Postman name -> identifier
    as_secret: set[str] = field(default_factory=set)  # Postman names used as credentials
    unconverted: list[str] = field(default_factory=list)  # dynamic variables with no helper

    def template(self, text: str, *, credential: bool = False) -> str:
        """Postman text with `{{var}}`s as a flow template (the rest kept literally)."""
        out, last = [], 0
        for match in _VARIABLE.finditer(text):
            out.append(literal(text[last : match.start()]))
            out.append("{{ " + self.expression(match[1], credential=credential) + " }}")
            last = match.end()
        out.append(literal(text[last:]))
        return "".join(out)

    def expression(self, name: str, *, credential: bool = False) -> str:
        if name.startswith("$"):
            if name in DYNAMIC:
                return DYNAMIC[name]
            self.unconverted.append(name)
            name = name[1:]
        ident = self.used.setdefault(name, identifier(name))
        self.first_use.setdefault(name, self.current)
        if credential:
            self.as_secret.add(name)
        return ident

    def name_of(self, name: str) -> str:
        """The identifier for a Postman name, without counting it as read (a capture sets it)."""
        return self.used.setdefault(name, identifier(name))

    def flow_vars(self) -> tuple[dict[str, Any], set[str], list[str]]:
        """The flow's `vars`, the secrets to set, and the environment variables to set."""
        out: dict[str, Any] = {}
        secrets: set[str] = set()
        from_env: list[str] = []
        # Values may refer to other variables: convert them first, so those are declared too.
        for name in list(self.defined):
            if name in self.used or _VARIABLE.search(str(self.defined[name])):
                self.defined[name] = self.template(str(self.defined[name])) if self.defined[name] is not None else None
        for name, ident in self.used.items():
            if name in self.captured and self.first_use.get(name, self.current) > self.captured[name]:
                continue  # a script sets it before any request reads it: a capture, not a var to set
            secret = name in self.as_secret or bool(_SECRET_LOOKING.search(name))
            if secret:
                secrets.add(secret_name(name))
                out[ident] = secret_template(secret_name(name))
            elif name in self.defined:  # Postman sends an empty one as it is
                out[ident] = _typed(self.defined[name]) if self.defined[name] is not None else ""
            else:
                from_env.append(ident)
                out[ident] = "{{ env." + ident + " }}"
        return out, secrets, from_env


def _typed(value: Any) -> Any:
    """Postman variables are text, substituted as text: `{"price": {{price}}}` sends a number.
    A var holding `3` stays a number when a template is exactly `{{ price }}`; "007" stays text."""
    if isinstance(value, str):
        if re.fullmatch(r"-?(?:0|[1-9]\d{0,15})", value):
            return int(value)
        if value in ("true", "false"):
            return value == "true"
    return value


def from_postman(data: dict[str, Any], path: str) -> FlowOut:
    items = data.get("item")
    if not isinstance(items, list):
        raise UsageError(f"{path}: a Postman collection without an `item` list")
    defined = {
        str(v["key"]): v.get("value")
        for v in data.get("variable") or []
        if isinstance(v, dict) and "key" in v and not v.get("disabled")
    }
    converter = _Converter(_Vars(defined), path)
    converter.walk(items, [], data.get("auth"), 0)
    info = data["info"]  # a mapping: that is how the importer recognised a collection
    for event in _events(data):
        converter.notes.append(f"Collection {event[0]} script, not run:\n" + event[1])
    flow_vars, secrets, from_env = converter.vars.flow_vars()
    notes = []
    if from_env:
        notes.append("Variables the collection does not define (a Postman environment's): set them in the")
        notes.append("environment or with --var NAME=VALUE: " + ", ".join(from_env))
    notes += listed("Not converted (left as they are, or as comments above their steps)", converter.unconverted())
    notes += listed("Files the requests send, to put next to this flow (paths are relative to it)",
                    sorted(set(converter.files)))  # fmt: skip
    notes += converter.notes
    name = str(info.get("name") or "Postman collection")
    return FlowOut(name, converter.steps, flow_vars, secrets | converter.secrets, notes)


def _events(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(listen, script text) of an item's events: `test` and `prerequest`."""
    out = []
    for event in item.get("event") or []:
        if not isinstance(event, dict) or not isinstance(event.get("script"), dict):
            continue
        lines = event["script"].get("exec") or []
        text = "\n".join(str(line) for line in lines) if isinstance(lines, list) else str(lines)
        if text.strip():
            out.append((str(event.get("listen", "test")), text))
    return out


class _Converter:
    def __init__(self, variables: _Vars, path: str) -> None:
        self.vars = variables
        self.path = path
        self.steps: list[StepOut] = []
        self.notes: list[str] = []
        self.secrets: set[str] = set()
        self.skipped: list[str] = []
        self.names = UniqueNames()
        self.origins: dict[str, str] = {}
        self.files: list[str] = []  # files the requests send: the flow finds them next to itself

    def unconverted(self) -> list[str]:
        dynamic = sorted(set(self.vars.unconverted))
        return self.skipped + [f"dynamic variable {{{{{d}}}}}: no apiflow helper; a var to set" for d in dynamic]

    def walk(self, items: list[Any], folders: list[str], auth: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise UsageError(f"{self.path}: folders nest more than {MAX_DEPTH} deep")
        for item in items:
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or "request")
            inherited = item.get("auth", auth) if item.get("auth", {}) not in (None, {"type": "inherit"}) else auth
            if isinstance(item.get("item"), list):
                for listen, script in _events(item):
                    self.notes.append(f"Folder {' / '.join([*folders, name])}: {listen} script, not run:\n{script}")
                self.walk(item["item"], [*folders, name], inherited, depth + 1)
            elif "request" in item:
                self.step(item, " / ".join([*folders, name]), inherited)

    def step(self, item: dict[str, Any], name: str, auth: Any) -> None:
        self.vars.current = len(self.steps)
        raw = item["request"]
        request_data: dict[str, Any] = {"url": raw} if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
        method = str(request_data.get("method") or "GET").upper()
        if method not in METHODS:
            self.skipped.append(f"{name}: method {method[:40]} (a flow sends {', '.join(METHODS)})")
            return
        url = self.url(request_data.get("url"))
        if url is None:
            self.skipped.append(f"{name}: no URL")
            return
        request: dict[str, Any] = {}
        if method != "GET":
            request["method"] = method
        request["url"] = url
        headers = self.headers(request_data.get("header"))
        auth_out = self.auth(request_data.get("auth", auth), name, headers, request)
        if headers:
            request["headers"] = headers
        if auth_out:
            request["auth"] = auth_out
        self.body(request_data.get("body"), request, name)
        step: dict[str, Any] = {"name": self.names(name), "request": request, "expect": {"status": "2xx"}}
        comments: list[str] = []
        for listen, script in _events(item):
            if listen == "test":
                left = _translate(script, step, self.vars)
                if left:
                    comments.append("Postman test script lines not converted (not run):\n" + left)
            else:
                comments.append(f"Postman {listen} script (not run):\n{script}")
        self.steps.append(StepOut(step, comments))

    def url(self, url: Any) -> str | None:
        if isinstance(url, dict):
            text = url.get("raw")
            if not isinstance(text, str):
                host = url.get("host") or []
                host_text = ".".join(host) if isinstance(host, list) else str(host)
                path_parts = url.get("path") or []
                path_text = "/".join(str(p) for p in path_parts) if isinstance(path_parts, list) else str(path_parts)
                text = f"{url.get('protocol', 'https')}://{host_text}/{path_text}" if host_text else None
            variables = {
                str(v.get("key")): str(v.get("value", ""))
                for v in url.get("variable") or []
                if isinstance(v, dict) and v.get("key")
            }
        else:
            text, variables = (url if isinstance(url, str) else None), {}
        if not text:
            return None
        # Path variables (`/things/:id`) take their value from the URL's `variable` list.
        text = re.sub(r"(?<=/):(\w+)", lambda m: variables.get(m[1], m[0]), text)
        parts = urllib.parse.urlsplit(text)
        if parts.scheme in ("http", "https") and parts.netloc and "{{" not in parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            var = self.origins.setdefault(origin, base_name(len(self.origins)))
            self.vars.defined.setdefault(var, origin)
            text = "{{" + var + "}}" + text[len(origin) :]
        return self.vars.template(text)

    def headers(self, headers: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for header in headers if isinstance(headers, list) else []:
            if not isinstance(header, dict) or header.get("disabled") or not header.get("key"):
                continue
            key, value = str(header["key"]), str(header.get("value", ""))
            credential = key.lower() in SECRET_HEADERS
            if credential and not _VARIABLE.search(value):
                self.secrets.add(secret_name(key))
                out[key] = secret_template(secret_name(key))
            else:
                out[key] = self.vars.template(value, credential=credential)
        return out

    def auth(self, auth: Any, name: str, headers: dict[str, str], request: dict[str, Any]) -> dict[str, Any] | None:
        if not isinstance(auth, dict) or auth.get("type") in (None, "noauth", "inherit"):
            return None
        kind = str(auth["type"])
        fields = _auth_fields(auth.get(kind))
        if kind == "bearer":
            return {"bearer": self.credential(fields.get("token", ""), "TOKEN")}
        if kind in ("basic", "digest"):
            return {
                kind: {
                    "username": self.vars.template(fields.get("username", "")),
                    "password": self.credential(fields.get("password", ""), "PASSWORD"),
                }
            }
        if kind == "apikey":
            key = fields.get("key") or "X-Api-Key"
            value = self.credential(fields.get("value", ""), secret_name(key))
            if fields.get("in") == "query":
                request.setdefault("params", {})[key] = value
            else:
                headers[key] = value
            return None
        self.skipped.append(f"{name}: {kind} auth (set its header yourself)")
        return None

    def credential(self, value: str, fallback: str) -> str:
        """A credential's value: its `{{var}}` made a secret, or a literal replaced by `secret()`."""
        if _VARIABLE.search(value):
            return self.vars.template(value, credential=True)
        self.secrets.add(fallback)
        return secret_template(fallback)

    def body(self, body: Any, request: dict[str, Any], name: str) -> None:
        if not isinstance(body, dict) or body.get("disabled"):
            return
        mode = body.get("mode")
        if mode == "raw" and isinstance(body.get("raw"), str) and body["raw"]:
            language = ((body.get("options") or {}).get("raw") or {}).get("language")
            tree = _json_with_variables(body["raw"], self.vars) if language in (None, "json") else None
            if tree is not None:
                request["json"] = secret_fields(tree, self.secrets)
            else:
                request["body"] = self.vars.template(body["raw"])
        elif mode in ("urlencoded", "formdata"):
            fields: dict[str, Any] = {}
            for entry in body.get(mode) or []:
                if not isinstance(entry, dict) or entry.get("disabled") or not entry.get("key"):
                    continue
                if entry.get("type") == "file":
                    src = entry.get("src")
                    path = str(src[0]) if isinstance(src, list) and src else str(src or "")
                    fields[str(entry["key"])] = {"file": path}
                    self.files.append(path)
                else:
                    fields[str(entry["key"])] = self.vars.template(str(entry.get("value", "")))
            if fields:
                request["form" if mode == "urlencoded" else "multipart"] = secret_fields(fields, self.secrets)
        elif mode == "graphql" and isinstance(body.get("graphql"), dict):
            graphql = body["graphql"]
            out: dict[str, Any] = {"query": self.vars.template(str(graphql.get("query", "")))}
            variables = _json_with_variables(str(graphql.get("variables") or ""), self.vars)
            if variables:
                out["variables"] = variables
            request["graphql"] = out
        elif mode == "file" and isinstance(body.get("file"), dict) and body["file"].get("src"):
            request["body"] = {"file": str(body["file"]["src"])}
            self.files.append(str(body["file"]["src"]))
        elif mode:
            self.skipped.append(f"{name}: a {mode} body")


def _auth_fields(fields: Any) -> dict[str, str]:
    """v2.1 keeps auth fields as [{key, value}], v2.0 as a mapping."""
    if isinstance(fields, list):
        return {str(f.get("key")): str(f.get("value", "")) for f in fields if isinstance(f, dict)}
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}


def _json_with_variables(text: str, variables: _Vars) -> Any:
    """Raw JSON that may hold `{{var}}` anywhere, even unquoted (`{"id": {{id}}}`), as a tree of
    templates; None when it is not JSON. A bare `{{id}}` becomes `"{{ id }}"`, which keeps its
    native type when rendered."""
    names: list[str] = []
    out, inside, escaped = [], False, False
    last = 0
    for match in _VARIABLE.finditer(text):
        # Whether the variable stands inside a JSON string: count the unescaped quotes before it.
        for char in text[last : match.start()]:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = not inside
        out.append(text[last : match.start()])
        names.append(match[1])
        marker = f"@@apiflow{len(names) - 1}@@"  # printable: JSON refuses control characters
        out.append(marker if inside else f'"{marker}!"')
        last = match.end()
    out.append(text[last:])
    try:
        tree = json.loads("".join(out))
    except (ValueError, RecursionError):
        return None

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, str):
            whole = re.fullmatch(r"@@apiflow(\d+)@@!", value)
            if whole:
                return "{{ " + variables.expression(names[int(whole[1])]) + " }}"
            parts = re.split(r"@@apiflow(\d+)@@", value)
            return "".join(
                literal(p) if i % 2 == 0 else "{{ " + variables.expression(names[int(p)]) + " }}"
                for i, p in enumerate(parts)
            )
        return value

    return convert(tree)


_ACCESSOR = r"((?:\.\w+|\[\d+\]|\[\s*['\"][^'\"]+['\"]\s*\])*)"
_JSON_SOURCES = r"(?:pm\.response\.json\(\)|JSON\.parse\(responseBody\))"
_SETTERS = (
    r"(?:pm\.(?:environment|collectionVariables|globals|variables)\.set"
    r"|postman\.set(?:Environment|Global)Variable)"
)


def _translate(script: str, step: dict[str, Any], variables: _Vars) -> str:
    """Translate the lines of a test script apiflow can express; the rest, as text."""
    aliases = set(re.findall(r"(?:var|let|const)\s+(\w+)\s*=\s*" + _JSON_SOURCES, script))
    source = "(?:" + "|".join([_JSON_SOURCES, *map(re.escape, aliases)]) + ")"
    alias_line = re.compile(r"(?:var|let|const)\s+\w+\s*=\s*" + _JSON_SOURCES)
    left = []
    for line in script.splitlines():
        stripped = line.strip().rstrip(";").strip()
        if not stripped or stripped.startswith("//") or alias_line.fullmatch(stripped):
            continue
        if not _translate_line(stripped, source, step, variables):
            left.append(line)
    # A test wrapper with nothing left inside it says nothing.
    text = "\n".join(left)
    return "" if not re.sub(r"pm\.test\([^,]*,\s*function\s*\(\)\s*\{|\}\);?|\s", "", text) else text


def _translate_line(line: str, source: str, step: dict[str, Any], variables: _Vars) -> bool:
    inner = re.fullmatch(r"pm\.test\([^,]*,\s*(?:function\s*\(\)|\(\)\s*=>)\s*\{\s*(.*?)\s*;?\s*\}\s*\)", line)
    if inner:
        return _translate_line(inner[1].rstrip(";"), source, step, variables)
    status = re.fullmatch(
        r"pm\.response\.to\.have\.status\((\d{3})\)|pm\.expect\(pm\.response\.code\)\.to\.(?:eql|equal|be\.equal)\((\d{3})\)",
        line,
    )
    if status:
        step["expect"]["status"] = int(status[1] or status[2])
        return True
    one_of = re.fullmatch(r"pm\.expect\(pm\.response\.code\)\.to\.be\.oneOf\(\[([\d,\s]+)\]\)", line)
    if one_of:
        step["expect"]["status"] = [int(c) for c in re.findall(r"\d{3}", one_of[1])]
        return True
    if line in ("pm.response.to.be.ok", "pm.response.to.be.success"):
        step["expect"]["status"] = 200 if line.endswith("ok") else "2xx"
        return True
    header = re.fullmatch(r"""pm\.response\.to\.have\.header\(\s*['"]([^'"]+)['"]\s*(?:,\s*(.+?))?\s*\)""", line)
    if header and (header[2] is None or literal_value(header[2], backslashes=False) is not NOT_LITERAL):
        expected = {"exists": True} if header[2] is None else literal_value(header[2], backslashes=False)
        _add_check(step, "headers", header[1], literal_tree(expected))
        return True
    timing = re.fullmatch(r"pm\.expect\(pm\.response\.responseTime\)\.to\.be\.(below|above)\((\d+)\)", line)
    if timing:
        step["expect"].setdefault("time_ms", {})["lt" if timing[1] == "below" else "gt"] = int(timing[2])
        return True
    text = re.fullmatch(r"pm\.expect\(pm\.response\.text\(\)\)\.to\.include\((.+)\)", line)
    if text and isinstance(literal_value(text[1], backslashes=False), str):
        step["expect"].setdefault("text", {})["contains"] = literal(literal_value(text[1], backslashes=False))
        return True
    check = re.fullmatch(r"pm\.expect\(" + source + _ACCESSOR + r"\)\.to\.(.+)", line)
    if check:
        found = _chai(check[2])
        if found is not None:
            _add_check(step, "json", literal(_jsonpath(check[1])), literal_tree(found))
            return True
    capture = re.fullmatch(_SETTERS + r"""\(\s*['"]([^'"]+)['"]\s*,\s*""" + source + _ACCESSOR + r"\s*\)", line)
    if capture:
        step.setdefault("capture", {})[variables.name_of(capture[1])] = _jsonpath(capture[2])
        variables.captured.setdefault(capture[1], variables.current)
        return True
    header = re.fullmatch(
        _SETTERS + r"""\(\s*['"]([^'"]+)['"]\s*,\s*pm\.response\.headers\.get\(\s*['"]([^'"]+)['"]\s*\)\s*\)""", line
    )
    if header:
        step.setdefault("capture", {})[variables.name_of(header[1])] = {"header": header[2]}
        variables.captured.setdefault(header[1], variables.current)
        return True
    return False


_CHAI_TYPES = {"string": "string", "number": "number", "boolean": "boolean", "array": "array", "object": "object",
               "null": "null"}  # fmt: skip
_CHAI_COMPARE = {"above": "gt", "greaterThan": "gt", "below": "lt", "lessThan": "lt", "least": "ge", "most": "le"}


def _chai(assertion: str) -> Any:
    """A chai assertion after `.to.` as an apiflow check (a value, or an operator map), or None."""
    found = re.fullmatch(r"(?:deep\.)?(?:eql|equal|be\.equal)\((.+)\)", assertion)
    if found and literal_value(found[1], backslashes=False) is not NOT_LITERAL:
        return literal_value(found[1], backslashes=False)
    found = re.fullmatch(r"not\.(?:eql|equal|be\.equal)\((.+)\)", assertion)
    if found and literal_value(found[1], backslashes=False) is not NOT_LITERAL:
        return {"ne": literal_value(found[1], backslashes=False)}
    found = re.fullmatch(r"""be\.an?\(\s*['"](\w+)['"]\s*\)""", assertion)
    if found and found[1] in _CHAI_TYPES:
        return {"type": _CHAI_TYPES[found[1]]}
    found = re.fullmatch(
        r"(?:be\.)?(?:at\.)?(above|below|greaterThan|lessThan|least|most)\((-?\d+(?:\.\d+)?)\)", assertion
    )
    if found:
        return {_CHAI_COMPARE[found[1]]: json.loads(found[2])}
    found = re.fullmatch(r"(?:have\.)?(?:lengthOf|length)\((\d+)\)", assertion)
    if found:
        return {"len": int(found[1])}
    found = re.fullmatch(r"(?:include|contain)\((.+)\)", assertion)
    if found and literal_value(found[1], backslashes=False) is not NOT_LITERAL:
        return {"contains": literal_value(found[1], backslashes=False)}
    if assertion in ("exist", "not.be.undefined"):
        return {"exists": True}
    if assertion in ("be.true", "be.false", "be.null"):
        return {"be.true": True, "be.false": False, "be.null": None}[assertion]
    return None


def _add_check(step: dict[str, Any], kind: str, key: str, check: Any) -> None:
    """Add a check on `key` to `expect.<kind>`, merged with one already there."""
    checks = step["expect"].setdefault(kind, {})
    if key not in checks:
        checks[key] = check
        return
    merged = checks[key] if isinstance(checks[key], dict) else {"eq": checks[key]}
    merged.update(check if isinstance(check, dict) else {"eq": check})
    checks[key] = merged


def _jsonpath(accessor: str) -> str:
    path = "$"
    for part in re.findall(r"\.\w+|\[\d+\]|\[\s*['\"][^'\"]+['\"]\s*\]", accessor):
        if part.startswith("[") and not part[1].isdigit():
            key = part.strip("[] ")[1:-1]
            path += f"['{key}']"
        else:
            path += part
    return path
