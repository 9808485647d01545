"""JUnit XML, as Jenkins, GitLab and most CI systems read it, drawn from the run's transcript.

One <testsuite> per flow file, one <testcase> per flow run (per matrix row). A failed check or
capture is a <failure>; a request that could not be made or got no response, a flow that could
not start, and a flow file that does not load are an <error>; a run --fail-fast did not start is
<skipped>. The message holds the failed step's one-line summary, the body its details.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from runner.flowfile.source import Problem, plural


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def _first_failure(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    for step in steps:
        if step["outcome"] in ("failed", "error"):
            return _first_failure(step["steps"]) or step
    return None


def _summary(step: dict[str, Any]) -> str:
    if step["error"]:
        return f"step '{step['name']}': {step['error']}"
    failed = [a for a in step["assertions"] if not a["passed"]]
    if not failed:
        return f"step '{step['name']}' failed"
    first = failed[0]
    more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
    check = f"{first['subject']} {first['op']}"
    return f"step '{step['name']}': {check}: expected {first['expected']!r}, got {first['actual']!r}{more}"


def _details(step: dict[str, Any]) -> str:
    lines = [f"step: {step['name']} ({step['location']})"]
    if step["error"]:
        lines.append(f"error: {step['error']} ({step['error_location']})")
    if step["request"]:
        lines.append(f"request: {step['request']['method']} {step['request']['url']}")
    if step["response"]:
        lines.append(f"response: {step['response']['status']} {step['response']['body']['text'][:500]}")
    for a in step["assertions"]:
        if not a["passed"]:
            values = f"expected={a['expected']!r} actual={a['actual']!r}"
            lines.append(f"failed: {a['subject']} {a['op']} {values} {a['message']} ({a['location']})")
            lines += [
                f"  differs at {d['path']}: expected {d.get('expected', '(nothing)')!r}, actual "
                f"{d.get('actual', '(nothing)')!r}"
                for d in a.get("diff", [])
            ]
    if step["curl"]:
        lines.append(f"replay: {step['curl']}")
    return "\n".join(lines)


def _testcase(suite: ET.Element, flow: dict[str, Any]) -> str:
    """Add a <testcase> for `flow`; returns what it counted as: passed, failure, error, skipped."""
    case = ET.SubElement(
        suite,
        "testcase",
        name=flow["name"],
        classname=flow["file"],
        file=flow["file"],
        time=_seconds(flow["elapsed_ms"]),
    )
    if not flow["started"]:
        ET.SubElement(case, "skipped", message=flow["error"] or "not started")
        return "skipped"
    if flow["error"]:
        ET.SubElement(
            case, "error", message=flow["error"], type="flow"
        ).text = f"{flow['error']} ({flow['error_location']})"
        return "error"
    step = _first_failure(flow["steps"]) or _first_failure(flow["finally"])
    if step is None:
        return "passed"
    kind = "error" if step["outcome"] == "error" else "failure"
    ET.SubElement(
        case, kind, message=_summary(step), type="request" if kind == "error" else "assertion"
    ).text = _details(step)
    return kind


def _suite(parent: ET.Element, name: str, timestamp: str, properties: dict[str, str]) -> ET.Element:
    suite = ET.SubElement(
        parent, "testsuite", name=name, timestamp=timestamp[:19], hostname=socket.gethostname() or "localhost"
    )
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", name=key, value=value)
    return suite


def _count(element: ET.Element, outcomes: list[str], elapsed_ms: float) -> None:
    element.set("tests", str(len(outcomes)))
    for attribute, outcome in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        element.set(attribute, str(outcomes.count(outcome)))
    element.set("time", _seconds(elapsed_ms))


def junit_xml(report: dict[str, Any]) -> str:
    """The transcript as a JUnit XML document."""
    root = ET.Element("testsuites", name="apiflow")
    properties = {"apiflow.version": report["tool"]["version"], "seed": str(report["seed"])}
    if report.get("replayed_from"):  # offline: every response came from this cassette
        properties["apiflow.replayed_from"] = report["replayed_from"]
    by_file: dict[str, list[dict[str, Any]]] = {}
    for flow in report["flows"]:
        by_file.setdefault(flow["file"], []).append(flow)
    every: list[str] = []
    for file, flows in by_file.items():
        suite = _suite(root, file, report["started_at"], properties)
        outcomes = [_testcase(suite, f) for f in flows]
        _count(suite, outcomes, sum(f["elapsed_ms"] for f in flows))
        every += outcomes
    _count(root, every, report["elapsed_ms"])
    return _document(root)


def junit_for_load_errors(problems: Iterable[Problem], timestamp: str) -> str:
    """A JUnit document for flows that did not load: one <error> per file."""
    root = ET.Element("testsuites", name="apiflow")
    by_file: dict[str, list[Problem]] = {}
    for problem in problems:
        by_file.setdefault(problem.span.source.path if problem.span else "(command line)", []).append(problem)
    for file, found in by_file.items():
        suite = _suite(root, file, timestamp, {})
        case = ET.SubElement(suite, "testcase", name=f"load {file}", classname=file, file=file, time="0.000")
        message = f"{plural(len(found), 'problem')}: {found[0].message}"
        ET.SubElement(case, "error", message=message, type="load").text = "\n\n".join(p.render() for p in found)
        _count(suite, ["error"], 0)
    _count(root, ["error"] * len(by_file), 0)
    return _document(root)


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
