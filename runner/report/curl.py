"""A `curl` command that sends a recorded request again, secrets left as `${NAME}` references.

The command is for a person to paste into a shell where the named variables are set (for
example `BC_ACCESS_TOKEN`, or `PAT_ID` for a captured payment access token); the values
themselves never appear. Headers that curl sets by itself are left out.
"""

from __future__ import annotations

import re
import shlex

from runner.engine.redact import Redactor
from runner.engine.results import SentRequest

_AUTOMATIC = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent"})
_MARK = "\0"


def _quote(text: str, redactor: Redactor) -> str:
    """`text` quoted for a POSIX shell, with each secret as a `${NAME}` the shell expands."""
    marked = redactor.reference(text.replace(_MARK, ""), form=f"{_MARK}%s{_MARK}")
    if _MARK not in marked:
        return shlex.quote(marked)
    escaped = re.sub(r'(["\\$`])', r"\\\1", marked)
    return '"' + re.sub(f"{_MARK}(\\w+){_MARK}", r"${\1}", escaped) + '"'


def curl_command(request: SentRequest, redactor: Redactor) -> str:
    parts = ["curl", "-X", request.method, _quote(request.url, redactor)]
    for name, value in request.headers:
        if name.lower() not in _AUTOMATIC:
            parts += ["-H", _quote(f"{name}: {value}", redactor)]
    if request.body:
        parts += ["--data-binary", _quote(request.body.decode("utf-8", errors="replace"), redactor)]
    return " ".join(parts)
