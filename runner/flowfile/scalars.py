"""Values typed on a command line or in a CSV cell: `3` is a number, `true` a boolean, `x` text."""

from __future__ import annotations

import json
from typing import Any


def parse_scalar(text: str) -> Any:
    """`text` as a JSON scalar when it is one (3, 2.5, true, null, "quoted"), else the text itself.

    JSON rather than YAML rules, so that `0123` (a postal code) and `NO` (a country) stay text.
    """
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, (int, float, bool, str)) else text
