"""HTML and XML response bodies for `css` and `xpath`: parsed once per body, queried with the
selectors compiled at load (runner/flowfile/queries.py). lxml loads only when a flow uses them.

XML is parsed without resolving entities or reaching the network, so a response cannot make
apiflow read a local file (XXE) or expand a billion laughs. A body that does not parse is a
`MarkupError` saying what the body was (its content type and first bytes), which the caller
turns into a failed check.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lxml import etree, html

from runner.flowfile.queries import compiled_query


class MarkupError(Exception):
    """The body is not HTML or XML that lxml can read."""


def query(kind: str, text: str, body: bytes, content_type: str, attr: str | None = None) -> list[Any]:
    """Every value `kind` ("css" or "xpath") finds in the body, in document order, typed: text for
    elements and text nodes (an `attr` of a CSS match when asked), a number for `count()`, a
    boolean for a comparison."""
    root = _parsed(body, _kind_of(body, content_type))
    found = compiled_query(kind, text)(root)
    if not isinstance(found, list):
        return [_scalar(found)]
    values = []
    for item in found:
        if isinstance(item, etree._Element):
            if attr is not None:
                if item.get(attr) is not None:
                    values.append(str(item.get(attr)))
            else:
                values.append(_text_of(item))
        else:
            values.append(_scalar(item))
    return values


def _text_of(element: Any) -> str:
    return " ".join(
        str(element.text_content() if hasattr(element, "text_content") else "".join(element.itertext())).split()
    )


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return str(value)


def _kind_of(body: bytes, content_type: str) -> str:
    """HTML or XML as the content type says; a body without a markup type must look like markup
    (lxml would read a PNG or a JSON text as an HTML page of one paragraph)."""
    lowered = content_type.lower()
    if "html" in lowered:
        return "html"
    if "xml" in lowered:
        return "xml"
    start = body.lstrip()[:5]
    if not start.startswith(b"<"):
        shown = content_type.partition(";")[0].strip() or "without a Content-Type"
        raise MarkupError(f"the body is not HTML or XML ({shown})")
    return "xml" if start == b"<?xml" else "html"


_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


@lru_cache(maxsize=8)
def _parsed(body: bytes, kind: str) -> Any:
    """The body's document root (cached: every check of a step queries the same body)."""
    if not body.strip():
        raise MarkupError("the body is empty")
    try:
        if kind == "html":
            return html.document_fromstring(body)
        return etree.fromstring(body, parser=_XML)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as err:
        raise MarkupError(f"the body is not {kind.upper()}: {str(err).splitlines()[0] if str(err) else err}") from None


def describe(body: bytes, content_type: str) -> str:
    """What a body was, for a message: its content type and first bytes."""
    start = body[:40]
    return f"{content_type or 'no Content-Type'}, {len(body):,} bytes, starting {start!r}"
