"""JSONPath expressions, parsed once at load with jsonpath-ng's extended parser (filters).

Besides finding matches, a path that matches nothing can say how far it got: the deepest prefix
that did match and the keys found there, which is what a person needs to fix a typo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonpath_ng import Child, Fields, Index, JSONPath, Root, This
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as _parse

from runner.limits import MAX_JSONPATH_SEGMENTS

_cache: dict[str, JSONPath] = {}


class JsonPathSyntaxError(Exception):
    """The text is not a JSONPath jsonpath-ng can parse."""


@dataclass(frozen=True, slots=True, eq=False)
class JsonPath:
    text: str
    _expr: JSONPath

    @property
    def definite(self) -> bool:
        """Whether the path names one place (`$.a.b[0]`), not many (wildcard, filter, slice,
        recursive descent, union): a definite path is checked as one value."""
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
        return [m.value for m in self._expr.find(data)]

    def explain_miss(self, data: Any) -> str:
        """Why nothing matched: the deepest prefix that matched and what it held."""
        expr = self._expr
        while isinstance(expr, Child):
            found = expr.left.find(data)
            if found:
                return f"{expr.left} matched, holding {_describe(found[0].value)}"
            expr = expr.left
        return f"the document is {_describe(data)}"


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
    expr = _cache.get(text)
    if expr is None:
        try:
            expr = _parse(text)
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
    return JsonPath(text, expr)


def _depth(expr: Any) -> int:
    """How deeply the parsed path's nodes nest (a `Child` per `.segment`), counted iteratively."""
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((getattr(node, side), depth + 1) for side in ("left", "right") if hasattr(node, side))
    return deepest
