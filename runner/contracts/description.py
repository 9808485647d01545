"""An OpenAPI description, loaded once per run: its operations, matched by method and path.

Loading parses the file with the flow files' YAML reader (so every problem has a line), checks
that it is OpenAPI 3.0 or 3.1 (Swagger 2.0 is refused, with a hint to convert it), and resolves
every `$ref` now: local ones (`#/components/...`) and ones into files next to it
(`common.yaml#/...`, loaded the same way). A remote `$ref` is refused: checking a response must
never fetch anything. Any problem is a `LoadError` naming the file and line.

Matching ignores scheme and host: a request's path must be a `servers` entry's path (its
`{variables}` one segment each) followed by the operation's path template (its `{parameters}` one
segment each). Of several operations that match, the one with the fewest parameters wins
(`/carts/items` before `/carts/{cartId}`).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import LoadError
from runner.flowfile import files as fs
from runner.flowfile.source import Problem, SourceFile
from runner.flowfile.yaml_source import Document, parse_yaml
from runner.limits import MAX_OPENAPI_BYTES, MAX_OPENAPI_VALUES

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SEGMENT = "[^/]+"


@dataclass(frozen=True, eq=False)
class Operation:
    """One method of one path of a description: `POST /carts`."""

    method: str  # upper case
    template: str  # as written: /carts/{cartId}
    spec: dict[str, Any]  # the operation object
    patterns: tuple[re.Pattern[str], ...]  # server path + template, one per server
    description: Description
    parameters: int  # `{...}` in the template: fewer is more specific

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    def responses(self) -> dict[str, Any]:
        found = self.spec.get("responses")
        return found if isinstance(found, dict) else {}


@dataclass(eq=False)
class Description:
    path: str  # as the flow or the command line named it, for messages
    uri: str  # file:// URI: the base of its `$ref`s in the validator's registry
    data: dict[str, Any]
    version: str  # "3.0" or "3.1"
    documents: dict[str, Any] = field(default_factory=dict)  # uri -> data: this file and those it refers to
    operations: list[Operation] = field(default_factory=list)
    registry: Any = None  # the validator's view of `documents`, made on the first check
    validators: dict[str, Any] = field(default_factory=dict)  # schema pointer -> validator

    def match(self, method: str, path: str) -> Operation | None:
        """The operation `method path` belongs to (scheme, host and query left out), or None."""
        upper = method.upper()
        found = [op for op in self.operations if op.method == upper and any(p.fullmatch(path) for p in op.patterns)]
        return min(found, key=lambda op: op.parameters) if found else None

    def resolve(self, value: Any) -> Any:
        """`value`, or what its `$ref` points at (a response, a header), followed to the end."""
        seen = 0
        uri = self.uri
        while isinstance(value, dict) and isinstance(value.get("$ref"), str) and seen < 32:
            seen += 1
            target, _, pointer = value["$ref"].partition("#")
            if target:
                uri = urllib.parse.urljoin(uri, target)
            value = _pointer(self.documents[uri], pointer)
        return value


def load_description(path: str | Path, shown: str | None = None) -> Description:
    """The description at `path`; a `LoadError` with every problem found, located."""
    file = Path(path).resolve()
    documents: dict[str, Document] = {}
    problems: list[Problem] = []
    root = _read(file, shown or str(path), documents, problems)
    if root is None or problems:
        raise LoadError(problems)
    data = root.data
    version = _version(root, problems)
    if problems:
        raise LoadError(problems)
    _check_refs(file.as_uri(), documents, problems)
    if problems:
        raise LoadError(problems)
    description = Description(
        path=shown or str(path),
        uri=file.as_uri(),
        data=data,
        version=version,
        documents={uri: doc.data for uri, doc in documents.items()},
    )
    description.operations = _operations(description)
    return description


def _read(file: Path, shown: str, documents: dict[str, Document], problems: list[Problem]) -> Document | None:
    try:
        text = fs.read_text(file, limit=MAX_OPENAPI_BYTES)
    except fs.UnreadableFileError as err:
        problems.append(Problem(None, f"{shown}: cannot read the OpenAPI description: {err}"))
        return None
    doc, found = parse_yaml(SourceFile(shown, text), max_values=MAX_OPENAPI_VALUES)
    problems.extend(found)
    if not found and not isinstance(doc.data, dict):
        problems.append(Problem(doc.span(()), "an OpenAPI description is a mapping with `openapi:` and `paths:`"))
        return None
    documents[file.as_uri()] = doc
    return doc if not found else None


def _version(doc: Document, problems: list[Problem]) -> str:
    data = doc.data
    if "swagger" in data:
        problems.append(
            Problem(
                doc.key_span(("swagger",)),
                f"Swagger {data['swagger']} is not supported: apiflow checks OpenAPI 3.0 and 3.1",
                "convert it once (swagger2openapi, or the Swagger Editor's Convert to OpenAPI 3) and point to that",
            )
        )
        return ""
    version = str(data.get("openapi", ""))
    if not re.match(r"3\.[01]\.", version + "."):
        where = doc.span(("openapi",)) if "openapi" in data else doc.span(())
        problems.append(Problem(where, f"not an OpenAPI 3.0 or 3.1 description (openapi: {version or 'missing'})"))
        return ""
    return version[:3]


def _check_refs(root_uri: str, documents: dict[str, Document], problems: list[Problem]) -> None:
    """Every `$ref` of the description and the files it names resolves; files are loaded here."""
    pending = [root_uri]
    checked: set[str] = set()
    while pending:
        uri = pending.pop()
        if uri in checked:
            continue
        checked.add(uri)
        doc = documents[uri]
        for where, ref in _refs(doc.data):
            target, _, pointer = ref.partition("#")
            span = doc.span(where)
            if target and urllib.parse.urlparse(target).scheme in ("http", "https"):
                hint = "download it next to the description and refer to the file"
                problems.append(Problem(span, f"`$ref: {ref}` is remote; apiflow never fetches one", hint))
                continue
            other = urllib.parse.urljoin(uri, target) if target else uri
            if other not in documents:
                file = Path(urllib.parse.unquote(urllib.parse.urlparse(other).path))
                if _read(file, _shown(doc.source.path, target), documents, problems) is None:
                    if not problems or problems[-1].span is None:
                        problems.append(Problem(span, f"`$ref: {ref}`: the file does not load"))
                    continue
            try:
                _pointer(documents[other].data, pointer)
            except LookupError:
                problems.append(Problem(span, f"`$ref: {ref}` does not resolve", "check the name and the path in it"))
                continue
            pending.append(other)


def _shown(base: str, target: str) -> str:
    return str(Path(base).parent / target)


def _refs(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    found = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                found.append(((*where, "$ref"), value["$ref"]))
            stack.extend(((*where, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*where, i), v) for i, v in enumerate(value))
    return found


def _pointer(data: Any, pointer: str) -> Any:
    """The value at a JSON pointer (`/components/schemas/Cart`); LookupError when absent."""
    value = data
    for raw in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        part = urllib.parse.unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise LookupError(pointer)
    return value


def _operations(description: Description) -> list[Operation]:
    data = description.data
    top = _server_paths(data.get("servers")) or [""]  # no `servers`: the path is the template
    out = []
    paths = data.get("paths")
    for template, raw in (paths if isinstance(paths, dict) else {}).items():
        item = description.resolve(raw)
        if not isinstance(item, dict) or not isinstance(template, str):
            continue
        servers = _server_paths(item.get("servers")) or top
        for method in METHODS:
            spec = item.get(method)
            if not isinstance(spec, dict):
                continue
            own = _server_paths(spec.get("servers")) or servers
            tail = re.sub(r"\\\{[^}]*\\\}", _SEGMENT, re.escape(template.rstrip("/")))
            patterns = tuple(re.compile(server + tail + "/?") for server in own)  # a trailing / allowed
            out.append(Operation(method.upper(), template, spec, patterns, description, template.count("{")))
    return out


def _server_paths(servers: Any) -> list[str]:
    """Each server's path as a pattern: `https://api.x.com/stores/{store_hash}/v3` → `/stores/[^/]+/v3`."""
    if not isinstance(servers, list) or not servers:
        return []
    out = []
    for server in servers:
        url = server.get("url") if isinstance(server, dict) else None
        if not isinstance(url, str):
            continue
        marked = re.sub(r"\{[^}]*\}", "\x00", url)  # a variable: one segment, whatever it holds
        absolute = marked if "://" in marked else "http://host/" + marked.lstrip("/")
        path = urllib.parse.urlparse(absolute).path
        out.append(re.escape(path.rstrip("/")).replace("\x00", _SEGMENT))
    return out or [""]
