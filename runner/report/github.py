"""GitHub Actions: an `::error` annotation per failed step, and a Markdown job summary.

Only under `GITHUB_ACTIONS=true`. An annotation points at the failed step's line in its file (the
path as the run named it, relative to the working directory), so the pull request shows the
failure on that line; its message is redacted like every other output and escaped as GitHub's
workflow commands require (`%`, CR and LF in the message; also `:` and `,` in properties). The
summary (flows, steps, each failure with its location) is appended to `$GITHUB_STEP_SUMMARY`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import click

from runner.engine.redact import Redactor
from runner.engine.results import MISSING, FlowResult, Outcome, StepResult
from runner.flowfile.source import plural

_FAILED = (Outcome.FAILED, Outcome.ERROR)


def report(flows: list[FlowResult], redactor: Redactor, replayed_from: str | None = None) -> None:
    """Print the annotations and append the summary (the caller checks `GITHUB_ACTIONS`)."""
    for line in error_lines(flows, redactor):
        click.echo(line)
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as summary:
                summary.write(markdown(flows, redactor, replayed_from))
        except OSError as err:
            click.echo(f"warning: cannot append the job summary to {path}: {err.strerror}", err=True)


def error_lines(flows: list[FlowResult], redactor: Redactor) -> list[str]:
    out = []
    for flow, step in _failures(flows):
        span = step.error_span or step.step.span
        title = f"{redactor.redact(flow.name)} / {redactor.redact(step.step.name)}"
        props = f"file={_property(span.source.path)},line={span.line},col={span.column},title={_property(title)}"
        out.append(f"::error {props}::{_data(redactor.redact(why_failed(step)))}")
    for flow in flows:
        if flow.error and flow.started:  # a var that did not render: no step to point at
            at = flow.error_span
            where = f"file={_property(at.source.path)},line={at.line}," if at else ""
            out.append(
                f"::error {where}title={_property(redactor.redact(flow.name))}::{_data(redactor.redact(flow.error))}"
            )
    return out


def markdown(flows: list[FlowResult], redactor: Redactor, replayed_from: str | None = None) -> str:
    steps = [s for f in flows for s in (*f.steps, *f.finally_steps)]
    passed = sum(1 for f in flows if f.passed)
    failed_steps = sum(1 for s in steps if s.outcome in _FAILED)
    icon = "✅" if passed == len(flows) else "❌"
    lines = [
        f"### {icon} apiflow: {passed} of {plural(len(flows), 'flow')} passed",
        "",
        *([f"Replayed from `{replayed_from}`: every response came from the recording.", ""] if replayed_from else []),
        f"{plural(len(steps), 'step')}: {sum(1 for s in steps if s.outcome is Outcome.PASSED)} passed, "
        f"{failed_steps} failed, {sum(1 for s in steps if s.outcome is Outcome.NOT_RUN)} not run",
        "",
    ]
    failures = list(_failures(flows))
    if failures:
        lines += ["| flow | step | where | why |", "|---|---|---|---|"]
        for flow, step in failures:
            span = step.error_span or step.step.span
            cells = [flow.name, step.step.name, f"`{span.source.path}:{span.line}`", why_failed(step)]
            lines.append("| " + " | ".join(_cell(redactor.redact(c)) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _failures(flows: list[FlowResult]) -> Iterator[tuple[FlowResult, StepResult]]:
    """Each failed step, the innermost one of a `use` (its line is where the problem is)."""
    for flow in flows:
        stack = [s for s in (*flow.steps, *flow.finally_steps) if s.outcome in _FAILED]
        while stack:
            step = stack.pop(0)
            inner = [c for c in step.children if c.outcome in _FAILED]
            if inner:
                stack[:0] = inner
            else:
                yield flow, step


def why_failed(step: StepResult) -> str:
    """Why a step failed, in one line: its error, or each failed check with expected and actual."""
    if step.error:
        return step.error
    parts = []
    for check in step.failed_assertions:
        actual = "nothing" if check.actual is MISSING else repr(check.actual)
        text = f"{check.subject}: expected {check.expected!r}, got {actual}"
        parts.append(text + (f" ({check.message})" if check.message else ""))
    return "; ".join(parts) or "failed"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
