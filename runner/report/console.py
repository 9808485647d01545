"""The console report: a line per step, a block for each failure, and a summary.

Every value shown passes through the run's `Redactor`. Colour is applied by the `paint`
function the caller passes in (click.style on a TTY, nothing otherwise), so this module is a
pure function of the results and the golden-file tests read exactly what a person sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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
from runner.flowfile.source import Span, plural
from runner.report.bodies import binary_description
from runner.report.curl import curl_command

Paint = Callable[..., str]
EXCERPT = 300
_NAME_WIDTH = 60
# Operators the subject already implies: `status`, `capture x`, `schema`, `that ...`.
_IMPLIED_OPS = frozenset({"eq", "capture", "valid", "true"})
_MARKS = {
    Outcome.PASSED: ("✓", "green"),
    Outcome.FAILED: ("✗", "red"),
    Outcome.ERROR: ("✗", "red"),
    Outcome.SKIPPED: ("○", "bright_black"),
    Outcome.NOT_RUN: ("·", "bright_black"),
}


def plain(text: str, **_: Any) -> str:
    return text


class ConsoleReport:
    def __init__(self, redactor: Redactor, *, verbosity: int = 0, paint: Paint = plain) -> None:
        self.redact = redactor.redact
        self.redactor = redactor
        self.verbosity = verbosity
        self.paint = paint

    def flow(self, result: FlowResult) -> str:
        """A flow's block: its name and file, a line per step, details of what failed."""
        if self.verbosity < 0:
            return ""
        mark, colour = ("✓", "green") if result.passed else ("✗", "red")
        out = [
            self.paint(f"{mark} {self.redact(result.name)}", fg=colour, bold=True)
            + self.paint(f"  {result.flow.path}", fg="bright_black")
        ]
        if result.error:
            out.append(self.paint(f"    {self._where(result.error_span)}{self.redact(result.error)}", fg="red"))
        out.extend(self.steps(result.steps))
        if result.finally_steps:
            out.append(self.paint("  finally:", fg="bright_black"))
            out.extend("  " + line for line in self.steps(result.finally_steps))
        return "\n".join(out) + "\n"

    def steps(self, results: tuple[StepResult, ...]) -> list[str]:
        """A line per step; a `use` step's own steps nested under it; failures in full."""
        width = min(_NAME_WIDTH, max((len(s.step.name) for s in results), default=0))
        out: list[str] = []
        for step in results:
            out.append(self.step_line(step, width))
            out.extend("    " + line for line in self.steps(step.children))
            if self.verbosity > 0 and step.request is not None:
                out.extend(self.exchange(step.request, step.response, limit=None))
            if step.outcome is Outcome.ERROR or (step.outcome is Outcome.FAILED and not step.children):
                out.extend(self.failure(step))
        return out

    def step_line(self, step: StepResult, width: int = 0) -> str:
        """`✓ name  201  12 ms`, names padded to `width` so the columns line up."""
        mark, colour = _MARKS[step.outcome]
        name = self.redact(step.step.name).ljust(width)
        if step.outcome in (Outcome.NOT_RUN, Outcome.SKIPPED):
            why = "  (its `when` was false)" if step.outcome is Outcome.SKIPPED else ""
            return self.paint(f"  {mark} {name}  {step.outcome}{why}", fg=colour)
        status = "use" if step.step.use else str(step.response.status) if step.response else "---"
        attempts = f"  ({step.attempts} attempts)" if step.attempts > 1 else ""
        return f"  {self.paint(mark, fg=colour)} {name}  {status}  {step.elapsed_ms:>5.0f} ms{attempts}"

    def failure(self, step: StepResult) -> list[str]:
        out: list[str] = []
        pad = "      "
        if step.error:
            out.append(self.paint(f"{pad}{self._where(step.error_span)}error: {self.redact(step.error)}", fg="red"))
        else:
            out.append(f"{pad}at {step.step.span}")
        if self.verbosity <= 0 and step.request is not None:
            out.extend(self.exchange(step.request, step.response, limit=EXCERPT))
        for assertion in step.failed_assertions:
            out.extend(self.assertion(assertion))
        if step.variables:
            values = step.variables.items()
            shown = ", ".join(f"{k} = {MASK if is_sensitive_name(k) else self._value(v)}" for k, v in values)
            out.append(f"{pad}variables: {shown}")
        if self.verbosity > 0 and step.request is not None:
            out.append(f"{pad}replay: {curl_command(step.request, self.redactor)}")
        return out

    def assertion(self, result: AssertionResult) -> list[str]:
        where = f"  ({self._where(result.span).rstrip(': ')})" if result.span else ""
        op = "" if result.op in _IMPLIED_OPS else f" {result.op}"
        head = f"      ✗ {self.redact(result.subject)}{op}{where}"
        lines = [self.paint(head, fg="red")]
        if result.diff:  # two structures: where they differ, not two long lines
            lines.append("          differs at:")
            width = max(len(self.redact(path)) for path, _, _ in result.diff)
            for path, want, got in result.diff:
                where = self.redact(path).ljust(width)
                lines.append(f"            {where}  expected {self._value(want)}, actual {self._value(got)}")
        elif result.op == "capture":
            lines.append(f"          from:     {self.redact(str(result.expected))}")
        else:
            lines.append(f"          expected: {self._value(result.expected)}")
        if not result.diff:
            lines.append(f"          actual:   {self._value(result.actual)}")
        if result.message:
            lines.append(f"          why:      {self.redact(result.message)}")
        return lines

    def exchange(self, request: SentRequest, response: ReceivedResponse | None, *, limit: int | None) -> list[str]:
        pad = "      "
        out = [f"{pad}> {request.method} {self.redact(request.url)}"]
        if limit is None:
            out += [f"{pad}> {k}: {self.redactor.header(k, v)}" for k, v in request.headers]
        if request.body:
            out.append(f"{pad}> " + self._body(request.body, limit).replace("\n", f"\n{pad}  "))
        if response is None:
            return out
        out.append(f"{pad}< {response.status} {response.reason}")
        if limit is None:
            out += [f"{pad}< {k}: {self.redactor.header(k, v)}" for k, v in response.headers]
        if response.body:
            out.append(f"{pad}< " + self._body(response.body, limit).replace("\n", f"\n{pad}  "))
        return out

    def summary(self, flows: list[FlowResult], elapsed_s: float, seed: int) -> str:
        """The closing line, after a table of counts when more than one flow ran."""
        steps = [s for f in flows for s in (*f.steps, *f.finally_steps)]
        count = {o: sum(1 for s in steps if s.outcome is o) for o in Outcome}
        passed = sum(1 for f in flows if f.passed)
        not_started = sum(1 for f in flows if not f.started)
        failed = len(flows) - passed - not_started
        flow_part = f"{plural(len(flows), 'flow')}: {passed} passed, {failed} failed"
        if not_started:
            flow_part += f", {not_started} not started"
        failed_steps = count[Outcome.FAILED] + count[Outcome.ERROR]
        skipped = f", {count[Outcome.SKIPPED]} skipped" if count[Outcome.SKIPPED] else ""
        not_run = count[Outcome.NOT_RUN]
        step_part = (
            f"{plural(len(steps), 'step')}: {count[Outcome.PASSED]} passed, {failed_steps} failed{skipped}, "
            f"{not_run} not run"
        )
        colour = "green" if failed == 0 else "red"
        line = self.paint(f"{flow_part} · {step_part} · {elapsed_s:.2f} s · seed {seed}", fg=colour, bold=True)
        contracts = _contract_line(steps)
        if contracts:
            line = f"{contracts}\n{line}"
        if len(flows) < 2:
            return line
        rows = [
            ("", "flows", "steps"),
            ("passed", passed, count[Outcome.PASSED]),
            ("failed", failed, failed_steps),
            ("skipped", "-", count[Outcome.SKIPPED]),
            ("not run", not_started, count[Outcome.NOT_RUN]),
        ]
        table = "\n".join(f"{a:<10}{b!s:>7}{c!s:>8}" for a, b, c in rows)
        return f"{table}\n{line}"

    def _body(self, body: bytes, limit: int | None) -> str:
        binary = binary_description(body)
        if binary is not None:  # raw bytes would garble the terminal
            return binary
        # Masked first, then collapsed and cut: a cut or a join of lines must not expose a secret.
        text = self.redact(body.decode("utf-8", errors="replace"))
        if limit is not None:
            text = " ".join(text.split())
            if len(text) > limit:
                text = text[: limit - 3] + "..."
        return text

    def _value(self, value: Any) -> str:
        if value is MISSING:
            return "(nothing)"
        text = self.redact(json.dumps(value, ensure_ascii=False, default=str))
        return text if len(text) <= EXCERPT else text[: EXCERPT - 3] + "..."

    @staticmethod
    def _where(span: Span | None) -> str:
        return f"{span}: " if span else ""


def _contract_line(steps: list[StepResult]) -> str:
    """`openapi: 42 responses checked (0 failed), 1 not described`, when a description was used."""
    every: list[StepResult] = []
    stack = list(steps)
    while stack:
        step = stack.pop()
        every.append(step)
        stack.extend(step.children)
    checked = [s for s in every if s.contract and s.contract != "not described"]
    undescribed = sum(1 for s in every if s.contract == "not described")
    if not checked and not undescribed:
        return ""
    failed = sum(1 for s in checked if any(not a.passed and a.subject.startswith("openapi") for a in s.assertions))
    return (
        f"openapi: {plural(len(checked), 'response')} checked against their operations ({failed} failed), "
        f"{undescribed} not described"
    )
