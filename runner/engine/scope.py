"""What templates can see during one flow run, and the helpers they can call.

One `RunScope` per flow run holds the mutable state the run accumulates: variables, captures,
earlier steps' responses. Helpers that make data (`uuid()`, `random_int()`, `now()`) draw from a
random generator seeded per run, so `--seed N` makes a run's data repeat exactly.
"""

from __future__ import annotations

import random
import uuid as uuid_module
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from runner.engine.fake import Fake
from runner.engine.redact import Redactor, is_secret_name
from runner.engine.results import MISSING, ReceivedResponse
from runner.flowfile.model import Input, Variable
from runner.flowfile.templates import EnvironmentVariables, Template, TemplateRenderError, Tree

if TYPE_CHECKING:
    from runner.flowfile.model import Flow

# A seeded run's clock starts here and does not move, so `now()` repeats too.
_FROZEN_EPOCH = datetime(2030, 1, 1, tzinfo=UTC)


class MissingSecretError(LookupError):
    """`secret(name)` was called for a variable that is not set."""


class VarError(Exception):
    """A flow's var (or an input's default) failed to render; the flow cannot start."""

    def __init__(self, var: Variable | Input, cause: Exception) -> None:
        self.var = var
        kind = "var" if isinstance(var, Variable) else "input"
        super().__init__(f"{kind} `{var.name}`: {cause}")


class Headers(dict[str, str]):
    """Response headers as templates read them: by any spelling of the name (`Content-Type`,
    `content-type`); a header sent twice reads as its values joined by ", "."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower() if isinstance(name, str) else name)

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower() if isinstance(name, str) else name, default)


def response_view(response: ReceivedResponse) -> dict[str, Any]:
    """A response as templates read it: status, reason, headers (any spelling), json, text,
    elapsed_ms, url, http_version, history (the redirects) and cookies (those it sets)."""
    headers = Headers()
    for name, value in response.headers:
        key = name.lower()
        dict.__setitem__(headers, key, value if key not in headers else f"{headers[key]}, {value}")
    return {
        "status": response.status,
        "reason": response.reason,
        "headers": headers,
        "json": response.json,
        "text": response.text,
        "elapsed_ms": response.elapsed_ms,
        "url": response.url,
        "http_version": response.http_version,
        "history": [{"status": status, "url": url} for status, url in response.history],
        "cookies": response.cookies(),
    }


class RunScope:
    def __init__(self, env: Mapping[str, str], redactor: Redactor, seed: int | str, *, frozen: bool) -> None:
        self.env = EnvironmentVariables(env)
        self.redactor = redactor
        self.random = random.Random(seed)
        self.frozen = frozen
        self.vars: dict[str, Any] = {}
        self.captures: dict[str, Any] = {}
        self.steps: dict[str, dict[str, Any]] = {}
        self.skipped: dict[str, str] = {}  # capture name -> the skipped step that would have set it
        self.fake = Fake(self.random)

    def child(self) -> RunScope:
        """A fresh scope for a used flow: same environment, secrets and random sequence."""
        child = RunScope(self.env, self.redactor, 0, frozen=self.frozen)
        child.random, child.fake = self.random, self.fake
        return child

    def set_vars(self, flow: Flow, overrides: Mapping[str, Any]) -> None:
        """Evaluate the flow's vars in order (each may read the earlier ones); `overrides` win.

        Overrides (--var, a matrix row, a `use` step's inputs) are set first, so vars read them.
        Raises TemplateRenderError or MissingSecretError, with the var's name added.
        """
        self.vars.update(overrides)
        defaults = [(i, i.default) for i in flow.inputs if not i.required] + [(v, v.value) for v in flow.vars]
        for source, value in defaults:
            if source.name in overrides:
                continue
            try:
                self.vars[source.name] = value.render(self.mapping()) if isinstance(value, (Template, Tree)) else value
            except (TemplateRenderError, MissingSecretError) as err:
                raise VarError(source, err) from None

    def value_of(self, name: str) -> Any:
        """A capture, else a var, of this scope; MISSING when it has neither."""
        if name in self.captures:
            return self.captures[name]
        return self.vars.get(name, MISSING)

    def secret(self, name: str) -> str:
        if name not in self.env:
            raise MissingSecretError(
                f"secret('{name}'): the environment variable {name} is not set (export it, or give it in --env-file)"
            )
        value = self.env[name]
        self.redactor.add(value, name)
        return value

    def uuid(self) -> str:
        return str(uuid_module.UUID(int=self.random.getrandbits(128), version=4))

    def random_int(self, low: int = 0, high: int = 1_000_000) -> int:
        return self.random.randint(int(low), int(high))

    def now(self, offset_seconds: float = 0) -> str:
        base = _FROZEN_EPOCH if self.frozen else datetime.now(UTC)
        return (base + timedelta(seconds=float(offset_seconds))).isoformat()

    def capture(self, name: str, value: Any) -> None:
        if is_secret_name(name):
            self.redactor.add(value, name, rename=True)
        self.captures[name] = value

    def mapping(self, response: ReceivedResponse | None = None) -> dict[str, Any]:
        """The names a template sees: built-ins, vars, captures (later ones win), response."""
        scope: dict[str, Any] = {
            "fake": self.fake,
            "env": self.env,
            "vars": self.vars,
            "steps": self.steps,
            "secret": self.secret,
            "uuid": self.uuid,
            "random_int": self.random_int,
            "now": self.now,
        }
        scope.update(self.vars)
        scope.update(self.captures)
        if response is not None:
            scope["response"] = response_view(response)
        return scope
