"""Templates of text, `{{ name }}` and `{{ secret('NAME') }}` only are rendered without Jinja,
with Jinja's results.

Generated templates and scopes are checked against Jinja itself: the same value (and type), the
same names and native-ness, and the same message when a render fails.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Undefined

from runner.flowfile.source import SourceFile, Span
from runner.flowfile.templates import (
    PlainTemplate,
    Template,
    TemplateCompileError,
    TemplateRenderError,
    _jinja_compiled,
    compile_template,
    environment,
)

SPAN = Span(SourceFile("flow.yaml", "x\n"), 1, 1)
NAMES = st.sampled_from(["a", "base", "cart_id", "x1", "B", "true", "none", "None", "loop", "self", "range", "in"])
# Calls of the `secret` helper, spelt as flows spell them and as they should not be.
CALLS = st.sampled_from(
    [
        *("secret('TOKEN')", 'secret("TOKEN")', "secret( 'UNSET' )", "secret('_A1')", "secret('a b')", "secret('')"),
        *("secret(TOKEN)", "secret('TOKEN', 1)", "secret('T\\'N')", "secret ('TOKEN')", "secret('1A')", "secret"),
    ]
)


class Secrets:
    """A run's `secret` helper as the scope gives it: a bound method, failing for an unset name."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def secret(self, name: str) -> str:
        if name not in self.values:
            raise LookupError(f"secret('{name}'): the environment variable {name} is not set")
        return self.values[name]


class Refused:
    """A helper the sandbox refuses to call."""

    def secret(self, name: str) -> str:
        return name

    secret.unsafe_callable = True  # type: ignore[attr-defined]


HELPERS = st.one_of(
    st.just(Refused().secret),
    st.builds(
        lambda v: Secrets(v).secret, st.dictionaries(st.sampled_from(["TOKEN", "_A1", "a b"]), st.text(max_size=3))
    ),
    st.text(max_size=3),  # a var named `secret`, which Jinja cannot call
    st.just(lambda name: f"<{name}>"),  # not the run's helper: still rendered as Jinja renders it
)
SPACES = st.sampled_from(["", " ", "  ", "\n", "\t", "- ", " -"])
TEXTS = st.text(alphabet="ab/{}%#- \n\r.", max_size=6)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(Undefined()),
)


@st.composite
def templates(draw: st.DrawFn) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        pieces.append(draw(TEXTS))
        inside = draw(st.one_of(NAMES, CALLS))
        pieces.append("{{" + draw(SPACES) + inside + draw(SPACES) + "}}")
    pieces.append(draw(TEXTS))
    return "".join(pieces)


def outcome(template: Template, scope: dict[str, object]) -> tuple[str, object]:
    try:
        value = template.render(scope)
    except TemplateRenderError as err:
        return "error", str(err)
    return type(value).__name__, value


@settings(max_examples=800, derandomize=True)
@given(source=templates(), scope=st.dictionaries(NAMES, VALUES, max_size=5), helper=st.none() | HELPERS)
def test_a_plain_template_renders_what_jinja_renders(source, scope, helper):
    if helper is not None:
        scope = {**scope, "secret": helper}
    try:
        ours = compile_template(source, SPAN)
    except TemplateCompileError:
        ours = None
    try:
        jinja = Template(source, SPAN, *_jinja_compiled(source))
    except Exception:  # Jinja does not compile it: neither may we
        assert ours is None
        return
    assert ours is not None
    assert (ours.names, ours.native, ours.optional, ours.step_ids) == (
        jinja.names,
        jinja.native,
        jinja.optional,
        jinja.step_ids,
    )
    if isinstance(ours._render, PlainTemplate):
        scope = {**environment().globals, **scope}  # Jinja's globals too, the scope winning
        assert outcome(ours, scope) == outcome(jinja, scope)


def test_plain_templates_are_the_common_ones():
    plain = ["{{ base }}/carts", "{{ base }}/checkouts/{{ cart_id }}/consignments", "{{ cart_id }}", " {{a}} "]
    plain += ["{{ secret('BC_ACCESS_TOKEN') }}", 'Bearer {{ secret("API_TOKEN") }}']
    for source in plain:
        assert isinstance(compile_template(source, SPAN)._render, PlainTemplate), source
    for source in [
        "{{ env.BASE }}",
        "{{ a | int }}",
        "{{- a }}",
        "a\r\n{{ a }}",
        "{{ true }}",
        "{% if a %}{% endif %}",
        "{{ secret('A' ~ b) }}",
        "{{ secret(name) }}",
    ]:
        assert not isinstance(compile_template(source, SPAN)._render, PlainTemplate), source
    try:  # `{{{ a }}` is `{{ {a} }}` to Jinja: still its syntax error
        compile_template("{{{ a }}", SPAN)
    except TemplateCompileError as err:
        assert "syntax error" in str(err)
    else:
        raise AssertionError("{{{ a }} compiled")
    assert compile_template(" {{ a }}\n", SPAN).render({"a": [1]}) == [1]  # native, as Jinja's
    assert compile_template("{{ a }}/{{ a }}", SPAN).render({"a": None}) == "None/None"


def test_a_name_the_scope_lacks_is_said_as_jinja_says_it():
    template = compile_template("{{ base }}/carts/{{ cart_idd }}", SPAN)
    try:
        template.render({"base": "http://x", "cart_id": 1})
    except TemplateRenderError as err:
        assert str(err) == "`cart_idd` is not defined"
    else:
        raise AssertionError("an undefined name rendered")
    assert compile_template("{{ range }}", SPAN).render({}) is environment().globals["range"]  # through Jinja


def test_a_plain_template_keeps_the_output_limit():
    from runner.limits import MAX_TEXT

    source = "{{ a }}/{{ a }}"
    scope = {"a": "x" * (MAX_TEXT // 2 + 1)}
    ours = compile_template(source, SPAN)
    assert isinstance(ours._render, PlainTemplate)
    expected = outcome(Template(source, SPAN, *_jinja_compiled(source)), scope)
    assert expected[0] == "error" and "limit" in str(expected[1])
    assert outcome(ours, scope) == expected
