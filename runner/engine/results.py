"""What a run found: plain data from the executor to the reporters.

Values here are raw (they may hold secrets); every reporter shows them through the run's
`Redactor`. Results are built once a step is done and not changed afterwards.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, TypeVar

from runner.engine.redact import MASK, is_sensitive_name
from runner.flowfile.model import Flow, Step
from runner.flowfile.source import Span

# The actual value of a JSONPath that matched nothing or a header that is absent.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "(nothing)"})()


_T = TypeVar("_T")


def _pickled_quickly(cls: type[_T]) -> type[_T]:
    """A result class whose objects are pickled by one C call for all their fields. `--jobs`
    workers pickle every result they send: dataclasses' own `__getstate__`/`__setstate__` for
    slotted classes look up the fields again for each object, which was a quarter of what the
    parent did while the workers ran."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    get = operator.attrgetter(*names)  # gives a tuple: every result class has several fields

    def get_state(self: _T) -> tuple[Any, ...]:
        return get(self)

    def set_state(self: _T, state: tuple[Any, ...]) -> None:
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    setattr(cls, "__getstate__", get_state)  # noqa: B010 - on the class dataclasses made
    setattr(cls, "__setstate__", set_state)  # noqa: B010
    return cls


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # an expectation or capture did not hold
    ERROR = "error"  # the request could not be made or rendered
    SKIPPED = "skipped"  # its `when` was false
    NOT_RUN = "not run"  # an earlier step of the flow failed


@_pickled_quickly
@dataclass(frozen=True, slots=True, eq=False)
class AssertionResult:
    """One expectation checked against a response."""

    subject: str  # "status", "$.data.id", "header Content-Type", "time_ms", "that"
    op: str
    expected: Any
    actual: Any
    passed: bool
    span: Span | None
    message: str = ""  # why it failed, when the values alone do not say
    diff: tuple[tuple[str, Any, Any], ...] = ()  # where two structures differ: (path, expected, actual)


@_pickled_quickly
@dataclass(frozen=True, slots=True, eq=False)
class SentRequest:
    """The request as it went out: method, URL, headers and body (raw; reporters redact)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


@_pickled_quickly
@dataclass(frozen=True, slots=True, eq=False)
class ReceivedResponse:
    """The response as it came back, its body read whole (and parsed when it is JSON)."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    elapsed_ms: float
    json: Any = None
    is_json: bool = False
    json_error: str = ""  # why a body that looks like JSON could not be read as JSON
    url: str = ""  # where the response came from: after redirects, the last URL
    http_version: str = "HTTP/1.1"
    history: tuple[tuple[int, str], ...] = ()  # the redirects followed: (status, url) each

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")

    def cookies(self) -> dict[str, str]:
        """The cookies the response sets (`Set-Cookie`), by name: values only, no attributes."""
        found: dict[str, str] = {}
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                key, equals, text = value.partition(";")[0].partition("=")
                if equals and key.strip():
                    found[key.strip()] = text.strip().strip('"')
        return found


@_pickled_quickly
@dataclass(frozen=True, slots=True, eq=False, repr=False)  # its own __repr__ below
class StepResult:
    """What one step did: its outcome, the exchange, every check, and what it captured."""

    step: Step
    outcome: Outcome
    request: SentRequest | None = None
    response: ReceivedResponse | None = None
    assertions: tuple[AssertionResult, ...] = ()
    captures: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # one line: why the step could not run or failed outside assertions
    error_span: Span | None = None
    variables: dict[str, Any] = field(default_factory=dict)  # names the step read, for reports
    elapsed_ms: float = 0.0
    attempts: int = 1  # how many times the request was sent (`retry`)
    children: tuple[StepResult, ...] = ()  # the steps of the flow a `use` step ran
    contract: str = ""  # the OpenAPI operation the response was checked against, or "not described"

    def __repr__(self) -> str:  # short: asyncio prints finished tasks' results in its reprs
        return f"StepResult({self.step.name!r}, {self.outcome})"

    @property
    def passed(self) -> bool:
        """Whether the step did what was asked: passed, or skipped by its `when`."""
        return self.outcome in (Outcome.PASSED, Outcome.SKIPPED)

    @property
    def transport_failed(self) -> bool:
        """The request was built and sent but no response came (connection error, timeout)."""
        return self.outcome is Outcome.ERROR and self.request is not None and self.response is None

    @property
    def failed_assertions(self) -> tuple[AssertionResult, ...]:
        return tuple(a for a in self.assertions if not a.passed)


def not_run(steps: Sequence[Step]) -> tuple[StepResult, ...]:
    """Results for steps that never ran because an earlier step (or the flow's start) failed."""
    return tuple(StepResult(s, Outcome.NOT_RUN) for s in steps)


@_pickled_quickly
@dataclass(frozen=True, slots=True, eq=False, repr=False)  # its own __repr__ below
class FlowResult:
    """One run of a flow: its steps' results in order, then its `finally` steps'."""

    flow: Flow
    steps: tuple[StepResult, ...]
    elapsed_ms: float
    seed: int
    error: str = ""  # the flow could not start: a var failed to render, or --fail-fast
    error_span: Span | None = None
    finally_steps: tuple[StepResult, ...] = ()
    row: dict[str, Any] | None = None  # the matrix row this run used
    started: bool = True  # False when --fail-fast stopped the run before this flow
    variables: dict[str, Any] = field(default_factory=dict)  # the run's vars, once evaluated

    def __repr__(self) -> str:  # short: asyncio prints finished tasks' results in its reprs
        return f"FlowResult({self.flow.name!r}, passed={self.passed})"

    @property
    def name(self) -> str:
        """The flow's name, with its matrix row's values: `Pay [card=4111..., outcome=success]`."""
        if self.row is None:
            return self.flow.name
        shown = (f"{k}={MASK if is_sensitive_name(k) else v}" for k, v in self.row.items())
        return f"{self.flow.name} [{', '.join(shown)}]"

    @property
    def passed(self) -> bool:
        return not self.error and all(s.passed for s in (*self.steps, *self.finally_steps))

    @property
    def failed_step(self) -> StepResult | None:
        """The first step that failed: the flow's own before its `finally` steps."""
        failed = (Outcome.FAILED, Outcome.ERROR)
        return next((s for s in (*self.steps, *self.finally_steps) if s.outcome in failed), None)
