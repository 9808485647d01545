"""CSS selectors and XPath expressions, compiled once per process by lxml (cssselect turns CSS
into XPath). Imported only by flows that use `css` or `xpath`: lxml costs ~25 ms to import.

Compiled at load, so a bad selector is a located error before anything is sent; the engine gets
the same compiled object from the cache when it queries a response.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cssselect import SelectorError
from cssselect.xpath import ExpressionError
from lxml import etree
from lxml.cssselect import CSSSelector


class QueryError(Exception):
    """The selector or expression does not compile; the message says why."""


@lru_cache(maxsize=1024)
def compiled_query(kind: str, text: str) -> Any:
    """`kind` is "css" or "xpath"; returns a callable that queries an lxml element."""
    try:
        if kind == "css":
            return CSSSelector(text)
        return etree.XPath(text)
    except (SelectorError, ExpressionError) as err:
        raise QueryError(str(err) or type(err).__name__) from None
    except etree.XPathSyntaxError as err:
        raise QueryError(str(err).lower() or "syntax error") from None
