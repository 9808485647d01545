"""Reads a dotenv file (`KEY=value` lines) for `--env-file`.

Supported: blank lines, `#` comments, an optional `export ` prefix, values in single quotes
(taken literally) or double quotes (with \\n, \\t, \\" and \\\\ escapes), and unquoted values
with a trailing ` # comment`. No variable expansion: what is written is what is set.
"""

from __future__ import annotations

import re
from pathlib import Path

from runner.errors import UsageError
from runner.flowfile.files import UnreadableFileError, read_text

_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(?P<value>.*?)\s*$")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), raw[1:-1])
    return re.split(r"\s+#", raw, maxsplit=1)[0]


def read_env_file(path: str) -> dict[str, str]:
    """The variables set by the dotenv file at `path`; a bad line is a usage error."""
    try:
        text = read_text(Path(path))
    except UnreadableFileError as err:
        raise UsageError(f"--env-file {path}: cannot read it: {err}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise UsageError(f"{path}:{number}: expected KEY=value (the line is not shown: it may hold a secret)")
        values[match["key"]] = _unquote(match["value"])
    return values
