"""Templates: native types for single expressions, strict names, and the sandbox."""

from __future__ import annotations

import pytest

from runner.flowfile.source import SourceFile, Span
from runner.flowfile.templates import TemplateCompileError, TemplateRenderError, compile_template

SPAN = Span(SourceFile("flow.yaml", "x: 1\n"), 1, 4)


def render(text, **scope):
    return compile_template(text, SPAN).render(scope)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ 1 + 1 }}", 2),
        ("{{ n }}", 5),
        ("{{ flag }}", True),
        ("{{ [n, 2] }}", [5, 2]),
        ("{{ {'a': n} }}", {"a": 5}),
        ("  {{ n }}  ", 5),
        ("{{ none }}", None),
        ("{{ n }}-{{ n }}", "5-5"),
        ("id {{ n }}", "id 5"),
        ("{% if flag %}yes{% endif %}", "yes"),
        ("{{ '42' | int }}", 42),
    ],
    ids=["sum", "int", "bool", "list", "dict", "padded", "none", "two-exprs", "text", "statement", "filter"],
)
def test_rendering_keeps_native_types_for_single_expressions(text, expected):
    assert render(text, n=5, flag=True, none=None) == expected


def test_an_undefined_name_is_an_error():
    with pytest.raises(TemplateRenderError, match="`missing` is not defined"):
        render("{{ missing }}")


def test_an_undefined_attribute_is_an_error_in_text_too():
    with pytest.raises(TemplateRenderError, match="no `nope` in the mapping"):
        render("x {{ d.nope }}", d={})


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ n.__class__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ f.__globals__ }}",
    ],
    ids=["mro", "subclasses", "globals-of-builtin", "globals-of-function"],
)
def test_the_sandbox_refuses_python_internals(text):
    with pytest.raises(TemplateRenderError):
        value = render(text, n=1, f=lambda: 1)
        assert value in (None, ""), value  # an unsafe attribute renders as undefined, which raises


def test_there_is_no_way_to_read_files():
    with pytest.raises(TemplateCompileError):
        compile_template("{% include '/etc/passwd' %}{{ x", SPAN)
    with pytest.raises(TemplateRenderError):
        render("{% include '/etc/passwd' %}")


def test_a_syntax_error_points_at_the_line_inside_a_multiline_string():
    span = Span(SourceFile("flow.yaml", "a\nb\nc\nd\n"), 2, 5)
    with pytest.raises(TemplateCompileError) as caught:
        compile_template("line one\nline two {{ oops(}}\n", span)
    assert caught.value.span.line == 3


def test_names_read_by_a_template_are_known_at_compile_time():
    template = compile_template("{{ a }}/{{ b.c }}{% for i in items %}{{ i }}{% endfor %}", SPAN)
    assert template.names == {"a", "b", "items"}


def test_a_missing_environment_variable_is_named():
    from runner.flowfile.templates import EnvironmentVariables

    with pytest.raises(TemplateRenderError, match="the environment variable BC_STORE_HASH is not set"):
        render("{{ env.BC_STORE_HASH }}", env=EnvironmentVariables())
    assert render("{{ env.X | default('d') }}", env=EnvironmentVariables()) == "d"
    assert render("{{ env.X }}", env=EnvironmentVariables(X="1")) == "1"


def test_each_distinct_template_is_compiled_once_per_process(write, monkeypatch):
    from collections import Counter

    from runner.flowfile import templates
    from runner.flowfile.loader import load_flows

    templates._compiled.cache_clear()
    templates._jinja_compiled.cache_clear()
    env = templates.environment()
    parsed: Counter[str] = Counter()
    original = env.parse

    def counting_parse(source, *args, **kwargs):
        parsed[source] += 1
        return original(source, *args, **kwargs)

    monkeypatch.setattr(env, "parse", counting_parse)
    flow = 'vars: {base: "{{ env.BASE }}"}\nsteps:\n  - request: {url: "{{ base }}/a", params: {q: "{{ base }}"}}\n'
    write(flow, "a.yaml")
    path = write(flow, "b.yaml")
    flows = load_flows([str(path.parent)])
    assert len(flows) == 2
    assert templates._compiled.cache_info().misses == 3  # three texts, five uses, once each
    assert parsed == {"{{ env.BASE }}": 1}  # the plain two (text and `{{ name }}`) never reach Jinja
