"""Keeps secrets out of everything apiflow prints or writes.

Two ways, both applied by `redact()` to every string any reporter shows:

- **By name, where it stands.** A value under a sensitive name is masked wherever that name
  appears with it: a JSON field (`"cvv": "123"`), a form or query pair (`password=...`), a
  credential header (`Authorization`, `Cookie`, `X-Auth-Token`...), a variable or matrix column
  (`card_number`). Short values such as a CVV are masked this way only, so a `123` elsewhere in
  a report stays.
- **By value, wherever it reappears.** Values known to be secret are replaced in any text, in
  each of the forms they take on the way out: as written, URL-encoded (query strings), JSON-escaped
  (bodies) and Python-quoted (error messages). Declared secrets are learnt at once (`secret()`,
  captures named like tokens); values met in the exchanges themselves (credential headers,
  cookies, sensitive JSON fields) are learnt by the executor as it sends and receives, before any
  output is drawn, and only when they look like a secret: 8 characters or more, and not a plain
  word (a cookie valued `http` would otherwise blank out every URL).
- Card numbers (13 to 19 digits that pass the Luhn check) are masked always, known or not.

Masking happens before any text is cut or collapsed, so an excerpt never shows part of a secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-auth-token", "x-api-key", "cookie", "set-cookie"}
)
# A capture is secret when its name holds one of these; a field is masked where it stands when
# its name ends in one (so `token_type` is shown).
_SENSITIVE_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey")
_SENSITIVE_FIELDS = frozenset({"verification_value", "cvv", "cvc", "cvv2", "security_code", "card_number"})
# 13 to 19 digits, maybe grouped by spaces or dashes: not inside a decimal, a longer run of
# groups, or a word (a UUID's `c45436a1-2345-6789-0123-...` holds a Luhn-valid run one time in ten).
_CARD = re.compile(r"(?<![0-9A-Za-z])(?<!\d[ -])(?<!\d\.)(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])(?![ -]\d)(?!\.\d)")
# A JSON member whose value is a string or a number, and a `name=value` pair of a form or query.
_JSON_MEMBER = re.compile(r'"(?P<key>[^"\\]{1,100})"\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)')
# A pair's value ends at a quote, bracket or backslash too: `"url":"...?token=abc"` keeps its quote.
_PAIR = re.compile(r"(?:(?<=[?&])|^)(?P<key>[A-Za-z0-9_.\-]{1,100})=(?P<value>[^&\s#\"'<>\\]+)", re.MULTILINE)
# Declared secrets shorter than this would blank out ordinary text; 3 keeps a short PIN covered.
_MIN_DECLARED = 3
_MIN_LEARNED = 8


def is_secret_name(name: str) -> bool:
    """Whether a capture or field named `name` holds a secret: *token*, *secret*, pat, pat_*."""
    lower = name.lower()
    return any(w in lower for w in _SENSITIVE_WORDS) or lower == "pat" or lower.startswith("pat_")


def is_sensitive_name(name: str) -> bool:
    """A field whose value is masked where it stands: `password`, `access_token`, `apiKey`,
    `pat_id`, a card field (`cvv`, `card_number`). By the end of the name, so that
    `token_type` or `secret_data` are shown."""
    lower = name.lower()
    return lower.endswith(_SENSITIVE_WORDS) or lower == "pat" or lower.startswith("pat_") or lower in _SENSITIVE_FIELDS


def looks_secret(text: str) -> bool:
    """Whether a value met in an exchange is worth hiding everywhere: long, and not a plain word."""
    return len(text) >= _MIN_LEARNED and not (text.isalpha() and len(text) < 20)


def encoded_forms(text: str) -> set[str]:
    """`text` as it can appear in output: written, URL-encoded, JSON-escaped, Python-quoted."""
    forms = {text, quote(text, safe=""), quote_plus(text, safe=""), quote(text, safe="/:@")}
    forms.add(json.dumps(text)[1:-1])
    forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    forms.add(repr(text)[1:-1])
    forms.add(text.replace("\\", "\\\\").replace("'", "\\'"))
    return forms


def _placeholder(index: int) -> str:
    """U+E000…U+E01F: characters no secret, card number or mask contains."""
    return "\ue000" + "".join(chr(0xE010 + int(d, 16)) for d in f"{index:x}") + "\ue001"


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _mask_by_name(text: str, by: Callable[[str], str]) -> str:
    """Values of sensitive JSON fields and form/query pairs, masked where they stand."""

    def member(match: re.Match[str]) -> str:
        key = match["key"]
        if not is_sensitive_name(key):
            return match.group()
        masked = f'"{by(key)}"'  # a masked number is quoted too: the JSON stays JSON
        return match.group()[: match.start("value") - match.start()] + masked

    def pair(match: re.Match[str]) -> str:
        return f"{match['key']}={by(match['key'])}" if is_sensitive_name(match["key"]) else match.group()

    if '"' in text:
        text = _JSON_MEMBER.sub(member, text)
    return _PAIR.sub(pair, text) if "=" in text else text


class Redactor:
    """The secret values met so far, each with a name, and the functions that hide them.

    The name (`BC_ACCESS_TOKEN` for `secret('BC_ACCESS_TOKEN')`, `PAT_ID` for a capture `pat_id`)
    lets a replayable command refer to a secret as `${NAME}` instead of printing it.
    """

    def __init__(self, values: Iterable[str] = (), *, journal: bool = False) -> None:
        self._names: dict[str, str] = {}  # secret value, in each of its forms -> its name
        self._values: set[str] = set()  # values given to `add` (not their forms): a second add is a no-op
        self._longest_first: list[str] | None = None
        # With `journal`, what was learned is also kept for `take_journal`: a worker process
        # sends it with each result, so the parent hides those secrets before it shows the result.
        self._journal: list[tuple[str, str]] | None = [] if journal else None
        for value in values:
            self.add(value)

    def add(self, value: Any, name: str = "SECRET", *, rename: bool = False, learned: bool = False) -> None:
        """Treat `value` (a string or number) as a secret from now on, in every encoded form.

        The first name sticks, unless `rename`: a capture's name, chosen by the user, wins.
        A `learned` value (met in an exchange, not declared) counts only if it `looks_secret`.
        """
        if isinstance(value, (dict, list)):
            for item in value.values() if isinstance(value, dict) else value:
                self.add(item, name, rename=rename, learned=learned)
            return
        if value is None or isinstance(value, bool):
            return
        text = str(value)
        if len(text) < _MIN_DECLARED or (learned and not looks_secret(text)):
            return
        if not rename and text in self._values:
            return  # added before: its encoded forms were learned with it (a token captured per flow)
        self._values.add(text)
        label = re.sub(r"\W", "_", name).upper()
        for form in encoded_forms(text):
            if len(form) >= _MIN_DECLARED and (rename or form not in self._names):
                self._names[form] = label
                self._longest_first = None
                if self._journal is not None:
                    self._journal.append((form, label))

    def take_journal(self) -> list[tuple[str, str]]:
        """The (form, name) pairs learned since the last call (needs `journal=True`)."""
        taken, self._journal = self._journal or [], [] if self._journal is not None else None
        return taken

    def merge(self, learned: Iterable[tuple[str, str]]) -> None:
        """Take in what another process's redactor learned (its `take_journal`)."""
        for form, label in learned:
            self._names[form] = label
            self._longest_first = None

    def redact(self, text: str) -> str:
        """`text` with every secret, sensitive field and card number replaced by [REDACTED]."""
        return self._replace(text, lambda _: MASK)

    def reference(self, text: str, form: str = "${%s}") -> str:
        """`text` with every secret as a reference to its name (`${NAME}`), for a command to replay."""
        return self._replace(text, lambda name: form % re.sub(r"\W", "_", name).upper())

    def _replace(self, text: str, by: Callable[[str], str]) -> str:
        # Plain substring replacement, longest secret first. Not one regex alternation: a run
        # meets hundreds of secrets (a PAT per checkout), and every new set would be a new
        # pattern for `re` to compile and keep in its cache.
        if self._longest_first is None:
            self._longest_first = sorted(self._names, key=len, reverse=True)
        found: list[str] = []

        def hide(name: str) -> str:
            # A private-use placeholder, so a shorter secret cannot match inside a mask.
            found.append(name)
            return _placeholder(len(found) - 1)

        for secret in self._longest_first:
            if secret in text:
                text = text.replace(secret, hide(self._names[secret]))
        text = _mask_by_name(text, hide)
        text = _CARD.sub(lambda m: hide("CARD_NUMBER") if _luhn(re.sub(r"\D", "", m.group())) else m.group(), text)
        for index in range(len(found) - 1, -1, -1):
            text = text.replace(_placeholder(index), by(found[index]))
        return text

    def header(self, name: str, value: str) -> str:
        """A header value for display: masked when the header carries credentials."""
        return MASK if name.lower() in SENSITIVE_HEADERS else self.redact(value)

    def learn_headers(self, headers: Iterable[tuple[str, str]]) -> None:
        """Remember the secret parts of credential headers: `PAT <jwt>`, `a=b; c=d`, a Set-Cookie."""
        for name, value in headers:
            lower = name.lower()
            if lower not in SENSITIVE_HEADERS:
                continue
            if lower == "set-cookie":  # `name=value; Path=/; HttpOnly`: only the value is secret
                self.add(value.partition(";")[0].partition("=")[2].strip(), name, learned=True)
            elif lower == "cookie":
                for part in value.split(";"):
                    self.add(part.partition("=")[2].strip(), name, learned=True)
            else:
                scheme, _, credential = value.partition(" ")
                # Only the token: `PAT ${PAT_ID}` replays best.
                self.add(credential.strip() if credential else scheme, name, learned=True)

    def learn_json(self, data: Any) -> None:
        """Remember values of sensitive fields anywhere in a JSON document (iteratively: deep
        documents are bounded elsewhere, but this must not be the place that overflows)."""
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, value in item.items():
                    if isinstance(key, str) and is_sensitive_name(key):
                        self.add(value, key, learned=True)
                    else:
                        stack.append(value)
            elif isinstance(item, list):
                stack.extend(item)
