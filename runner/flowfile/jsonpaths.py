"""JSONPath expressions, parsed once at load with jsonpath-ng's extended parser (filters).

Most paths in flows are plain walks (`$.data.items[0].id`): a name or an index per segment.
Those are read here and followed without jsonpath-ng, with its exact results (a name matches
only in a mapping, an index only in a list and within its bounds); a flow whose paths are all
plain never imports jsonpath-ng, which saves start-up time and a parse per path, and following
one costs a dict or list lookup per segment. Anything else (filters, wildcards, slices, quoted
names, recursive descent) goes to jsonpath-ng.

Besides finding matches, a path that matches nothing can say how far it got: the deepest prefix
that did match and the keys found there, which is what a person needs to fix a typo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from runner.limits import MAX_JSONPATH_SEGMENTS

if TYPE_CHECKING:
    from jsonpath_ng import JSONPath

_cache: dict[str, JSONPath] = {}

# A plain path: `$`, then `.name` or `[index]` segments; a name as jsonpath-ng's lexer reads one
# (less its `@` and `-`), an index as its NUMBER.
_PLAIN = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[-?[0-9]+\])+")
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(-?[0-9]+)\]")
# Names jsonpath-ng's extended lexer reads as words of its own, not as a field.
_WORDS = frozenset({"where", "wherenot", "true", "false", "null"})

Segment = str | int  # a name in a mapping, or an index in a list


class JsonPathSyntaxError(Exception):
    """The text is not a JSONPath jsonpath-ng can parse."""


@dataclass(frozen=True, slots=True, eq=False)
class JsonPath:
    """A JSONPath as written, ready to find its matches in a document."""

    text: str
    _expr: JSONPath | None  # jsonpath-ng's parse; None for a plain path (`_plain`)
    _plain: tuple[Segment, ...] | None = None

    @property
    def definite(self) -> bool:
        """Whether the path names one place (`$.a.b[0]`), not many (wildcard, filter, slice,
        recursive descent, union): a definite path is checked as one value."""
        if self._plain is not None:
            return True
        from jsonpath_ng import Child, Fields, Index, Root, This

        stack: list[Any] = [self._expr]
        while stack:
            node = stack.pop()
            if isinstance(node, Child):
                stack += [node.left, node.right]
            elif isinstance(node, Fields):
                if len(node.fields) != 1 or node.fields[0] == "*":
                    return False
            elif isinstance(node, Index):
                if len(getattr(node, "indices", (0,))) != 1:
                    return False
            elif not isinstance(node, (Root, This)):
                return False
        return True

    def find(self, data: Any) -> list[Any]:
        """The values of every match, in document order."""
        if self._plain is not None:
            return _follow(self._plain, data)
        assert self._expr is not None
        return [m.value for m in self._expr.find(data)]

    def explain_miss(self, data: Any) -> str:
        """Why nothing matched: the deepest prefix that matched and what it held."""
        from jsonpath_ng import Child

        expr = self._expr if self._expr is not None else _parsed(self.text)
        while isinstance(expr, Child):
            found = expr.left.find(data)
            if found:
                return f"{expr.left} matched, holding {_describe(found[0].value)}"
            expr = expr.left
        return f"the document is {_describe(data)}"


def _follow(segments: tuple[Segment, ...], data: Any) -> list[Any]:
    """A plain path's match, as jsonpath-ng finds it: [value], or [] where a segment misses."""
    for segment in segments:
        if type(segment) is int:
            if not isinstance(data, (list, tuple)) or not -len(data) <= segment < len(data):
                return []
        elif not isinstance(data, dict) or segment not in data:
            return []
        data = data[segment]
    return [data]


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:12]) + (", ..." if len(value) > 12 else "")
        return f"a mapping with keys: {keys}" if value else "an empty mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return f"the value {value!r}"


def compile_jsonpath(text: str) -> JsonPath:
    """Parse `text` once; raises JsonPathSyntaxError with the parser's reason."""
    if not text.strip().startswith("$"):
        raise JsonPathSyntaxError("a JSONPath starts with `$`, such as $.data.id")
    plain = _plain(text)
    if plain is not None:
        return JsonPath(text, None, plain)
    return JsonPath(text, _parsed(text))


@lru_cache(maxsize=4096)
def _plain(text: str) -> tuple[Segment, ...] | None:
    """The segments of a plain path, or None for a path jsonpath-ng must read; one tuple per
    distinct path, however many flows hold it."""
    if not _PLAIN.fullmatch(text):
        return None
    segments = tuple(name if name else int(index) for name, index in _SEGMENT.findall(text))
    if len(segments) >= MAX_JSONPATH_SEGMENTS or _WORDS.intersection(s for s in segments if type(s) is str):
        return None  # refused, or read otherwise, by jsonpath-ng: it says what it says
    return segments


def _parsed(text: str) -> JSONPath:
    expr = _cache.get(text)
    if expr is None:
        from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
        from jsonpath_ng.ext.parser import parse

        try:
            expr = parse(text)
        except (JsonPathLexerError, JsonPathParserError) as err:
            raise JsonPathSyntaxError(str(err).splitlines()[0]) from None
        except RecursionError:
            raise JsonPathSyntaxError(f"it nests more than {MAX_JSONPATH_SEGMENTS} levels deep") from None
        except Exception as err:  # jsonpath-ng raises bare Exceptions for some syntax errors
            raise JsonPathSyntaxError(str(err).splitlines()[0] if str(err) else type(err).__name__) from None
        if _depth(expr) > MAX_JSONPATH_SEGMENTS:
            # jsonpath-ng finds matches recursively, a few frames per segment.
            raise JsonPathSyntaxError(f"it has more than {MAX_JSONPATH_SEGMENTS} segments")
        _cache[text] = expr
    return expr


def _depth(expr: Any) -> int:
    """How deeply the parsed path's nodes nest (a `Child` per `.segment`), counted iteratively."""
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((getattr(node, side), depth + 1) for side in ("left", "right") if hasattr(node, side))
    return deepest
