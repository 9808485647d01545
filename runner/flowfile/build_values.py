"""The base of the flow builder: compiling template strings, structured values and JSONPaths.

Every problem is recorded with its place in the file rather than raised, so that one load
reports all of them.
"""

from __future__ import annotations

from typing import Any

from runner.flowfile.jsonpaths import JsonPath, JsonPathSyntaxError, compile_jsonpath
from runner.flowfile.source import Problem, Span
from runner.flowfile.templates import (
    Template,
    TemplateCompileError,
    Tree,
    compile_template,
    is_template,
    templates_in,
)
from runner.flowfile.yaml_source import Document, Path


class ValueBuilder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.step_name = ""

    def problem(self, span: Span, message: str, hint: str = "") -> None:
        self.problems.append(Problem(span, message, hint, step=self.step_name))

    def template(self, text: str, path: Path) -> Template | str:
        if not is_template(text):
            return text
        try:
            return compile_template(text, self.doc.span(path))
        except TemplateCompileError as err:
            self.problem(err.span, str(err), err.hint)
            return text

    def value(self, value: Any, path: Path) -> Any:
        """Compile every template inside `value`; a structured value becomes a `Tree`."""
        if isinstance(value, str):
            return self.template(value, path)
        if isinstance(value, (dict, list)):
            compiled = self._tree(value, path)
            names = frozenset(n for t in templates_in(compiled) for n in t.names)
            return Tree(compiled, names)
        return value

    def _tree(self, value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            return {k: self._tree(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self._tree(v, (*path, i)) for i, v in enumerate(value)]
        return self.template(value, path) if isinstance(value, str) else value

    def tree(self, value: Any, path: Path) -> Tree | None:
        if not isinstance(value, dict):
            return None
        compiled = self.value(value, path)
        return compiled if isinstance(compiled, Tree) else None

    def jsonpath(self, text: Any, path: Path, *, at_key: bool = False) -> JsonPath | None:
        if not isinstance(text, str):
            return None
        try:
            return compile_jsonpath(text)
        except JsonPathSyntaxError as err:
            span = self.doc.key_span(path) if at_key else self.doc.span(path)
            self.problem(
                span,
                f"invalid JSONPath `{text if len(text) <= 80 else text[:77] + '...'}`: {err}",
                "JSONPaths look like $.data.id, $.data.items[0].id or $.data[?(@.type == 'card')].id",
            )
            return None

    def conditions(self, value: Any, path: Path) -> tuple[Template, ...]:
        """`that` entries may leave out the braces: `x > 1` means `{{ x > 1 }}`."""
        entries = [(value, path)] if isinstance(value, str) else []
        if isinstance(value, list):
            entries = [(v, (*path, i)) for i, v in enumerate(value) if isinstance(v, str)]
        compiled = [self.template(t if is_template(t) else "{{ " + t + " }}", p) for t, p in entries]
        return tuple(t for t in compiled if isinstance(t, Template))


def mapping_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
