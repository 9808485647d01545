"""The transcript of a run: every flow, step, request, response, capture and check, redacted.

It is the JSON report's content (`--report`), and the JUnit and HTML reports are drawn from it,
so that redaction happens once, here, for every machine-readable output. Its shape is described
by `report.schema.json` in this package and versioned by `FORMAT_VERSION`.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner import __version__
from runner.engine.redact import MASK, Redactor, is_sensitive_name
from runner.engine.results import (
    MISSING,
    AssertionResult,
    FlowResult,
    Outcome,
    ReceivedResponse,
    SentRequest,
    StepResult,
)
from runner.flowfile.source import Problem, Span
from runner.report.bodies import binary_description
from runner.report.curl import curl_command

FORMAT_VERSION = 1
BODY_LIMIT = 64 * 1024  # characters of a body kept in a report
PRECEDENCE = "command line (--var) > env file (--env-file) > process environment > flow defaults"


@dataclass(slots=True)
class RunContext:
    """What the command line said, for the record."""

    command_line_vars: dict[str, Any] = field(default_factory=dict)
    env_file: str | None = None
    env_file_names: list[str] = field(default_factory=list)  # values are not recorded
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    elapsed_ms: float = 0.0
    interrupted: str | None = None  # "SIGINT" or "SIGTERM" when a signal stopped the run
    replayed_from: str | None = None  # the cassette of a `--replay` run


def _location(span: Span | None) -> str | None:
    return str(span) if span else None


class Transcriber:
    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def text(self, value: str) -> str:
        return self.redactor.redact(value)

    def value(self, value: Any) -> Any:
        """A JSON value with every string in it redacted; MISSING becomes None."""
        if value is MISSING:
            return None
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): MASK if is_sensitive_name(str(k)) else self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return str(value).replace("inf", "Infinity").replace("nan", "NaN")  # JSON has no NaN
        if value is None or isinstance(value, (bool, int, float)):
            redacted = self.text(json.dumps(value))
            return value if redacted == json.dumps(value) else redacted
        return self.text(str(value))

    def body(self, raw: bytes) -> dict[str, Any]:
        binary = binary_description(raw)
        if binary is not None:  # never raw bytes in a report; the JSON keeps them as base64
            kept = raw[: BODY_LIMIT * 3 // 4]
            shown: dict[str, Any] = {"text": binary, "size": len(raw), "truncated": len(kept) < len(raw)}
            as_text = kept.decode("utf-8", errors="replace")
            if self.text(as_text) == as_text:  # base64 would carry a secret in yet another encoding
                shown["base64"] = base64.b64encode(kept).decode()
            return shown
        text = self.text(raw.decode("utf-8", errors="replace"))  # masked, then cut
        return {"text": text[:BODY_LIMIT], "size": len(raw), "truncated": len(text) > BODY_LIMIT}

    def headers(self, headers: list[tuple[str, str]]) -> list[list[str]]:
        return [[name, self.redactor.header(name, value)] for name, value in headers]

    def request(self, request: SentRequest | None) -> dict[str, Any] | None:
        if request is None:
            return None
        return {
            "method": request.method,
            "url": self.text(request.url),
            "headers": self.headers(request.headers),
            "body": self.body(request.body),
        }

    def response(self, response: ReceivedResponse | None) -> dict[str, Any] | None:
        if response is None:
            return None
        return {
            "status": response.status,
            "reason": response.reason,
            "headers": self.headers(response.headers),
            "body": self.body(response.body),
            "elapsed_ms": round(response.elapsed_ms, 2),
        }

    def assertion(self, result: AssertionResult) -> dict[str, Any]:
        shown = {
            "subject": self.text(result.subject),
            "op": result.op,
            "expected": self.value(result.expected),
            "actual": self.value(result.actual),
            "passed": result.passed,
            "message": self.text(result.message),
            "location": _location(result.span),
        }
        if result.actual is MISSING:
            shown["absent"] = True  # nothing was there: not the same as a JSON null
        if result.diff:
            shown["diff"] = [self.difference(path, want, got) for path, want, got in result.diff]
        return shown

    def difference(self, path: str, expected: Any, actual: Any) -> dict[str, Any]:
        """One place where two structures differ; a side that is absent has no key."""
        out: dict[str, Any] = {"path": self.text(path)}
        if expected is not MISSING:
            out["expected"] = self.value(expected)
        if actual is not MISSING:
            out["actual"] = self.value(actual)
        return out

    def step(self, result: StepResult) -> dict[str, Any]:
        failed = result.outcome in (Outcome.FAILED, Outcome.ERROR)
        return {
            "name": self.text(result.step.name),
            "id": result.step.id,
            "location": _location(result.step.span),
            "outcome": str(result.outcome),
            "attempts": result.attempts,
            "elapsed_ms": round(result.elapsed_ms, 2),
            "request": self.request(result.request),
            "response": self.response(result.response),
            "captures": self.value(result.captures),
            "assertions": [self.assertion(a) for a in result.assertions],
            "error": self.text(result.error) or None,
            "error_location": _location(result.error_span),
            "variables": self.value(result.variables),
            "curl": curl_command(result.request, self.redactor) if failed and result.request else None,
            "openapi": result.contract or None,
            "steps": [self.step(c) for c in result.children],
        }

    def flow(self, result: FlowResult) -> dict[str, Any]:
        return {
            "name": self.text(result.name),
            "flow": self.text(result.flow.name),
            "file": result.flow.path,
            "tags": list(result.flow.tags),
            "row": self.value(result.row),
            "passed": result.passed,
            "started": result.started,
            "error": self.text(result.error) or None,
            "error_location": _location(result.error_span),
            "elapsed_ms": round(result.elapsed_ms, 2),
            "variables": self.value(result.variables),
            "steps": [self.step(s) for s in result.steps],
            "finally": [self.step(s) for s in result.finally_steps],
        }


def summary(flows: list[FlowResult]) -> dict[str, Any]:
    steps = [s for f in flows for s in (*f.steps, *f.finally_steps)]
    started = [f for f in flows if f.started]
    return {
        "flows": {
            "total": len(flows),
            "passed": sum(f.passed for f in flows),
            "failed": sum(not f.passed for f in started),
            "not_started": len(flows) - len(started),
        },
        "steps": {
            "total": len(steps),
            "passed": sum(s.outcome is Outcome.PASSED for s in steps),
            "failed": sum(s.outcome in (Outcome.FAILED, Outcome.ERROR) for s in steps),
            "skipped": sum(s.outcome is Outcome.SKIPPED for s in steps),
            "not_run": sum(s.outcome is Outcome.NOT_RUN for s in steps),
        },
    }


def transcript(
    flows: list[FlowResult], redactor: Redactor, seed: int, context: RunContext, problems: Sequence[Problem] = ()
) -> dict[str, Any]:
    """The whole run as plain, redacted, JSON-ready data; `problems`: why flows did not load."""
    scribe = Transcriber(redactor)
    return {
        "format": "apiflow-report",
        "version": FORMAT_VERSION,
        "tool": {"name": "apiflow", "version": __version__},
        "started_at": context.started_at.isoformat(),
        "elapsed_ms": round(context.elapsed_ms, 2),
        "seed": seed,
        "passed": all(f.passed for f in flows) and not context.interrupted and not problems,
        "interrupted": context.interrupted,
        "replayed_from": context.replayed_from,
        "variables": {
            "command_line": scribe.value(context.command_line_vars),
            "env_file": {"path": context.env_file, "names": sorted(context.env_file_names)}
            if context.env_file
            else None,
            "precedence": PRECEDENCE,
        },
        "summary": summary(flows),
        "flows": [scribe.flow(f) for f in flows],
        "problems": [
            {"location": _location(p.span), "message": scribe.text(p.message), "hint": p.hint, "text": p.render()}
            for p in problems
        ],
    }
