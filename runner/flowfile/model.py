"""The parsed flow: immutable, validated, every node with its place in the file.

Only the loader builds these from raw YAML data; the executor and the reporters read them.
Strings that may hold templates are already compiled (`Template` or `Tree`), and JSONPaths are
already parsed, so nothing is parsed twice and nothing fails to parse mid-run.

Nodes are compared by identity (`eq=False`), save the small values `StatusRule` and `FileRef`:
each node stands at its own place in a file, so two are never equal by value anyway, and on
Python 3.11 every generated `__eq__` and `__hash__` is code compiled at each start of apiflow
(a third of what the dataclasses cost it, measured with `python -X importtime`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from runner.flowfile.jsonpaths import JsonPath
from runner.flowfile.source import SourceFile, Span
from runner.flowfile.templates import Template, Tree
from runner.limits import DEFAULT_MAX_RESPONSE_MB

OPERATORS = (
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "in",
    "not_in",
    "contains",
    "matches",
    "type",
    "len",
    "exists",
    "count",  # the checks below apply to every match of a JSONPath, not to one value
    "all",
    "any",
)
LIST_OPERATORS = frozenset({"count", "all", "any"})


@dataclass(frozen=True, slots=True, eq=False)
class Check:
    """One operator applied to a value: `{gt: 0}` is Check("gt", 0). `len` may nest checks."""

    op: str
    expected: Any  # a constant, a Template or a Tree
    span: Span
    nested: tuple[Check, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusRule:
    """`status: 201`, `[200, 201]`, `2xx`, or a template that renders to one of them."""

    codes: frozenset[int]
    classes: frozenset[int]  # 2 for 2xx
    expected: int | list[int] | str  # as written, for reports
    span: Span
    template: Template | None = None  # rendered per response, then read as a status

    def allows(self, status: int) -> bool:
        return status in self.codes or status // 100 in self.classes


_NO_CODES: frozenset[int] = frozenset()
_STATUS_CLASS = re.compile(r"[1-5]xx")


@lru_cache(maxsize=256)
def _codes(codes: tuple[int, ...]) -> frozenset[int]:
    """One shared set per distinct `status:`: a thousand flows expecting 201 hold one set."""
    return frozenset(codes)


def status_rule(value: Any, span: Span) -> StatusRule | None:
    """The rule `value` writes (a code, a list of codes, a class such as `2xx`), or None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # a template renders `{{ 201 }}` as a number, `"201"` as text
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return StatusRule(_codes((value,)), _NO_CODES, value, span)
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return StatusRule(_codes(tuple(value)), _NO_CODES, value, span)
    if isinstance(value, str) and _STATUS_CLASS.fullmatch(value.strip()):
        return StatusRule(_NO_CODES, _codes((int(value.strip()[0]),)), value, span)
    return None


@dataclass(frozen=True, slots=True, eq=False)
class JsonExpectation:
    """Checks on what a JSONPath matches in the response body."""

    path: JsonPath | None  # None when the path is a template, compiled once rendered
    checks: tuple[Check, ...]
    span: Span
    template: Template | None = None  # `"$.items[?(@.id == {{ item_id }})].qty": 2`

    @property
    def text(self) -> str:
        return self.path.text if self.path is not None else self.template.source if self.template else ""


@dataclass(frozen=True, slots=True, eq=False)
class NamedChecks:
    """Checks on one named part of a response: a header, a cookie, a CSS selector's or an XPath's
    first match, or a measure of the body (`bytes`: len, sha256, md5)."""

    name: str
    checks: tuple[Check, ...]
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class SchemaExpectation:
    """`schema:` the JSON body must satisfy, inline or from a file."""

    schema: dict[str, Any]
    origin: str  # "inline" or the file it came from
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Expect:
    """A step's `expect`: every check its response must pass."""

    status: StatusRule | None = None
    headers: tuple[NamedChecks, ...] = ()
    json: tuple[JsonExpectation, ...] = ()
    schema: SchemaExpectation | None = None
    time_ms: tuple[Check, ...] = ()
    that: tuple[Template, ...] = ()
    text: tuple[Check, ...] = ()  # on the body as text
    bytes: tuple[NamedChecks, ...] = ()  # len, sha256, md5 of the raw body
    cookies: tuple[NamedChecks, ...] = ()  # cookies the response sets
    css: tuple[NamedChecks, ...] = ()  # selector -> the text of its first match
    xpath: tuple[NamedChecks, ...] = ()  # expression -> its value
    openapi: bool = True  # False: the OpenAPI descriptions of the run leave this response alone

    def named(self) -> tuple[NamedChecks, ...]:
        return (*self.headers, *self.bytes, *self.cookies, *self.css, *self.xpath)


@dataclass(frozen=True, slots=True, eq=False)
class Capture:
    """A value taken from a response: by JSONPath, header, cookie, CSS selector, XPath, regular
    expression over the body, or from a template."""

    name: str
    span: Span
    jsonpath: JsonPath | None = None
    all: bool = False  # every match, as a list (jsonpath, css, xpath, regex)
    header: str | None = None
    value: Template | Tree | None = None
    cookie: str | None = None
    css: str | None = None
    attr: str | None = None  # with css: this attribute of the match instead of its text
    xpath: str | None = None
    regex: str | None = None
    group: int | str | None = None  # with regex: which group (1 if the pattern has one, else the match)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file a request sends (`body: {file:}`, a multipart part), checked when the flow loads."""

    path: str  # where it is: relative to the flow file, resolved
    shown: str  # as the flow names it, for reports
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Part:
    """One part of a `multipart` body: a value, or a file."""

    name: str
    value: Template | str | None = None
    file: FileRef | None = None
    content_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Request:
    """A step's `request`: what to send, its strings compiled as templates."""

    method: str
    url: Template | str
    span: Span
    params: Tree | None = None
    headers: Tree | None = None
    json: Tree | None = None  # `graphql` is sent as this JSON body too
    body: Template | str | None = None
    form: Tree | None = None
    timeout: float | None = None
    body_file: FileRef | None = None
    multipart: tuple[Part, ...] = ()
    auth: Tree | None = None  # {basic: {...}}, {digest: {...}} or {bearer: ...}, rendered per attempt
    cookies: Tree | None = None
    follow_redirects: bool | None = None  # None: the flow's `http` setting
    verify: bool | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Retry:
    """Send again until the step passes (`until` None) or the `until` condition holds."""

    attempts: int
    delay: float
    backoff: float
    until: Template | None  # None: until the step's expectations pass
    transport_errors: bool
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Use:
    """A step that runs another flow file with inputs; its outputs become captures here."""

    flow: Flow
    inputs: dict[str, Any]  # input name -> a constant, Template or Tree
    span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # its own __repr__ below
class Step:
    """One step: a request (or a `use` of another flow), its checks and its captures."""

    index: int  # 0-based position in its list (steps or finally)
    name: str
    request: Request | None  # None for a `use` step
    expect: Expect
    captures: tuple[Capture, ...]
    span: Span
    id: str | None = None
    when: Template | None = None
    retry: Retry | None = None
    use: Use | None = None
    sleep: float | None = None  # seconds to wait before the request

    def __repr__(self) -> str:  # short: results and tasks holding a step are printed in logs
        return f"Step({self.name!r} at {self.span})"

    def sending_values(self) -> tuple[Any, ...]:
        """The compiled values rendered to send the step: its request's parts, or its inputs."""
        if self.request is not None:
            r = self.request
            parts = tuple(p.value for p in r.multipart)
            return (r.url, r.params, r.headers, r.json, r.body, r.form, r.auth, r.cookies, *parts)
        return tuple(self.use.inputs.values()) if self.use else ()

    def checking_values(self) -> tuple[Any, ...]:
        """The compiled values rendered once the response is in: captures, expectations, `until`."""
        e = self.expect
        values: list[Any] = [c.value for c in self.captures]
        if e.status is not None and e.status.template is not None:
            values.append(e.status.template)
        values.extend(j.template for j in e.json if j.template is not None)
        for checks in [*(j.checks for j in e.json), *(n.checks for n in e.named()), e.time_ms, e.text]:
            values.extend(_expected_values(checks))
        values.extend(e.that)
        if self.retry:
            values.append(self.retry.until)
        return tuple(values)


def _expected_values(checks: tuple[Check, ...]) -> list[Any]:
    out: list[Any] = []
    for check in checks:
        out.append(check.expected)
        out.extend(_expected_values(check.nested))
    return out


@dataclass(frozen=True, slots=True, eq=False)
class HttpDefaults:
    """The flow's `http` block: what every request of the flow starts from."""

    headers: Tree | None = None
    params: Tree | None = None
    timeout: float = 30.0
    verify: bool = True
    follow_redirects: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_MB * 1024 * 1024
    auth: Tree | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Variable:
    """One of `vars`: a name and its value, rendered when the run starts."""

    name: str
    value: Any  # a constant, Template or Tree
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Input:
    """One of `inputs`: what a flow that is `use`d takes, required or with a default."""

    name: str
    required: bool
    default: Any  # a constant, Template or Tree; None when required
    span: Span


@dataclass(frozen=True, slots=True, eq=False, repr=False)  # its own __repr__ below
class Flow:
    """One flow: its vars, inputs, steps and `finally` steps, and the file it came from."""

    name: str
    source: SourceFile
    steps: tuple[Step, ...]
    http: HttpDefaults
    vars: tuple[Variable, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()
    inputs: tuple[Input, ...] = ()
    outputs: tuple[str, ...] = ()
    finally_steps: tuple[Step, ...] = ()
    matrix: tuple[dict[str, Any], ...] = ()  # rows of variables; empty: run once
    openapi: tuple[FileRef, ...] = ()  # descriptions every response of the flow is checked against
    load_weight: int = 1  # `load: {weight: N}`: how often `apiflow load` picks it, relative to others

    def __repr__(self) -> str:  # short: the full model would print every step and the file text
        return f"Flow({self.name!r} from {self.source.path!r})"

    @property
    def is_sub_flow(self) -> bool:
        """A flow with a required input runs only through `use`."""
        return any(i.required for i in self.inputs)

    @property
    def path(self) -> str:
        return self.source.path
