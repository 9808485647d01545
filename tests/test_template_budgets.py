"""Templates have budgets: time, loop iterations, and the size of what they build (issue 8 §3).

Each hostile template is refused *before* it allocates or spins (a repeat, a width, a power),
or as soon as what it built outgrows the limit; the step then fails, located, with exit 1.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.flowfile.source import SourceFile, Span
from runner.flowfile.templates import TemplateRenderError, compile_template

SPAN = Span(SourceFile("flow.yaml", "x"), 1, 1)

HOSTILE = [
    ("power-tower", "{{ 9 ** (9 ** 9) }}", "an integer of"),
    ("text-repeat", "{{ 'a' * 10 ** 9 }}", "a text of 1,000,000,000 characters"),
    ("list-repeat", "{{ [1] * 10 ** 9 }}", "a list of 1,000,000,000 items"),
    ("center-filter", "{{ 'a' | center(10 ** 9) }}", "a width or count of 1,000,000,000"),
    ("center-method", "{{ 'a'.center(10 ** 9) }}", "a width or count"),
    ("zfill", "{{ '0'.zfill(10 ** 9) }}", "a width or count"),
    ("percent-width", "{{ '%999999999d' % 1 }}", "a width or count of 999,999,999"),
    ("format-filter-width", "{{ '%999999999s' | format(1) }}", "a width or count"),
    ("str-format-width", "{{ '{:>999999999}'.format(1) }}", "a width or count"),
    ("indent", "{{ ('a\\n' * 100000) | indent(1000) }}", "a text of"),
    (
        "repeated-join",
        "{% set s = 'a' * 1000000 %}{{ [s, s, s, s, s, s, s, s, s, s, s] | join(s) }}",
        "a text of 21,000,000 characters",
    ),
    (
        "doubling-concat",
        "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "a text of 16,777,216 characters",
    ),
    ("recursive-macro", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursed too deeply"),
    ("huge-output", "{% for i in range(20000) %}{{ 'a' * 1000 }}{% endfor %}", "a text of"),
    ("lipsum", "{{ lipsum(10 ** 6) }}", "`lipsum` is not defined"),
    ("list-mutation", "{% set x = [1] %}{{ x.extend(x) }}", "is unsafe"),
]


@pytest.mark.parametrize(("template", "message"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_a_hostile_template_is_refused_with_a_message(template, message):
    with pytest.raises(TemplateRenderError) as caught:
        compile_template(template, SPAN).render({})
    assert message in str(caught.value)


def test_nested_loops_stop_at_the_iteration_budget(monkeypatch):
    # Lowered so the test is quick under coverage; the time budget would end it too.
    monkeypatch.setattr("runner.flowfile.template_guard.MAX_LOOP_ITERATIONS", 10_000)
    nested = "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateRenderError, match=r"loops ran more than 10,000 times"):
        compile_template(nested, SPAN).render({})


def test_the_time_budget_ends_a_slow_render(monkeypatch):
    monkeypatch.setattr("runner.flowfile.template_guard.RENDER_SECONDS", 0.0)
    with pytest.raises(TemplateRenderError, match=r"ran longer than 0 s"):
        compile_template("{% for i in range(10) %}{{ i }}{% endfor %}", SPAN).render({})


@pytest.mark.parametrize(
    ("template", "value"),
    [
        ("{% for i in range(3) %}{{ i }}{% if loop.last %}.{% endif %}{% endfor %}", "012."),
        ("{{ 2 ** 64 }}", 2**64),
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ [1, 2] | join(', ') }}", "1, 2"),
        ("{{ '%05.1f' % 3.14159 }}", "003.1"),
        ("{{ '{:>6}'.format('x') }}", "     x"),
        ("{{ 'a-b' ~ 'c' | upper }}", "a-bC"),
        ("{{ items | map(attribute='id') | list }}", [1, 2]),
    ],
)
def test_ordinary_templates_are_untouched(template, value):
    assert compile_template(template, SPAN).render({"items": [{"id": 1}, {"id": 2}]}) == value


def test_a_step_whose_template_breaks_a_budget_fails_located_with_exit_1(write, cli):
    path = write("steps:\n  - name: big\n    request: {url: \"http://127.0.0.1:9/{{ 'a' * 10 ** 9 }}\"}\n")
    result = cli("run", path)
    assert result.code == 1
    assert f"{path}:3:20: error: the template would build a text of 1,000,000,000 characters" in result.out
    assert "Traceback" not in result.output


# Operands and operations that make big values out of small source text.
NUMBERS = st.sampled_from(["0", "1", "2", "9", "-7", "99", "10 ** 6", "10 ** 9", "2 ** 31", "(9 ** 9)", "1.5", "1e308"])
TEXTS = st.sampled_from(["'a'", "'%s'", "'{}'", "'{:>9}'", "'%-99d'", "'\\n'", "''", "[1]", "[]", "range(5) | list"])
OPERATORS = st.sampled_from(["*", "**", "+", "%", "~", "//"])
FILTERS = st.sampled_from(
    [
        "center({n})",
        "indent({n})",
        "join('x' * {n})",
        "replace('', 'b' * {n})",
        "format({n})",
        "batch({n}, 0) | list",
        "wordwrap({n})",
        "truncate({n})",
        "string",
        "length",
        "list",
        "sum",
    ]
)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(st.one_of(NUMBERS, TEXTS))
    kind = draw(st.sampled_from(["binop", "filter", "method", "loop"]))
    left = draw(expressions(depth=depth - 1))
    right = draw(expressions(depth=depth - 1))
    if kind == "binop":
        return f"({left} {draw(OPERATORS)} {right})"
    if kind == "filter":
        return f"({left} | {draw(FILTERS).format(n=right)})"
    if kind == "method":
        method = draw(st.sampled_from(["center", "zfill", "ljust", "expandtabs", "format", "join", "replace"]))
        args = f"{right}, {right}" if method == "replace" else right
        return f"({left}).{method}({args})"
    return f"[{left}] * {right}"


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions())
def test_any_expression_renders_or_is_refused_never_crashes(expression):
    template = compile_template("{{ " + expression + " }}", SPAN)
    try:
        value = template.render({})
    except TemplateRenderError:
        return
    if isinstance(value, (str, list)):
        assert len(value) <= 10_000_000
