"""Writes the machine-readable reports a run asked for: --report (JSON), --junit, --html."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from runner.engine.redact import Redactor
from runner.engine.results import FlowResult
from runner.errors import UsageError
from runner.flowfile.source import Problem
from runner.output_files import write_atomically
from runner.report.transcript import RunContext, transcript

# The HTML and JUnit writers (and xml.etree) are imported by a run that asks for them only.


@dataclass(frozen=True, slots=True, eq=False)
class ReportFiles:
    """The report files a run writes: --report (JSON), --junit and --html, each optional."""

    json: str | None = None
    junit: str | None = None
    html: str | None = None

    def check_writable(self) -> None:
        """Refuse before the run, not after it, a report that could not be written."""
        for option, name in (("--report", self.json), ("--junit", self.junit), ("--html", self.html)):
            if not name:
                continue
            if "\0" in name:
                raise UsageError(f"{option}: the path holds a NUL character")
            path = Path(name)
            folder = path.parent
            if path.is_dir():
                raise UsageError(f"{option} {name}: that is a folder; name a file in it, such as {path / 'report'}")
            if not folder.resolve().is_dir():
                raise UsageError(f"{option} {name}: the folder {folder} does not exist")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise UsageError(f"{option} {name}: the folder {folder} is not writable")

    def write(self, flows: list[FlowResult], redactor: Redactor, seed: int, context: RunContext) -> None:
        if not (self.json or self.junit or self.html):
            return
        report = transcript(flows, redactor, seed, context)
        write_atomically(self.json, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        if self.junit:
            from runner.report.junit import junit_xml

            write_atomically(self.junit, junit_xml(report))
        if self.html:
            from runner.report.html import html_report

            write_atomically(self.html, html_report(report))

    def write_load_errors(self, problems: list[Problem], context: RunContext) -> None:
        """A flow that does not load is still a result CI should see: every report says why
        (JUnit as an <error> per file; the JSON and HTML reports list the problems)."""
        if self.junit:
            from runner.report.junit import junit_for_load_errors

            write_atomically(self.junit, junit_for_load_errors(problems, context.started_at.isoformat()))
        if self.json or self.html:
            report = transcript([], Redactor(), 0, context, problems)
            write_atomically(self.json, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
            if self.html:
                from runner.report.html import html_report

                write_atomically(self.html, html_report(report))
