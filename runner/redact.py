"""Keeps secrets out of everything apiflow prints or writes.

A `Redactor` learns secret values as a run meets them: `secret()` results, the values of
credential headers, captures whose name says they are a token, and sensitive fields of JSON
bodies (CVVs, passwords). Each reporter passes every string through `redact()`, which replaces
each known value wherever it reappears (in a URL, a body, an error message) and also any card
number (13 to 19 digits that pass the Luhn check), known or not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

MASK = "[REDACTED]"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-auth-token", "x-api-key", "cookie", "set-cookie"}
)
_SENSITIVE_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey")
_SENSITIVE_FIELDS = frozenset({"verification_value", "cvv", "cvc", "cvv2", "security_code", "card_number"})
_CARD = re.compile(r"(?<!\d)(?<!\d\.)(?:\d[ -]?){12,18}\d(?!\d)(?!\.\d)")  # not inside a decimal
# Shorter values (a 1, a "no") would blank out ordinary text; 3 keeps a CVV covered.
_MIN_LENGTH = 3


def is_secret_name(name: str) -> bool:
    """Whether a capture or field named `name` holds a secret: *token*, *secret*, pat, pat_*."""
    lower = name.lower()
    return any(w in lower for w in _SENSITIVE_WORDS) or lower == "pat" or lower.startswith("pat_")


def _placeholder(index: int) -> str:
    """U+E000…U+E01F: characters no secret, card number or mask contains."""
    return "\ue000" + "".join(chr(0xE010 + int(d, 16)) for d in f"{index:x}") + "\ue001"


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class Redactor:
    """The secret values met so far, each with a name, and the functions that hide them.

    The name (`BC_ACCESS_TOKEN` for `secret('BC_ACCESS_TOKEN')`, `PAT_ID` for a capture `pat_id`)
    lets a replayable command refer to a secret as `${NAME}` instead of printing it.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._names: dict[str, str] = {}  # secret value -> its name
        self._longest_first: list[str] | None = None
        for value in values:
            self.add(value)

    def add(self, value: Any, name: str = "SECRET", *, rename: bool = False) -> None:
        """Treat `value` (a string or number) as a secret from now on.

        The first name sticks, unless `rename`: a capture's name, chosen by the user, wins.
        """
        if isinstance(value, (dict, list)):
            for item in value.values() if isinstance(value, dict) else value:
                self.add(item, name, rename=rename)
            return
        if value is None or isinstance(value, bool):
            return
        text = str(value)
        if len(text) >= _MIN_LENGTH and (rename or text not in self._names):
            self._names[text] = re.sub(r"\W", "_", name).upper()
            self._longest_first = None

    def redact(self, text: str) -> str:
        """`text` with every known secret and every card number replaced by [REDACTED]."""
        return self._replace(text, lambda _: MASK)

    def reference(self, text: str, form: str = "${%s}") -> str:
        """`text` with every secret as a reference to its name (`${NAME}`), for a command to replay."""
        return self._replace(text, lambda name: form % name)

    def _replace(self, text: str, by: Callable[[str], str]) -> str:
        # Plain substring replacement, longest secret first. Not one regex alternation: a run
        # meets hundreds of secrets (a PAT per checkout), and every new set would be a new
        # pattern for `re` to compile and keep in its cache.
        if self._longest_first is None:
            self._longest_first = sorted(self._names, key=len, reverse=True)
        found: list[str] = []
        for secret in self._longest_first:
            if secret in text:
                # A private-use placeholder, so a shorter secret cannot match inside a mask.
                text = text.replace(secret, _placeholder(len(found)))
                found.append(self._names[secret])
        text = _CARD.sub(lambda m: by("CARD_NUMBER") if _luhn(re.sub(r"\D", "", m.group())) else m.group(), text)
        for index, name in enumerate(found):
            text = text.replace(_placeholder(index), by(name))
        return text

    def header(self, name: str, value: str) -> str:
        """A header value for display: masked when the header carries credentials."""
        if name.lower() not in SENSITIVE_HEADERS:
            return self.redact(value)
        self.learn_header(name, value)
        return MASK

    def learn_header(self, name: str, value: str) -> None:
        """Remember the secret parts of a credential header: `PAT <jwt>`, `a=b; c=d`."""
        if name.lower() not in SENSITIVE_HEADERS:
            return
        scheme, _, credential = value.partition(" ")
        if credential and "=" not in scheme:
            self.add(credential.strip(), name)  # only the token: `PAT ${PAT_ID}` replays best
        else:
            self.add(value, name)
        if "cookie" in name.lower():
            for part in value.split(";"):
                self.add(part.partition("=")[2].strip(), name)

    def learn_json(self, data: Any) -> None:
        """Remember values of sensitive fields anywhere in a JSON document."""
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(key, str) and (is_secret_name(key) or key.lower() in _SENSITIVE_FIELDS):
                    self.add(value, key)
                else:
                    self.learn_json(value)
        elif isinstance(data, list):
            for item in data:
                self.learn_json(item)
