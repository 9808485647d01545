"""Loads flow files: finds them, parses them safely, checks them, and builds `Flow`s.

Every problem in every file is collected before anything is raised, so one `apiflow validate`
shows all of them. Names a template reads are checked here too: a name no var, earlier capture
or built-in defines is a load error, found before any request is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from runner.build import FlowBuilder
from runner.errors import LoadError
from runner.model import Check, Flow, Step
from runner.schema_check import check_flow_document, flow_schema
from runner.source import Problem, SourceFile, did_you_mean
from runner.templates import environment, templates_in
from runner.yaml_source import parse_yaml

FLOW_SUFFIXES = (".yaml", ".yml")
# Names every template may read; `response` is added inside expect and capture.
BUILTIN_NAMES = frozenset({"vars", "env", "secret", "steps", "uuid", "now", "random_int"})


def find_flow_files(paths: Sequence[str]) -> tuple[list[Path], list[Problem]]:
    """The flow files named by `paths` (files, or folders searched recursively)."""
    files: list[Path] = []
    problems: list[Problem] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in FLOW_SUFFIXES and _looks_like_flow(p)))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(
                Problem(
                    None,
                    f"{name}: no such file or folder",
                    "check the path; it is relative to the current folder",
                )
            )
    return files, problems


def _looks_like_flow(path: Path) -> bool:
    """Inside a folder, YAML that has no flow key at all is data (a schema, rows), not a flow."""
    try:
        head = path.read_text("utf-8", errors="replace")
    except OSError:
        return True
    keys = set(flow_schema()["properties"])
    return any(
        line.split(":", 1)[0].strip() in keys
        for line in head.splitlines()
        if not line.startswith((" ", "\t", "#", "-"))
    )


def load_flow(path: str | Path, *, extra_names: Iterable[str] = ()) -> Flow:
    """Load one flow file; raises `LoadError` listing every problem in it."""
    flow, problems = _load(Path(path), frozenset(extra_names))
    if problems or flow is None:
        raise LoadError(problems)
    return flow


def load_flows(paths: Sequence[str], *, extra_names: Iterable[str] = ()) -> list[Flow]:
    """Load every flow under `paths`; raises `LoadError` listing every problem in all files."""
    files, problems = find_flow_files(paths)
    flows: list[Flow] = []
    for file in files:
        flow, found = _load(file, frozenset(extra_names))
        problems.extend(found)
        if flow is not None and not found:
            flows.append(flow)
    if not files and not problems:
        problems.append(
            Problem(
                None,
                f"no flow files (*.yaml, *.yml) under {', '.join(paths)}",
                "name a flow file or a folder that holds some",
            )
        )
    if problems:
        raise LoadError(problems)
    return flows


def _load(path: Path, extra_names: frozenset[str]) -> tuple[Flow | None, list[Problem]]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
        return None, [Problem(None, f"{path}: cannot read the flow file: {reason}")]
    doc, problems = parse_yaml(SourceFile(str(path), text))
    if problems:
        return None, problems
    problems = check_flow_document(doc)
    if not isinstance(doc.data, dict):
        return None, problems
    builder = FlowBuilder(doc)
    flow = builder.flow()
    problems.extend(builder.problems)
    problems.extend(check_names(flow, extra_names))
    problems.sort(key=lambda p: (p.span.line, p.span.column) if p.span else (0, 0))
    return flow, problems


def check_names(flow: Flow, extra_names: frozenset[str] = frozenset()) -> list[Problem]:
    """Names read by templates that nothing defines before the place that reads them."""
    known = set(BUILTIN_NAMES) | set(environment().globals) | extra_names
    problems: list[Problem] = []
    for var in flow.vars:
        problems += _undefined(templates_in(var.value), known, f"var `{var.name}`", "")
        known.add(var.name)
    for value in (flow.http.headers, flow.http.params):
        problems += _undefined(templates_in(value), known, "the `http` block", "")
    for step in flow.steps:
        problems += _undefined(_request_templates(step), known, "", step.name)
        captured = {c.name for c in step.captures}
        after = known | captured | {"response"}
        problems += _undefined(_response_templates(step), after, "", step.name)
        known |= captured
    return problems


def _request_templates(step: Step) -> list[object]:
    r = step.request
    return [r.url, r.params, r.headers, r.json, r.body, r.form]


def _response_templates(step: Step) -> list[object]:
    e = step.expect
    values: list[object] = [c.value for c in step.captures]
    for checks in [*(j.checks for j in e.json), *(h.checks for h in e.headers)]:
        values.extend(_check_values(checks))
    values.extend(_check_values(e.time_ms))
    values.extend(e.that)
    return values


def _check_values(checks: Iterable[Check]) -> list[object]:
    out: list[object] = []
    for check in checks:
        out.append(check.expected)
        out.extend(_check_values(check.nested))
    return out


def _undefined(values: Iterable[object], known: set[str], where: str, step: str) -> list[Problem]:
    problems = []
    for template in (t for v in values for t in templates_in(v)):
        for name in sorted(template.names - known):
            hint = did_you_mean(name, known) or (
                f"define `{name}` under `vars:`, capture it in an earlier step, or pass --var {name}=..."
            )
            message = f"`{name}` is not defined" + (f" in {where}" if where else "")
            problems.append(Problem(template.span, message, hint, step=step))
    return problems
