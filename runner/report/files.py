"""Writes the machine-readable reports a run asked for: --report (JSON), --junit, --html."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UsageError
from runner.redact import Redactor
from runner.report.html import html_report
from runner.report.junit import junit_for_load_errors, junit_xml
from runner.report.transcript import RunContext, transcript
from runner.results import FlowResult
from runner.source import Problem


@dataclass(frozen=True, slots=True)
class ReportFiles:
    json: str | None = None
    junit: str | None = None
    html: str | None = None

    def check_writable(self) -> None:
        """Refuse before the run, not after it, a report whose folder does not exist."""
        for option, name in (("--report", self.json), ("--junit", self.junit), ("--html", self.html)):
            if name and not Path(name).resolve().parent.is_dir():
                raise UsageError(f"{option} {name}: the folder {Path(name).parent} does not exist")

    def write(self, flows: list[FlowResult], redactor: Redactor, seed: int, context: RunContext) -> None:
        if not (self.json or self.junit or self.html):
            return
        report = transcript(flows, redactor, seed, context)
        _write(self.json, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        _write(self.junit, junit_xml(report) if self.junit else "")
        _write(self.html, html_report(report) if self.html else "")

    def write_load_errors(self, problems: list[Problem], context: RunContext) -> None:
        """A flow that does not load is still a result CI should see: JUnit gets an <error>."""
        _write(self.junit, junit_for_load_errors(problems, context.started_at.isoformat()) if self.junit else "")


def _write(name: str | None, text: str) -> None:
    if not name:
        return
    try:
        Path(name).write_text(text, "utf-8")
    except OSError as err:
        raise UsageError(f"cannot write {name}: {err.strerror}") from None
