"""Budgets for rendering a template: time, loop iterations, and the size of what it builds.

Jinja's sandbox stops a template from reaching Python's internals, but not from asking for
`'a' * 10**9`, `9 ** (9 ** 9)`, `'{:>999999999}'.format(1)` or nested loops of `range(99999)`:
each would take gigabytes or never finish. The environment in `templates.py` routes every
operator, call, filter, loop and output chunk of a render through this module, which:

- refuses *before* computing anything whose size a number decides (a repeat, a width, a power,
  a fill) when that size is over the limit, since the allocation itself is the harm;
- checks the size of every other string or list an operation returns (concatenation, `join`,
  `replace`: bounded by their inputs, so checking after is safe);
- counts loop iterations and watches the clock, so a render ends within `RENDER_SECONDS`.

A breach raises `TemplateLimitError`, which the step reports as a located error (exit 1).
The limits live in `runner/limits.py`.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

from runner.limits import MAX_INT_BITS, MAX_ITEMS, MAX_LOOP_ITERATIONS, MAX_TEXT, RENDER_SECONDS

# A width or precision in a %-format (`%-999999d`) or a str.format spec (`{:>999999}`).
_PERCENT_WIDTHS = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\d*)(?:\.(\d+))?")
_FORMAT_SPECS = re.compile(r"\{[^{}]*:([^{}]*)\}")


class TemplateLimitError(TemplateRuntimeError):
    """A template went over one of its budgets; the message names the limit."""


class _Budget(threading.local):
    deadline = float("inf")
    iterations = 0


_budget = _Budget()


def start_render() -> None:
    """Give the render that starts now its own time and iteration budget."""
    _budget.deadline = time.monotonic() + RENDER_SECONDS
    _budget.iterations = 0


def tick() -> None:
    if time.monotonic() > _budget.deadline:
        raise TemplateLimitError(f"the template ran longer than {RENDER_SECONDS:g} s, the limit")


_UNITS = {"a text": "characters", "a list": "items", "an integer": "bits", "a number": ""}


def _too_big(what: str, size: int, limit: int) -> TemplateLimitError:
    """`what` is "a text", "a list", "an integer" or "a number" (a width, a count)."""
    unit = _UNITS[what]
    if not unit:
        return TemplateLimitError(f"the template asks for a width or count of {size:,}; the limit is {limit:,}")
    return TemplateLimitError(f"the template would build {what} of {size:,} {unit}; the limit is {limit:,}")


def checked(value: Any) -> Any:
    """`value` when it is within the size limits; a `TemplateLimitError` otherwise."""
    if isinstance(value, (str, bytes)) and len(value) > MAX_TEXT:
        raise _too_big("a text", len(value), MAX_TEXT)
    if isinstance(value, (list, tuple, dict, set)) and len(value) > MAX_ITEMS:
        raise _too_big("a list", len(value), MAX_ITEMS)
    return value


def loop(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every `{% for %}` iterates through this: counts iterations, watches the clock."""
    for item in iterable:
        _budget.iterations += 1
        if _budget.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateLimitError(f"the template's loops ran more than {MAX_LOOP_ITERATIONS:,} times, the limit")
        tick()
        yield item


def output(chunks: Iterable[str]) -> str:
    """A template's text output, joined, refused as soon as it outgrows `MAX_TEXT`."""
    parts: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_TEXT:
            raise _too_big("a text", total, MAX_TEXT)
        parts.append(chunk)
    return "".join(parts)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result a number makes too large, before computing it."""
    tick()
    if operator == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        bits = right * abs(left).bit_length()
        if bits > MAX_INT_BITS:
            raise _too_big("an integer", bits, MAX_INT_BITS)
    elif operator == "*":
        if _is_int(left) and _is_int(right):
            bits = left.bit_length() + right.bit_length()
            if bits > MAX_INT_BITS:
                raise _too_big("an integer", bits, MAX_INT_BITS)
        elif _is_int(right) or _is_int(left):
            sequence, count = (left, right) if _is_int(right) else (right, left)
            _check_repeat(sequence, count)
    elif operator == "+":
        checked_size = _length(left) + _length(right)
        if isinstance(left, str) and checked_size > MAX_TEXT:
            raise _too_big("a text", checked_size, MAX_TEXT)
        if isinstance(left, (list, tuple)) and checked_size > MAX_ITEMS:
            raise _too_big("a list", checked_size, MAX_ITEMS)
    elif operator == "%" and isinstance(left, str):
        check_format(left)


def _check_repeat(sequence: Any, count: int) -> None:
    size = _length(sequence) * max(count, 0)
    limit = MAX_TEXT if isinstance(sequence, (str, bytes)) else MAX_ITEMS
    if size > limit:
        raise _too_big("a text" if limit == MAX_TEXT else "a list", size, limit)


def check_format(template: str) -> None:
    """Refuse a format string whose widths or precisions would build a huge text."""
    widths = [w for match in _PERCENT_WIDTHS.finditer(template) for w in match.groups() if w]
    widths += [w for spec in _FORMAT_SPECS.findall(template) for w in re.findall(r"\d+", spec)]
    for width in widths:
        if len(width) > 8 or int(width) > MAX_TEXT:
            raise _too_big("a number", int(width) if len(width) <= 30 else 10**30, MAX_TEXT)


def check_call(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Refuse a call that a number or its input would make too large; True for a text method.

    A method of a string builds a new string, whose size the caller checks afterwards.
    """
    tick()
    # The sandbox hands out str.format as a wrapper of its own around the bound method.
    owner = getattr(getattr(function, "__wrapped__", function), "__self__", None)
    if not isinstance(owner, (str, bytes)):
        return False
    for value in (*args, *kwargs.values()):
        if _is_int(value) and value > MAX_TEXT:
            raise _too_big("a number", value, MAX_TEXT)
    _check_text_method(owner, getattr(function, "__name__", ""), args, kwargs)
    return True


def _check_text_method(text: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if name in ("format", "format_map") and isinstance(text, str):
        check_format(text)
    elif name == "join" and args:
        _check_join(text, args[0])
    elif name == "replace" and len(args) >= 2:
        _check_replace(text, args[0], args[1])
    elif name == "expandtabs":
        size = len(text) * int((args or (kwargs.get("tabsize", 8),))[0] or 0)
        if size > MAX_TEXT:
            raise _too_big("a text", size, MAX_TEXT)


def _check_join(separator: Any, items: Any) -> None:
    if not isinstance(items, (list, tuple)):
        return
    size = _length(separator) * max(len(items) - 1, 0) + sum(_length(i) for i in items)
    if size > MAX_TEXT:
        raise _too_big("a text", size, MAX_TEXT)


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    count = len(text) + 1 if not old else text.count(old)
    size = len(text) + count * (len(new) - len(old))
    if size > MAX_TEXT:
        raise _too_big("a text", size, MAX_TEXT)


def guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (a Jinja filter) with its numeric arguments and its result checked."""
    # Filters marked pass_context/pass_environment get that first; the value comes next.
    skip = 2 if hasattr(function, "jinja_pass_arg") else 1

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        value, extra = (args[skip - 1] if len(args) >= skip else None), args[skip:]
        for number in (*extra, *kwargs.values()):
            if _is_int(number) and number > MAX_TEXT:
                raise _too_big("a number", number, MAX_TEXT)
        if name == "format" and isinstance(value, str):
            check_format(value)
        elif name == "join" and extra:
            _check_join(extra[0], list(value) if isinstance(value, (list, tuple)) else value)
        elif name == "replace" and len(extra) >= 2:
            _check_replace(value, extra[0], extra[1])
        elif name in ("indent", "center") and isinstance(value, str):
            width = next((n for n in (*extra, *kwargs.values()) if _is_int(n)), 4)
            size = len(value) + width * (value.count("\n") + 1)
            if size > MAX_TEXT:
                raise _too_big("a text", size, MAX_TEXT)
        return checked(function(*args, **kwargs))

    return guarded
