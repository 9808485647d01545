"""Checks a response against a step's `expect`, producing one `AssertionResult` per check.

Nothing here raises for a failed expectation: each check becomes a result with the expected
and actual values and the line it came from, and a step collects all of them.
Equality is JSON equality: `1` equals `1.0`, but `true` is not `1` and `"201"` is not `201`.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from jinja2 import Undefined

from runner.engine.results import MISSING, AssertionResult, ReceivedResponse
from runner.flowfile.jsonpaths import JsonPath, JsonPathSyntaxError, compile_jsonpath
from runner.flowfile.model import (
    LIST_OPERATORS,
    Check,
    Expect,
    JsonExpectation,
    NamedChecks,
    StatusRule,
    status_rule,
)
from runner.flowfile.schema_check import is_type, type_name
from runner.flowfile.templates import (
    Template,
    TemplateCompileError,
    TemplateRenderError,
    Tree,
    compile_template,
    condition_text,
    operand_texts,
)

Render = Callable[[Any], Any]
_COMPARISONS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


def render_with(make_scope: Callable[[], dict[str, Any]]) -> Render:
    """A function that renders a compiled expected value in the scope `make_scope()` gives,
    made on the first template met: most expectations (`status: 201`) hold none, and the scope
    of a response (its headers, its text) is worth making only for one that does."""
    made: list[dict[str, Any]] = []

    def render(value: Any) -> Any:
        if not isinstance(value, (Template, Tree)):
            return value
        if not made:
            made.append(make_scope())
        return value.render(made[0])

    return render


def json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(op: str, actual: Any, expected: Any) -> bool | str:
    both_numbers = _number(actual) and _number(expected)
    if not both_numbers and not (isinstance(actual, str) and isinstance(expected, str)):
        return f"cannot compare {type_name(actual)} with {type_name(expected)}"
    return bool(_COMPARISONS[op](actual, expected))


def _member(actual: Any, expected: Any) -> bool | str:
    if isinstance(expected, str):
        return isinstance(actual, str) and actual in expected
    if isinstance(expected, list):
        return any(json_equal(actual, e) for e in expected)
    return f"`in` needs a list, got {type_name(expected)}"


def _contains(actual: Any, expected: Any) -> bool | str:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list):
        return any(json_equal(item, expected) for item in actual)
    if isinstance(actual, dict):
        return expected in actual
    return f"`contains` needs a string, list or mapping, got {type_name(actual)}"


def _matches(actual: Any, expected: Any) -> bool | str:
    if not isinstance(actual, (str, int, float)) or isinstance(actual, bool):
        return f"`matches` needs text, got {type_name(actual)}"
    try:
        return re.search(str(expected), str(actual)) is not None
    except (re.error, OverflowError, RecursionError) as err:
        return f"invalid regular expression: {err}"


def _check(op: str, actual: Any, expected: Any) -> bool | str:
    """True or False, or a string saying why the check cannot apply to these values."""
    match op:
        case "eq":
            return json_equal(actual, expected)
        case "ne":
            return not json_equal(actual, expected)
        case "gt" | "ge" | "lt" | "le":
            return _compare(op, actual, expected)
        case "in":
            return _member(actual, expected)
        case "not_in":
            member = _member(actual, expected)
            return member if isinstance(member, str) else not member
        case "contains":
            return _contains(actual, expected)
        case "matches":
            return _matches(actual, expected)
        case "type":
            return is_type(actual, str(expected))
    raise AssertionError(f"unknown operator {op}")  # the schema admits no other


def evaluate(
    subject: str, checks: Sequence[Check], actual: Any, render: Render, *, missing_why: str = ""
) -> list[AssertionResult]:
    """Apply each check to `actual` (MISSING when the path or header is absent)."""
    results = []
    for check in checks:
        try:
            expected = render(check.expected)
        except TemplateRenderError as err:
            results.append(
                AssertionResult(
                    subject,
                    check.op,
                    check.expected,
                    actual,
                    False,
                    check.span,
                    f"the expected value's template failed: {err}",
                )
            )
            continue
        results.extend(_one(subject, check, actual, expected, render, missing_why))
    return results


def _one(
    subject: str, check: Check, actual: Any, expected: Any, render: Render, missing_why: str
) -> list[AssertionResult]:
    if check.op == "exists":
        wanted = expected not in (False, "false", "False")
        return [
            AssertionResult(
                subject,
                "exists",
                wanted,
                actual is not MISSING,
                (actual is not MISSING) == wanted,
                check.span,
            )
        ]
    if actual is MISSING:
        return [
            AssertionResult(
                subject,
                check.op,
                expected,
                MISSING,
                False,
                check.span,
                missing_why or "nothing there",
            )
        ]
    if check.op == "len":
        return _length(subject, check, actual, expected, render)
    verdict = _check(check.op, actual, expected)
    message = verdict if isinstance(verdict, str) else ""
    root = subject if subject.startswith("$") else "$"  # paths read from the document's root
    diff = structural_diff(expected, actual, root) if check.op == "eq" and verdict is False else ()
    return [AssertionResult(subject, check.op, expected, actual, verdict is True, check.span, message, diff)]


MAX_DIFFERENCES = 10


def structural_diff(expected: Any, actual: Any, path: str = "$") -> tuple[tuple[str, Any, Any], ...]:
    """Where two mappings or lists differ, as (JSON path, expected, actual); MISSING for an
    absent key or item. Empty for two scalars: their line already says it all."""
    if not (isinstance(expected, (dict, list)) and isinstance(actual, (dict, list))):
        return ()
    found: list[tuple[str, Any, Any]] = []
    stack = [(path, expected, actual)]
    while stack and len(found) < MAX_DIFFERENCES:
        where, want, got = stack.pop()
        if isinstance(want, dict) and isinstance(got, dict):
            keys = list(want) + [k for k in got if k not in want]
            children = [(_json_member(where, k), want.get(k, MISSING), got.get(k, MISSING)) for k in keys]
        elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
            children = [(f"{where}[{i}]", w, g) for i, (w, g) in enumerate(zip(want, got, strict=True))]
        else:
            if want is MISSING or got is MISSING or not json_equal(want, got):
                found.append((where, want, got))
            continue
        stack.extend(
            reversed([c for c in children if c[1] is MISSING or c[2] is MISSING or not json_equal(c[1], c[2])])
        )
    return tuple(found)


def _json_member(path: str, key: Any) -> str:
    text = str(key)
    return f"{path}.{text}" if text.isidentifier() else f"{path}[{json.dumps(text)}]"


def _length(subject: str, check: Check, actual: Any, expected: Any, render: Render) -> list[AssertionResult]:
    if not isinstance(actual, (str, list, dict)):
        return [
            AssertionResult(
                subject,
                "len",
                expected,
                actual,
                False,
                check.span,
                f"`len` needs a string, list or mapping, got {type_name(actual)}",
            )
        ]
    if check.nested:
        return evaluate(f"len({subject})", check.nested, len(actual), render)
    return [AssertionResult(subject, "len", expected, len(actual), json_equal(len(actual), expected), check.span)]


def check_response(expect: Expect, response: ReceivedResponse, render: Render) -> list[AssertionResult]:
    """Every assertion of `expect` on `response`, in the order a person reads them."""
    results: list[AssertionResult] = []
    if expect.status is not None:
        results.append(_status(expect.status, response.status, render))
    for header in expect.headers:
        values = [v for k, v in response.headers if k.lower() == header.name.lower()]
        actual = ", ".join(values) if values else MISSING
        results += evaluate(
            f"header {header.name}",
            header.checks,
            actual,
            render,
            missing_why=f"the response has no {header.name} header",
        )
    if expect.text:
        results += evaluate("text", expect.text, response.text, render)
    for measure in expect.bytes:
        results += evaluate(f"bytes {measure.name}", measure.checks, _measure(measure.name, response.body), render)
    if expect.cookies:
        cookies = response.cookies()
        why = f"the response sets no such cookie (it sets: {', '.join(cookies) or 'none'})"
        for item in expect.cookies:
            results += evaluate(
                f"cookie {item.name}", item.checks, cookies.get(item.name, MISSING), render, missing_why=why
            )
    for kind, queries in (("css", expect.css), ("xpath", expect.xpath)):
        for query in queries:
            results += _markup(kind, query, response, render)
    for path in expect.json:
        results += _json_path(path, response, render)
    if expect.schema is not None:
        results.append(_schema(expect, response))
    if expect.time_ms:
        results += evaluate("time_ms", expect.time_ms, round(response.elapsed_ms, 1), render)
    for condition in expect.that:
        results.append(_that(condition, render))
    return results


def _measure(name: str, body: bytes) -> Any:
    """`bytes: {len, sha256, md5}` of the raw body (digests in lowercase hex)."""
    if name == "len":
        return len(body)
    return hashlib.new(name, body).hexdigest()


def _markup(kind: str, item: NamedChecks, response: ReceivedResponse, render: Render) -> list[AssertionResult]:
    """`css: {selector: ...}` and `xpath: {expression: ...}`: the first match's value, checked."""
    from runner.engine.markup import MarkupError, describe, query  # lxml: only flows that use it

    subject = f"{kind} {item.name}"
    try:
        found = query(kind, item.name, response.body, response.content_type)
    except MarkupError as err:
        why = f"{err} ({describe(response.body, response.content_type)})"
        return [
            AssertionResult(subject, c.op, _shown_expected(c.expected, render), MISSING, False, c.span, why)
            for c in item.checks
        ]
    what = "selector" if kind == "css" else "expression"
    return evaluate(
        subject, item.checks, found[0] if found else MISSING, render, missing_why=f"the {what} matched nothing"
    )


def _status(rule: StatusRule, status: int, render: Render) -> AssertionResult:
    if rule.template is not None:  # `status: "{{ expected_status }}"`, read once rendered
        try:
            value = render(rule.template)
        except TemplateRenderError as err:
            return AssertionResult("status", "eq", rule.expected, status, False, rule.span, str(err))
        rendered = status_rule(value, rule.span)
        if rendered is None:
            why = f"the template gave {value!r}: expected a status code, a list of codes or a class such as 2xx"
            return AssertionResult("status", "eq", value, status, False, rule.span, why)
        rule = rendered
    return AssertionResult("status", "eq", rule.expected, status, rule.allows(status), rule.span)


def _json_path(item: JsonExpectation, response: ReceivedResponse, render: Render) -> list[AssertionResult]:
    path, why = _path_of(item, render)
    if path is None or not response.is_json:
        why = why or f"the response body is not JSON ({_describe_body(response)})"
        shown = [_shown_expected(c.expected, render) for c in item.checks]
        return [
            AssertionResult(item.text, c.op, e, MISSING, False, c.span, why)
            for c, e in zip(item.checks, shown, strict=True)
        ]
    matches = path.find(response.json)
    subject = path.text
    why = "" if matches else f"no match; {path.explain_miss(response.json)}"
    results: list[AssertionResult] = []
    for check in item.checks:
        if check.op in LIST_OPERATORS:
            results += _over_matches(subject, check, matches, render, why)
        elif len(matches) > 1 and check.op != "exists" and not path.definite:
            # Never a silent first match: a path that can match several values says how many.
            message = (
                f"the path matched {len(matches)} values; a plain value or operator map checks exactly one: "
                "use `count`, `all` or `any` to check several"
            )
            results.append(AssertionResult(subject, check.op, check.expected, matches, False, check.span, message))
        else:
            results += evaluate(subject, [check], matches[0] if matches else MISSING, render, missing_why=why)
    return results


def _path_of(item: JsonExpectation, render: Render) -> tuple[JsonPath | None, str]:
    """The expectation's JSONPath; a templated one rendered and compiled (cached by its text)."""
    if item.path is not None:
        return item.path, ""
    try:
        text = str(render(item.template))
    except TemplateRenderError as err:
        return None, f"the JSONPath's template failed: {err}"
    try:
        return compile_jsonpath(text), ""
    except JsonPathSyntaxError as err:
        return None, f"the rendered JSONPath `{text}` does not parse: {err}"


def _over_matches(subject: str, check: Check, matches: list[Any], render: Render, why: str) -> list[AssertionResult]:
    """`count` (how many matched), `all` (each match passes), `any` (one match passes)."""
    if check.op == "count":
        if check.nested:
            return evaluate(f"count of {subject}", check.nested, len(matches), render)
        return evaluate(f"count of {subject}", [replace(check, op="eq")], len(matches), render)
    shown = _shown_expected_checks(check.nested, render)
    if not matches:
        message = f"`{check.op}` needs at least one match, and there is none" + (f" ({why})" if why else "")
        return [AssertionResult(subject, check.op, shown, MISSING, False, check.span, message)]
    verdicts = [all(r.passed for r in evaluate(subject, check.nested, value, render)) for value in matches]
    if check.op == "all":
        failing = [i for i, ok in enumerate(verdicts) if not ok]
        message = (
            f"{len(failing)} of {len(matches)} matches fail, the first is match {failing[0] + 1}" if failing else ""
        )
        actual = matches[failing[0]] if failing else matches
        return [AssertionResult(subject, "all", shown, actual, not failing, check.span, message)]
    passed = any(verdicts)
    message = "" if passed else f"none of the {len(matches)} matches passes"
    return [AssertionResult(subject, "any", shown, matches, passed, check.span, message)]


def _shown_expected_checks(checks: Sequence[Check], render: Render) -> Any:
    """`all`/`any`'s expectation as the user wrote it: a value, or an operator map."""
    if len(checks) == 1 and checks[0].op == "eq":
        return _shown_expected(checks[0].expected, render)
    return {c.op: _shown_expected(c.expected, render) for c in checks}


def _schema(expect: Expect, response: ReceivedResponse) -> AssertionResult:
    from jsonschema import validators  # only flows that use `schema` pay for it

    schema = expect.schema
    assert schema is not None
    if not response.is_json:
        return AssertionResult(
            "schema",
            "valid",
            schema.origin,
            MISSING,
            False,
            schema.span,
            "the response body is not JSON",
        )
    validator = validators.validator_for(schema.schema)(schema.schema)
    errors = sorted(validator.iter_errors(response.json), key=lambda e: list(e.absolute_path))
    found = "; ".join(f"{e.json_path}: {e.message}" for e in errors[:3]) + (
        f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    )
    return AssertionResult("schema", "valid", schema.origin, found or "valid", not errors, schema.span)


def _that(condition: Template, render: Render) -> AssertionResult:
    subject = "that " + condition_text(condition)
    try:
        value = render(condition)
    except TemplateRenderError as err:
        return AssertionResult(subject, "true", True, MISSING, False, condition.span, str(err))
    if value:
        return AssertionResult(subject, "true", True, value, True, condition.span)
    return AssertionResult(subject, "true", True, value, False, condition.span, _operand_values(condition, render))


def _operand_values(condition: Template, render: Render) -> str:
    """`response.status = 404, limit = 300`: what the failed condition compared (as pytest shows)."""
    shown = []
    for text in operand_texts(condition):
        try:
            value = render(compile_template("{{ " + text + " }}", condition.span))
        except (TemplateCompileError, TemplateRenderError):
            continue
        if isinstance(value, Undefined):
            continue
        rendered = json.dumps(value, ensure_ascii=False, default=str)
        shown.append(f"{text} = {rendered if len(rendered) <= 80 else rendered[:77] + '...'}")
    return ", ".join(shown)


def _shown_expected(expected: Any, render: Render) -> Any:
    """The expected value as the check would have used it (a template rendered, if it can be)."""
    try:
        return render(expected)
    except TemplateRenderError:
        return expected.source if isinstance(expected, Template) else expected


def _describe_body(response: ReceivedResponse) -> str:
    """What the body is, without quoting it: the failure block shows it, redacted, already."""
    if not response.body:
        return "an empty body"
    kind = next((v for k, v in response.headers if k.lower() == "content-type"), "no Content-Type")
    return f"{kind}, {len(response.body):,} bytes"
