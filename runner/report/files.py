"""Writes the machine-readable reports a run asked for: --report (JSON), --junit, --html."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner.engine.redact import Redactor
from runner.engine.results import FlowResult
from runner.errors import UsageError
from runner.flowfile.source import Problem
from runner.report.html import html_report
from runner.report.junit import junit_for_load_errors, junit_xml
from runner.report.transcript import RunContext, transcript


@dataclass(frozen=True, slots=True)
class ReportFiles:
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
        _write(self.json, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        _write(self.junit, junit_xml(report) if self.junit else "")
        _write(self.html, html_report(report) if self.html else "")

    def write_load_errors(self, problems: list[Problem], context: RunContext) -> None:
        """A flow that does not load is still a result CI should see: every report says why
        (JUnit as an <error> per file; the JSON and HTML reports list the problems)."""
        _write(self.junit, junit_for_load_errors(problems, context.started_at.isoformat()) if self.junit else "")
        if self.json or self.html:
            report = transcript([], Redactor(), 0, context, problems)
            _write(self.json, json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
            _write(self.html, html_report(report) if self.html else "")


def _write(name: str | None, text: str) -> None:
    """Write `text` to a temporary file beside `name`, then rename it over `name`: a full disk
    or a killed process leaves the previous report, or none, never a truncated one."""
    if not name:
        return
    target = Path(name)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; a report is not
        os.replace(temporary, target)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"cannot write {name}: {err.strerror}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
