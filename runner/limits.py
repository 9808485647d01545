"""Every limit apiflow puts on what a flow file, a template or a server can make it do.

One place, so the README's table of limits and the code cannot drift apart. A breach is always
a located problem (a load error, exit 2) or a failed step (exit 1), never a crash. The only
limits a flow may raise are per request: `timeout` and `http.max_response_mb`.
"""

from __future__ import annotations

from typing import Any

# Files a flow names: the flow itself, `use`, matrix and schema files, --env-file.
MAX_FILE_BYTES = 1024 * 1024
# Levels of nesting in a flow, matrix or schema file (real flows use fewer than 15).
MAX_YAML_DEPTH = 100
# Values in one YAML document after aliases are expanded (stops "billion laughs").
MAX_YAML_VALUES = 100_000
# Flows using flows using flows.
MAX_USE_DEPTH = 32
# Segments of one JSONPath (`$.a.b` has two).
MAX_JSONPATH_SEGMENTS = 100
# Characters in one template string.
MAX_TEMPLATE_CHARS = 100_000

# While a template renders (see runner/flowfile/template_guard.py):
RENDER_SECONDS = 1.0  # wall time for one template
MAX_TEXT = 10_000_000  # characters of any string a template builds, and of its output
MAX_ITEMS = 1_000_000  # items of any list a template builds
MAX_LOOP_ITERATIONS = 1_000_000  # `{% for %}` iterations in one render, nested loops counted
MAX_INT_BITS = 100_000  # size of an integer `**` or `*` may build (about 30,000 digits)

# Responses.
DEFAULT_MAX_RESPONSE_MB = 50  # body size after decompression; `http.max_response_mb` changes it
MAX_JSON_DEPTH = 200  # levels of nesting in a response's JSON

# OpenAPI descriptions (`openapi:`, `--openapi`): bigger than flows, parsed once per run.
MAX_OPENAPI_BYTES = 16 * 1024 * 1024
MAX_OPENAPI_VALUES = 1_000_000
MAX_CONTRACT_ERRORS = 10  # schema errors listed per response; the rest are counted

# Steps.
MAX_SLEEP_SECONDS = 300  # a step's `sleep` (the schema's maximum; a test keeps them equal)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` (dicts and lists) nests more than `limit` levels; iterative, so never deep."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
