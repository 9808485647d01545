"""Jinja2 templates in flow values: compiled once at load, rendered sandboxed at run time.

A string that is exactly one `{{ expr }}` is evaluated as an expression and keeps the native type
of its value (the rule of `jinja2.nativetypes`), so `quantity: "{{ qty }}"` sends a number.
Any other string with `{{`/`{%` renders to text; a string without them is a constant.

The environment is a `SandboxedEnvironment` with `StrictUndefined` and no loader: a flow from a
stranger cannot reach Python internals or read files, and a misspelt name is an error rather
than an empty string. Run-time helpers (`uuid()`, `secret()`, ...) come in through the render
scope, so one environment, and each compiled template, serves every run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MethodType
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.defaults import DEFAULT_NAMESPACE
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from jinja2.utils import missing

from runner.flowfile import template_filters
from runner.flowfile import template_guard as guard
from runner.flowfile.source import Span, did_you_mean
from runner.limits import MAX_TEMPLATE_CHARS

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)


_LOOP_FILTER = "apiflow_loop_budget"
_SYNTAX_HINT = "check the braces: {{ expression }} and {% tag %}"


class TemplateCompileError(Exception):
    """A template does not parse; `span` points into the flow file."""

    def __init__(self, span: Span, message: str, hint: str = _SYNTAX_HINT) -> None:
        self.span = span
        self.hint = hint
        super().__init__(message)


class TemplateRenderError(Exception):
    """A template failed while rendering (an undefined name, a type error, a refused access)."""

    def __init__(self, template: Template, message: str) -> None:
        self.template = template
        super().__init__(message)


class EnvironmentVariables(dict[str, str]):
    """`env` in templates: a missing variable says so by name, not "dict has no attribute"."""


class FlowUndefined(StrictUndefined):
    """Strict, and says in the flow's words what was missing: not "'dict object' has no
    attribute 'frist'", but "no `frist` in the mapping (it has: first, second)"."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name, obj = self._undefined_name, self._undefined_obj
        if obj is missing:
            return f"`{name}` is not defined"
        if isinstance(obj, dict):
            keys = [str(k) for k in obj]
            close = did_you_mean(str(name), keys)
            listed = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "") if keys else "nothing"
            return f"no `{name}` in the mapping (it has: {listed})" + (f"; {close}" if close else "")
        if isinstance(obj, list):
            return f"no item `{name}` in a list of {len(obj)}"
        if obj is None:
            return f"the value is null, so it has no `{name}`"
        kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a text"}
        return f"{kinds.get(type(obj), 'the value')} ({str(obj)[:40]}) has no `{name}`"


class _GuardedCodeGenerator(CodeGenerator):
    """Compiles every `~` through the size check of `template_guard`."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 (Jinja's name)
        self.write("environment.checked(")
        super().visit_Concat(node, frame)
        self.write(")")


class _FlowEnvironment(ImmutableSandboxedEnvironment):
    """Sandboxed, immutable (no `list.append` in a template), and on a budget (template_guard)."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"**", "*", "+", "%"})
    checked = staticmethod(guard.checked)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(template_filters.FILTERS)
        self.tests.update(template_filters.TESTS)
        self.filters = {name: guard.guard_filter(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP_FILTER] = guard.loop
        del self.globals["lipsum"]  # lipsum(10**6): a generator of text, of no use in a flow

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        guard.check_binop(operator, left, right)
        return guard.checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        builds_text = guard.check_call(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return guard.checked(result) if builds_text else result

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, EnvironmentVariables) and attribute not in obj:
            hint = f"the environment variable {attribute} is not set (export it, or give it in --env-file)"
            return self.undefined(hint, obj=obj, name=attribute)
        return super().getattr(obj, attribute)


@cache
def environment() -> SandboxedEnvironment:
    """The one sandboxed, strict environment every flow template is compiled in."""
    # Not `optimized`: Jinja's optimizer folds constant expressions at compile time, outside the
    # sandbox's checks (`'a' | center(10**9)` would run during `validate`), and folds
    # `'nan' | float` into code that names an undefined `nan`.
    return _FlowEnvironment(undefined=FlowUndefined, autoescape=False, keep_trailing_newline=True, optimized=False)


def condition_text(template: Template) -> str:
    """A condition as a person wrote it: `x > 1` for the template `{{ x > 1 }}`."""
    single = _SINGLE_EXPRESSION.match(template.source)
    return single["expr"].strip() if single and template.native else template.source


def is_template(text: str) -> bool:
    """Whether `text` holds Jinja2 syntax; other strings are constants."""
    return "{{" in text or "{%" in text or "{#" in text


@dataclass(frozen=True, slots=True, eq=False)
class Template:
    """One compiled template string, with the names it reads and where it stands."""

    source: str
    span: Span
    names: frozenset[str]
    _render: Any  # a compiled jinja2 Template or TemplateExpression
    native: bool
    optional: frozenset[str] = frozenset()  # names read only under `default` or `is defined`
    step_ids: frozenset[str] = frozenset()  # the X of every `steps.X` it reads

    def render(self, scope: Mapping[str, Any]) -> Any:
        """The value of the template in `scope`: native for `{{ expr }}`, else text."""
        guard.start_render()
        try:
            code = self._render
            if type(code) is PlainTemplate:
                try:
                    return code.render(scope, self.native)
                except KeyError:  # a name the scope lacks: Jinja says what it is, or that it is missing
                    code = _jinja_compiled(self.source)[1]
            if self.native:
                value = code(**scope)
                if isinstance(value, Undefined):
                    str(value)  # StrictUndefined raises with Jinja's own message
                return value
            return guard.output(code.generate(scope))
        except TemplateError as err:
            raise TemplateRenderError(self, err.message or str(err)) from None
        except RecursionError:
            raise TemplateRenderError(self, "the template recursed too deeply (a macro that calls itself?)") from None
        except MemoryError:
            raise TemplateRenderError(self, "the template ran out of memory") from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as err:
            # Python's own errors keep their name ("TypeError: ..."); ours speak for themselves.
            builtin = type(err).__module__ == "builtins"
            raise TemplateRenderError(self, f"{type(err).__name__}: {err}" if builtin else str(err)) from None


# `{{ name }}` between plain text: most templates in flows (`{{ base }}/carts/{{ cart_id }}`);
# and `{{ secret('NAME') }}`, which nearly every flow sends in a header on every request.
_PLAIN_PART = re.compile(
    r"\{\{\s*(?:(?P<name>[A-Za-z][A-Za-z0-9_]*)"
    r"|secret\(\s*(?P<quote>['\"])(?P<variable>[A-Za-z_][A-Za-z0-9_]*)(?P=quote)\s*\))\s*\}\}"
)
# Names Jinja reads as constants, operators or its own objects: those go through Jinja.
_JINJA_WORDS = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else", "elif"}
    | {"for", "recursive", "self", "loop", "caller", "varargs", "kwargs", "super", "with", "without"}
    | {"import", "from", "as"}
    | set(DEFAULT_NAMESPACE)  # range, dict...: Jinja's globals
)


class SecretCall:
    """`secret('NAME')` in a plain template: a call of the scope's `secret` helper."""

    __slots__ = ("variable",)

    def __init__(self, variable: str) -> None:
        self.variable = variable

    def value(self, scope: Mapping[str, Any]) -> Any:
        helper = scope["secret"]
        # The run's helper is a bound method that the sandbox lets templates call. Anything
        # else under that name (a var a flow called `secret`, a callable the sandbox refuses)
        # goes through Jinja, which says what it makes of it.
        if type(helper) is not MethodType or not environment().is_safe_callable(helper):
            raise KeyError("secret")
        return helper(self.variable)


class PlainTemplate:
    """A template of text, `{{ name }}` and `{{ secret('NAME') }}` only, rendered by looking the
    names up: what Jinja renders for it (`str` of each value, or the value itself for a lone
    one), without a Jinja context per render, and without Jinja's parser and compiler at load.
    A name the scope lacks raises KeyError, and the caller renders with Jinja for its exact
    message."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str | SecretCall, ...]) -> None:
        self.parts = parts  # text, name or call, text, name or call, ..., text

    def render(self, scope: Mapping[str, Any], native: bool) -> Any:
        parts = self.parts
        if native:
            part = parts[1]
            value = scope[part] if isinstance(part, str) else part.value(scope)
            if isinstance(value, Undefined):
                str(value)  # StrictUndefined raises with Jinja's own message
            return value
        return guard.output(
            str(part if i % 2 == 0 else scope[part] if isinstance(part, str) else part.value(scope))
            for i, part in enumerate(parts)
        )


def plain_parts(source: str) -> tuple[str | SecretCall, ...] | None:
    """Text and names (or secret calls), alternating, for a plain template; else None."""
    texts: list[str] = []
    holes: list[str | SecretCall] = []
    at = 0
    for match in _PLAIN_PART.finditer(source):
        name = match["name"]
        if name in _JINJA_WORDS:
            return None
        texts.append(source[at : match.start()])
        holes.append(name if name is not None else SecretCall(match["variable"]))
        at = match.end()
    if not holes:
        return None
    texts.append(source[at:])
    # Jinja turns \r\n into \n in text; `{{`, `{%` and `{#` open something else, and so
    # does a `{` just before a `{{ name }}` (`{{{ a }}` is `{{ {a} }}` to Jinja).
    if any("\r" in t or "{{" in t or "{%" in t or "{#" in t for t in texts):
        return None
    if any(t.endswith("{") for t in texts[:-1]):
        return None
    return (*(part for pair in zip(texts, holes, strict=False) for part in pair), texts[-1])


def _plain_names(parts: tuple[str | SecretCall, ...]) -> frozenset[str]:
    return frozenset(p if isinstance(p, str) else "secret" for p in parts[1::2])


def compile_template(source: str, span: Span) -> Template:
    """Compile `source` once; a syntax error is raised with its line in the flow file."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateCompileError(
            span,
            f"the template is {len(source):,} characters long; the limit is {MAX_TEMPLATE_CHARS:,}",
            "build it from smaller templates in `vars`",
        )
    try:
        compiled = _compiled(source)
    except TemplateSyntaxError as err:
        where = span.shifted((err.lineno or 1) - 1)
        raise TemplateCompileError(where, f"template syntax error: {err.message}") from None
    except (RecursionError, MemoryError):
        # Jinja's parser and Python's compiler recurse per level of nesting: 2,000 parentheses
        # or a sum of 5,000 terms exhaust the stack. Nothing real comes near.
        hint = "split it: compute parts in `vars` and combine them"
        raise TemplateCompileError(span, "the template nests too deeply to compile", hint) from None
    return Template(source, span, *compiled)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> tuple[frozenset[str], Any, bool, frozenset[str], frozenset[str]]:
    """Parse and compile a template's text once per process, however many flows and steps hold
    the same text (a folder of checkouts shares most of theirs): (names, code, native, optional,
    step ids). Raises Jinja's errors; those are not cached, and are rare."""
    parts = plain_parts(source)
    if parts is not None:
        single = _SINGLE_EXPRESSION.match(source)
        native = bool(single) and len(parts) == 3
        return _plain_names(parts), PlainTemplate(parts), native, frozenset(), frozenset()
    return _jinja_compiled(source)


@lru_cache(maxsize=4096)
def _jinja_compiled(source: str) -> tuple[frozenset[str], Any, bool, frozenset[str], frozenset[str]]:
    """`_compiled` by Jinja: every template that is not plain, and a plain one that met a name
    its scope lacks (Jinja then says what the name is, or that it is missing)."""
    env = environment()
    parsed = env.parse(source)
    names = frozenset(meta.find_undeclared_variables(parsed))
    facts = (_guarded_names(parsed), _step_ids(parsed))
    single = _SINGLE_EXPRESSION.match(source)
    if single and "{{" not in single["expr"] and "}}" not in single["expr"]:
        return names, env.compile_expression(single["expr"].strip(), undefined_to_none=False), True, *facts
    for loop in parsed.find_all(nodes.For):  # each iteration goes through the loop budget
        loop.iter = nodes.Filter(loop.iter, _LOOP_FILTER, [], [], None, None, lineno=loop.lineno)
    return names, env.from_string(parsed), False, *facts


def _guarded_names(parsed: nodes.Template) -> frozenset[str]:
    """Names the template reads through `| default(...)` or tests with `is defined`: an absent
    one is expected there, so it is not an undefined name."""
    guards = [f.node for f in parsed.find_all(nodes.Filter) if f.name in ("default", "d")]
    guards += [t.node for t in parsed.find_all(nodes.Test) if t.name in ("defined", "undefined")]
    return frozenset(g.name for g in guards if isinstance(g, nodes.Name))


def _step_ids(parsed: nodes.Template) -> frozenset[str]:
    """The X of `steps.X` and `steps['X']`: checked against the ids of earlier steps at load."""
    ids = {n.attr for n in parsed.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name) and n.node.name == "steps"}
    for item in parsed.find_all(nodes.Getitem):
        if isinstance(item.node, nodes.Name) and item.node.name == "steps" and isinstance(item.arg, nodes.Const):
            ids.add(str(item.arg.value))
    return frozenset(ids)


def operand_texts(template: Template) -> list[str]:
    """The operands of a condition, as expressions to evaluate for a failure message:
    `response.status < 300 and ok` gives ["response.status", "ok"]. Only plain lookups (names,
    attributes, items, a filter without arguments) are given, never calls with effects."""
    try:
        parsed = environment().parse(template.source)
    except TemplateSyntaxError:
        return []
    outputs = [node for output in parsed.find_all(nodes.Output) for node in output.nodes]
    found: list[str] = []
    stack: list[nodes.Node] = list(reversed(outputs))
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.Compare):
            stack.extend(reversed([node.expr, *(op.expr for op in node.ops)]))
        elif isinstance(node, (nodes.And, nodes.Or)):
            stack.extend([node.right, node.left])
        elif isinstance(node, (nodes.Not, nodes.Test)):
            stack.append(node.node)
        elif (text := _lookup_text(node)) is not None and text not in found:
            found.append(text)
    return found


def _lookup_text(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        inner = _lookup_text(node.node)
        return f"{inner}.{node.attr}" if inner else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        inner = _lookup_text(node.node)
        return f"{inner}[{node.arg.value!r}]" if inner else None
    if isinstance(node, nodes.Filter) and not node.args and not node.kwargs and node.node is not None:
        inner = _lookup_text(node.node)
        return f"{inner} | {node.name}" if inner else None
    return None


@dataclass(frozen=True, slots=True, eq=False)
class Tree:
    """A compiled structured value (a JSON body, a mapping of headers) with templates inside."""

    value: Any  # dict/list of further values, Template, or a constant
    names: frozenset[str]

    def render(self, scope: Mapping[str, Any]) -> Any:
        return _render(self.value, scope)


def _render(value: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(value, Template):
        return value.render(scope)
    if isinstance(value, dict):
        return {k: _render(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, scope) for v in value]
    return value


def templates_in(value: Any) -> list[Template]:
    """Every template inside a compiled value, in order."""
    if isinstance(value, Template):
        return [value]
    if isinstance(value, Tree):
        return templates_in(value.value)
    if isinstance(value, dict):
        return [t for v in value.values() for t in templates_in(v)]
    if isinstance(value, list):
        return [t for v in value for t in templates_in(v)]
    return []
