"""Flow YAML as a person writes it, for every importer: a comment header (what to set, what was
left out), `name` and `vars`, then the steps, each with the comments that belong to it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

# Headers whose values are credentials: an importer turns a literal value into `secret('NAME')`.
SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "x-auth-token", "x-api-key", "api-key", "x-access-token", "proxy-authorization"}
)
# Body fields whose values are credentials (`password`, `card_number`, `cvv`, `api_key`...).
SECRET_FIELD = re.compile(r"pass(?:word|wd|phrase)|secret|api[-_]?key|cvv|cvc|card[-_]?number|^pin$", re.I)
MAX_LISTED = 50  # a header comment lists this many items, then a count
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")  # what a flow's `method` may be


@dataclass
class StepOut:
    """One step of an imported flow, with comments to write above it (scripts not run...)."""

    data: dict[str, Any]
    comments: list[str] = field(default_factory=list)


@dataclass
class FlowOut:
    name: str
    steps: list[StepOut]
    vars: dict[str, Any] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # header comment lines, after the secrets
    http: dict[str, Any] = field(default_factory=dict)  # the flow's `http`: headers and params of every step


def secret_name(text: str) -> str:
    """`X-Auth-Token` -> `X_AUTH_TOKEN`: the environment variable a secret is read from."""
    name = re.sub(r"\W+", "_", text).strip("_").upper() or "SECRET"
    return name if not name[0].isdigit() else f"_{name}"


def secret_template(name: str) -> str:
    return "{{ secret('" + name + "') }}"


def secret_fields(data: Any, secrets: set[str]) -> Any:
    """A body's password, card number or key (by its field's name) as `secret('NAME')`, its name
    added to `secrets`: the recording or collection holds the real one; the flow must not."""
    if isinstance(data, list):
        return [secret_fields(v, secrets) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        written = isinstance(value, (str, int)) and not isinstance(value, bool) and "{{" not in str(value)
        if written and SECRET_FIELD.search(str(key)):  # a template (a capture, a var) stays as it is
            secrets.add(secret_name(key))
            out[key] = secret_template(secret_name(key))
        else:
            out[key] = secret_fields(value, secrets)
    return out


def listed(title: str, items: list[str]) -> list[str]:
    """A titled comment list, long ones cut at MAX_LISTED."""
    if not items:
        return []
    lines = [f"{title} ({len(items)}):"] + [f"  {item}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"  ... and {len(items) - MAX_LISTED} more")
    return lines


class UniqueNames:
    """Names made unique as they come: `name`, then `name (2)`, `name (3)`... (in the `pattern`).
    Counts per name, so a thousand steps of one name cost a thousand lookups, not a million."""

    def __init__(self, pattern: str = "{name} ({n})") -> None:
        self.pattern = pattern
        self.taken: set[str] = set()
        self.last: dict[str, int] = {}  # name -> the last n given to it

    def __call__(self, name: str) -> str:
        candidate, n = name, self.last.get(name, 1)
        while candidate in self.taken:
            n += 1
            candidate = self.pattern.format(name=name, n=n)
        self.last[name] = n
        self.taken.add(candidate)
        return candidate


def write_flow(flow: FlowOut, source: str) -> str:
    lines = [f"# Imported by `apiflow import` from {source}; review it before you rely on it."]
    if flow.secrets:
        lines.append("# Secrets to set in the environment (or --env-file): " + ", ".join(sorted(flow.secrets)))
    lines += [_comment(note) for note in flow.notes]
    head: dict[str, Any] = {"name": flow.name}
    if flow.vars:
        head["vars"] = flow.vars
    if flow.http:
        head["http"] = flow.http
    out = "\n".join(lines) + "\n" + dump(head) + "steps:\n"
    for step in flow.steps:
        out += "".join(_comment(c) + "\n" for c in step.comments) + dump([step.data])
    return out


def _comment(text: str) -> str:
    # One comment line per line of text: a script's newline must not end the comment.
    return "\n".join(f"# {line}".rstrip() for line in text.splitlines() or [""])


class _Dumper(yaml.SafeDumper):
    """YAML as a person writes flows: templates in double quotes (`"{{ secret('X') }}"`)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if "{{" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


_JINJA_OPENERS = re.compile(r"\{[{%#]")
# Names a template already has in scope, and words Jinja reads as operators or constants.
RESERVED = frozenset(
    {"env", "vars", "steps", "secret", "uuid", "random_int", "now", "fake", "response", "loop", "self",
     "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
     "for", "import", "as", "with", "block", "set", "macro", "call", "filter", "recursive", "elif"}
)  # fmt: skip


def literal(text: str) -> str:
    """`text` as a template that renders to exactly `text`: Jinja's openers quoted, and a `{` at
    the end too (a template may follow it: `{` + `{{ id }}` would read as `{{{ id }}`)."""
    quoted = _JINJA_OPENERS.sub(lambda m: "{{ '" + m.group() + "' }}", text)
    return quoted[:-1] + "{{ '{' }}" if quoted.endswith("{") else quoted


def literal_tree(value: Any) -> Any:
    """An expected value (a text, or an operator map holding texts) with every text `literal`."""
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, dict):
        return {k: literal_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [literal_tree(v) for v in value]
    return value


def identifier(name: str) -> str:
    """A name from elsewhere (`base-url`, `2fa`, `in`) as one a template can read."""
    ident = re.sub(r"\W+", "_", name).strip("_") or "value"
    if ident[0].isdigit():
        ident = f"_{ident}"
    return f"{ident}_" if ident in RESERVED else ident


NOT_LITERAL = object()  # what `literal_value` gives for text that is not one


def literal_value(text: str, *, backslashes: bool = True) -> Any:
    """A literal written in a script or a condition: a number, true/false/null, a "JSON" text or a
    'quoted' one (`backslashes=False`: not one holding a backslash, whose escapes JS would read);
    else NOT_LITERAL."""
    text = text.strip()
    if re.fullmatch(r"'[^']*'" if backslashes else r"'[^'\\]*'", text):
        return text[1:-1]
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return NOT_LITERAL
    return NOT_LITERAL if isinstance(value, (dict, list)) else value


def base_name(count: int) -> str:
    """The var for the (count + 1)th server or origin a flow talks to: base, base2, base3..."""
    return "base" if count == 0 else f"base{count + 1}"
