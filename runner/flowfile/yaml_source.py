"""Safe YAML → plain Python data, with the position of every key and value.

Only YAML's core types are accepted: a Python tag (`!!python/object`) or any other unknown tag is
an error, not code to run. Aliases are expanded, but the total number of nodes a document may
expand to is bounded, so a "billion laughs" file fails fast instead of eating the memory.
Duplicate keys in a mapping are an error (PyYAML would silently keep the last one). Nesting is
bounded too (`MAX_YAML_DEPTH`), so a file of a thousand `[` or an alias that contains itself is a
located problem, not a crash of the parser.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from runner.flowfile.source import Problem, SourceFile, Span
from runner.limits import MAX_YAML_DEPTH, MAX_YAML_VALUES

Path = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null")}
# Timestamps and binary are valid YAML but mean nothing in a flow: keep their text.
_TEXT_TAGS = {f"{_CORE}timestamp", f"{_CORE}binary"}
_STR, _MAP, _SEQ, _MERGE = (f"{_CORE}{t}" for t in ("str", "map", "seq", "merge"))


class _Resolving:
    """How a node's tag is found, for a composer that calls it for every node (libyaml's calls
    back into Python for each): a flow file has no path resolvers, so entering and leaving a node
    is nothing to track, and a plain scalar's tag depends on its text alone, so the tag of a text
    met before (`name`, `request`, `201`, `POST`: most of a flow's scalars) is looked up, not
    matched against the resolvers' regular expressions again: a tenth of the parse."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[misc]
                if len(value) <= _PLAIN_TAG_TEXT and len(_PLAIN_TAGS) < _PLAIN_TAG_COUNT:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)  # type: ignore[misc,no-any-return]


# The tags of plain scalars met so far, by text; short texts only, and a bounded number of them,
# so that a large OpenAPI file of distinct values does not grow it without end.
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAG_TEXT = 64
_PLAIN_TAG_COUNT = 4096


class _Loader(_Resolving, yaml.SafeLoader):
    """SafeLoader whose composer we drive node by node, and which refuses to nest without end."""

    def __init__(self, source: SourceFile) -> None:
        super().__init__(source.text)
        self.source = source
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML composes recursively, a few frames a level: bound it before Python's stack does.
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeepError(_mark_span(self.source, mark))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_FAST: Any = None  # the libyaml loader class, where PyYAML was built with it
if hasattr(yaml, "CSafeLoader"):

    class _CLoader(_Resolving, yaml.CSafeLoader):
        """libyaml's parser and composer in C: the same nodes and marks, several times faster.
        libyaml refuses nesting past 1,000 levels by itself; the converter bounds it at 100."""

        def __init__(self, source: SourceFile) -> None:
            super().__init__(source.text)
            self.source = source

    _FAST = _CLoader


def _yaml_1_2(loader: Any) -> None:
    """YAML 1.2 booleans (only true/false: YAML 1.1's yes/no/on/off would turn a country code
    `NO` or a query parameter `on: 1` into a boolean behind the user's back) and floats (`1e3`
    is a number, as in JSON; YAML 1.1 wants a dot)."""
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    loader.add_implicit_resolver(
        f"{_CORE}float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
    )


_BOOL = f"{_CORE}bool"
for _loader_class in (_Loader, _FAST):
    if _loader_class is not None:
        _yaml_1_2(_loader_class)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "backspace", 0x0C: "form feed", 0x1B: "ESC", 0x7F: "DEL"}


# Where a value or key starts: PyYAML's mark, or its (line, column) when parsed in another
# process (parse_ahead.py); both count from 0.
Position = yaml.Mark | tuple[int, int]


def _mark_span(source: SourceFile, mark: Position) -> Span:
    """Where a PyYAML mark (or its line and column) points, as a span (1-based)."""
    if type(mark) is tuple:
        return Span(source, mark[0] + 1, mark[1] + 1)
    return Span(source, mark.line + 1, mark.column + 1)  # type: ignore[union-attr]


@dataclass(slots=True)
class Document:
    """A parsed YAML document: its data, and where each path of it stands in the file.

    Positions are kept as the parser's marks and made into a `Span` when asked for: a flow
    asks for fewer than half of them, and a mark costs nothing to keep."""

    source: SourceFile
    data: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def span(self, path: Path) -> Span:
        """The span of the value at `path`, or of its nearest ancestor that has one."""
        while path not in self.values and path:
            path = path[:-1]
        mark = self.values.get(path)
        return Span(self.source, 1, 1) if mark is None else _mark_span(self.source, mark)

    def key_span(self, path: Path) -> Span:
        """The span of the key that names `path`, falling back to its value."""
        mark = self.keys.get(path)
        return self.span(path) if mark is None else _mark_span(self.source, mark)


class _Converter:
    def __init__(self, doc: Document, loader: Any, max_values: int) -> None:  # _Loader or _CLoader
        self.doc = doc
        self.loader = loader
        self.max_values = max_values
        self.count = 0
        self.problems: list[Problem] = []
        self.visited: set[int] = set()
        self.seen_twice: set[int] = set()

    def span(self, node: yaml.Node) -> Span:
        return _mark_span(self.doc.source, node.start_mark)

    def convert(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > self.max_values:
            # Point at the entry whose expansion crossed the bound, not deep inside an anchor.
            raise _TooLargeError(self.doc.key_span(path[:1]) if path else self.span(node), bool(self.seen_twice))
        if len(path) > MAX_YAML_DEPTH:
            raise _TooDeepError(self.span(node))
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self.visited:
                self.seen_twice.add(id(node))  # an alias: the same node met again
            self.visited.add(id(node))
        self.doc.values[path] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            self.check_tag(node, _SEQ)
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        self.check_tag(node, _MAP)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.problems.append(
                    Problem(
                        self.span(key_node),
                        "YAML merge keys (<<) are not supported",
                        "write the keys out, or move shared parts into `vars` or `http`",
                    )
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                self.problems.append(self.bad_key(key_node))
                continue
            # Keys are names as written (`200:` and `on:` stay text), interned: a thousand flows
            # spell `status` and `request` thousands of times, and hold one string for each.
            key = sys.intern(str(key_node.value))
            if key in out:
                first = self.doc.key_span((*path, key))
                self.problems.append(
                    Problem(
                        self.span(key_node),
                        f"duplicate key `{key}` (first defined at line {first.line})",
                        "remove one of them; YAML would silently keep only the last",
                    )
                )
                continue
            self.doc.keys[(*path, key)] = key_node.start_mark
            out[key] = self.convert(value_node, (*path, key))
        return out

    def bad_key(self, node: yaml.Node) -> Problem:
        """A key that is not a string; `url: {{ base }}` makes one, a mapping inside a mapping."""
        span = self.span(node)
        line = self.doc.source.line(span.line)
        if isinstance(node, yaml.MappingNode) and "{{" in line:
            at = Span(self.doc.source, span.line, line.index("{{") + 1)
            return Problem(at, _UNQUOTED, _QUOTE_TEMPLATE)
        return Problem(span, "a mapping key must be a plain string", "quote the key")

    def scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR:  # most values: the text itself, without PyYAML's constructor machinery
            value = node.value
            if not value.isascii():
                self.check_characters(node, value)
            # Short texts recur across flows (methods, content types, templates): one copy each.
            return sys.intern(value) if len(value) <= 200 else value
        if tag in _TEXT_TAGS:
            return str(node.value)
        if tag not in _SCALAR_TAGS:
            self.check_tag(node, _STR)
            return str(node.value)
        try:
            value = self.loader.yaml_constructors[tag](self.loader, node)
        except (ValueError, KeyError, yaml.constructor.ConstructorError):
            return self.bad_scalar(node)
        if isinstance(value, str) and not value.isascii():
            self.check_characters(node, value)
        return value

    def bad_scalar(self, node: yaml.Node) -> Any:
        """A value its tag cannot hold (`!!int one`), or an integer too long to be one."""
        kind = node.tag.removeprefix(_CORE)
        text = str(node.value)
        if kind == "int" and text.lstrip("+-").isdigit():
            message = f"an integer of {len(text):,} digits is too long (at most 4,300)"
            hint = "quote it to keep it as text"
        else:
            message = f"`{text[:40]}` is not a valid {kind}"
            hint = f"remove the `!!{kind}` tag, or write a {kind}"
        self.problems.append(Problem(self.span(node), message, hint))
        return text

    def check_characters(self, node: yaml.Node, value: str) -> None:
        """A `"\\ud800"` escape makes a lone surrogate: not a character any output can print."""
        bad = next((ch for ch in value if 0xD800 <= ord(ch) <= 0xDFFF), None)
        if bad is not None:
            self.problems.append(
                Problem(
                    self.span(node),
                    f"the value holds a lone surrogate (U+{ord(bad):04X}), which is not a character",
                    "write the character itself, or a pair of \\u escapes that make one",
                )
            )

    def check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            self.problems.append(
                Problem(
                    self.span(node),
                    f"the YAML tag `{node.tag}` is not allowed",
                    "flows use plain YAML only: remove the `!` tag",
                )
            )


class _TooLargeError(Exception):
    def __init__(self, span: Span, aliases: bool) -> None:
        self.span = span
        self.aliases = aliases


class _TooDeepError(Exception):
    def __init__(self, span: Span) -> None:
        self.span = span


def _control_character(source: SourceFile) -> Problem | None:
    """A control character (NUL, BEL, ESC, DEL...) written as itself, which YAML forbids."""
    found = _CONTROL.search(source.text)
    if found is None:
        return None
    before = source.text[: found.start()]
    line = before.count("\n") + 1
    column = found.start() - (before.rfind("\n") + 1) + 1
    code = ord(found.group())
    name = _CONTROL_NAMES.get(code, "a control character")
    return Problem(
        Span(source, line, column),
        f"the file holds a control character (U+{code:04X}, {name}) that YAML does not allow",
        'remove it; if the value needs it, write it as an escape in double quotes, such as "\\u001b"',
    )


_UNQUOTED_TEMPLATE = re.compile(r"(?:^|[:\-,\[])\s*\{\{")
_UNQUOTED = "an unquoted template: YAML reads `{{` as the start of a mapping"
_QUOTE_TEMPLATE = 'a value that starts with {{ must be quoted, or YAML reads a mapping: url: "{{ base }}/get"'


def _yaml_problem(source: SourceFile, err: yaml.MarkedYAMLError) -> Problem:
    """PyYAML's error, with a hint for the mistakes people make most: a tab, an unquoted
    template, an unquoted `: ` inside a value."""
    mark = err.problem_mark or err.context_mark
    span = _mark_span(source, mark) if mark else None
    what = " ".join(filter(None, [err.context, err.problem]))
    hint = "check the indentation and quoting around this line"
    line = source.line(span.line) if span else ""
    leading = line[: len(line) - len(line.lstrip(" \t"))]
    if "\t" in leading or (err.problem and "'\\t'" in err.problem):
        return Problem(span, "a tab in the indentation: YAML indents with spaces only", "replace the tab by spaces")
    if span and _UNQUOTED_TEMPLATE.search(line):
        at = Span(source, span.line, line.index("{{") + 1)
        return Problem(at, _UNQUOTED, _QUOTE_TEMPLATE)
    if err.problem and "mapping values are not allowed" in err.problem:
        hint = 'a value that holds ": " must be quoted: name: "Error: declined"'
    return Problem(span, f"invalid YAML: {what}", hint)


def parse_yaml(source: SourceFile, *, max_values: int = MAX_YAML_VALUES) -> tuple[Document, list[Problem]]:
    """Parse `source`, one YAML document, into a `Document`; errors come back as problems.
    `max_values` bounds the values it may hold, aliases expanded (an OpenAPI file holds more)."""
    return _parse(source, several=False, max_values=max_values)[0]


def parse_yaml_documents(source: SourceFile) -> list[tuple[Document, list[Problem]]]:
    """Every YAML document of `source` (separated by `---`); an empty one between others is
    passed by. An error ends the file: the documents before it are kept."""
    return _parse(source, several=True)


def _parse(
    source: SourceFile, *, several: bool, max_values: int = MAX_YAML_VALUES
) -> list[tuple[Document, list[Problem]]]:
    control = _control_character(source)
    if control is not None:
        return [(Document(source, None), [control])]
    loader = (_FAST or _Loader)(source)
    found: list[tuple[Document, list[Problem]]] = []
    doc = Document(source, None)
    try:
        roots = _roots(loader) if several else iter([loader.get_single_node()])
        for root in roots:
            doc = Document(source, None)
            if root is None:
                break
            converter = _Converter(doc, loader, max_values)
            doc.data = converter.convert(root, ())
            if doc.data is not None or not several:
                found.append((doc, converter.problems))
    except _TooLargeError as err:
        found.append((doc, [_too_large(err, max_values)]))
    except (_TooDeepError, RecursionError) as err:
        deep = err.span if isinstance(err, _TooDeepError) else Span(source, 1, 1)
        hint = "flatten the data; an alias that contains itself (&a {b: *a}) nests without end"
        found.append((doc, [Problem(deep, f"the document nests deeper than {MAX_YAML_DEPTH} levels", hint)]))
    except yaml.MarkedYAMLError as err:
        found.append((doc, [_yaml_problem(source, err)]))
    except yaml.YAMLError as err:
        found.append((doc, [Problem(Span(source, 1, 1), f"invalid YAML: {err}")]))
    finally:
        loader.dispose()
    return found or [(Document(source, None), [])]


def _roots(loader: Any) -> Iterator[yaml.Node | None]:
    while loader.check_node():
        yield loader.get_node()


def _too_large(err: _TooLargeError, max_values: int) -> Problem:
    if err.aliases:
        hint = "this looks like an alias bomb; write the data out without deep `*alias` nesting"
        return Problem(err.span, f"the document expands to more than {max_values:,} values", hint)
    hint = "split it into several flows (`use:`), or move data into a matrix or schema file"
    return Problem(err.span, f"the document holds more than {max_values:,} values", hint)
