"""What a run found: plain data from the executor to the reporters.

Values here are raw (they may hold secrets); every reporter shows them through the run's
`Redactor`. Results are built once a step is done and not changed afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from runner.model import Flow, Step
from runner.source import Span


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # an expectation or capture did not hold
    ERROR = "error"  # the request could not be made or rendered
    NOT_RUN = "not run"  # an earlier step of the flow failed


@dataclass(frozen=True, slots=True)
class AssertionResult:
    """One expectation checked against a response."""

    subject: str  # "status", "$.data.id", "header Content-Type", "time_ms", "that"
    op: str
    expected: Any
    actual: Any
    passed: bool
    span: Span | None
    message: str = ""  # why it failed, when the values alone do not say


@dataclass(frozen=True, slots=True)
class SentRequest:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class ReceivedResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    elapsed_ms: float
    json: Any = None
    is_json: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class StepResult:
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

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    @property
    def failed_assertions(self) -> tuple[AssertionResult, ...]:
        return tuple(a for a in self.assertions if not a.passed)


@dataclass(frozen=True, slots=True)
class FlowResult:
    flow: Flow
    steps: tuple[StepResult, ...]
    elapsed_ms: float
    seed: int
    error: str = ""  # the flow could not start: a var failed to render, or --fail-fast
    error_span: Span | None = None

    @property
    def passed(self) -> bool:
        return not self.error and all(s.outcome is Outcome.PASSED for s in self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.outcome in (Outcome.FAILED, Outcome.ERROR)), None)
