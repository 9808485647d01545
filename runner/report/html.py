"""The HTML report: one self-contained file (no scripts, fonts or images fetched) for a person.

A summary on top, then each flow run, failures first and expanded: a failed step shows its
checks with expected and actual values; requests and responses fold away in <details>. Drawn
from the run's transcript, so everything in it is already redacted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from runner.flowfile.source import plural

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:16px 24px} header h1{margin:0 0 4px;font-size:20px}
main{padding:16px 24px;max-width:1200px} .muted{color:#656d76} header .muted{color:#b6bdc5}
details{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:8px 0;padding:0 12px}
details>summary{cursor:pointer;padding:8px 0;font-weight:600}
.flow.failed{border-left:4px solid #cf222e} .flow.passed{border-left:4px solid #1a7f37}
.step.failed,.step.error{border-color:#cf222e} .step.skipped,.step.not-run{opacity:.7}
.step.line{padding:8px 12px;margin:8px 0;background:#fff;border:1px solid #d0d7de;border-radius:6px}
.passed>summary .mark{color:#1a7f37} .failed>summary .mark,.error>summary .mark{color:#cf222e}
table{border-collapse:collapse;margin:8px 0;width:100%}
td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top} th{background:#f6f8fa}
td.fail{color:#cf222e} .error-text{color:#cf222e;font-weight:600}
pre{background:#f6f8fa;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-all}
"""
_MARKS = {"passed": "✓", "failed": "✗", "error": "✗", "skipped": "○", "not run": "·"}


def _el(tag: str, *content: str, cls: str = "", opened: bool = False) -> str:
    """An element around already-escaped `content`."""
    attributes = (f" class='{cls}'" if cls else "") + (" open" if opened else "")
    return f"<{tag}{attributes}>{''.join(content)}</{tag}>"


def _json(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False))


def _message(message: dict[str, Any], title: str, first_line: str) -> str:
    headers = "".join(f"\n{k}: {v}" for k, v in message["headers"])
    text = f"{first_line}{headers}\n\n{message['body']['text']}"
    return _el("h4", title) + _el("pre", escape(text))


def _exchange(step: dict[str, Any]) -> str:
    parts = []
    if request := step["request"]:
        parts.append(_message(request, "Request", f"{request['method']} {request['url']}"))
    if response := step["response"]:
        parts.append(_message(response, "Response", f"{response['status']} {response['reason']}"))
    return _el("details", _el("summary", "Request and response"), *parts, cls="exchange") if parts else ""


_NOTHING = "(nothing)"  # as the console says it: no value at all, not a JSON null


def _shown(value: dict[str, Any], key: str) -> str:
    return _json(value[key]) if key in value else escape(_NOTHING)


def _check_row(check: dict[str, Any]) -> str:
    mark = _el("td", "✓") if check["passed"] else _el("td", "✗", cls="fail")
    actual = escape(_NOTHING) if check.get("absent") else _json(check["actual"])
    cells = [
        escape(check["subject"]),
        escape(check["op"]),
        _json(check["expected"]),
        actual,
        escape(check["message"]),
        escape(check["location"] or ""),
    ]
    row = _el("tr", mark, *(_el("td", c) for c in cells))
    if not check.get("diff"):
        return row
    items = [
        _el("li", _el("code", escape(d["path"])) + f": expected {_shown(d, 'expected')}, actual {_shown(d, 'actual')}")
        for d in check["diff"]
    ]
    return row + f"<tr><td></td><td colspan='6'>differs at:{_el('ul', *items)}</td></tr>"


def _checks(step: dict[str, Any]) -> str:
    if not step["assertions"]:
        return ""
    head = _el("tr", *(_el("th", h) for h in ("", "check", "op", "expected", "actual", "why", "where")))
    rows = [_check_row(a) for a in sorted(step["assertions"], key=lambda a: a["passed"])]
    return _el("table", head, *rows)


def _step_details(step: dict[str, Any]) -> list[str]:
    body = [_el("p", escape(f"{step['location'] or ''} · {step['outcome']}"), cls="muted")]
    if step["error"]:
        body.append(_el("p", "error: " + escape(step["error"]), cls="error-text"))
    body.append(_checks(step))
    if step["variables"]:
        shown = ", ".join(f"{k} = {json.dumps(v)}" for k, v in step["variables"].items())
        body.append(_el("p", "variables: " + escape(shown)))
    if step["curl"]:
        body.append(_el("p", "Replay it (secrets come from the named environment variables):"))
        body.append(_el("pre", escape(step["curl"])))
    return body


def _step(step: dict[str, Any]) -> str:
    outcome = step["outcome"]
    if outcome in ("not run", "skipped"):  # nothing happened: a line, not a fold that opens on nothing
        why = " (its `when` was false)" if outcome == "skipped" else ""
        line = _el("span", _MARKS[outcome], cls="mark") + escape(f" {step['name']} · {outcome}{why}")
        return _el("div", line, cls=f"step line {outcome.replace(' ', '-')}")
    status = f" · {step['response']['status']}" if step["response"] else ""
    attempts = f" · {step['attempts']} attempts" if step["attempts"] > 1 else ""
    title = _el("span", _MARKS[outcome], cls="mark") + escape(
        f" {step['name']}{status} · {step['elapsed_ms']:.0f} ms{attempts}"
    )
    body = [*_step_details(step), _exchange(step), *(_step(child) for child in step["steps"])]
    failed = outcome in ("failed", "error")
    return _el("details", _el("summary", title), *body, cls=f"step {outcome.replace(' ', '-')}", opened=failed)


def _flow(flow: dict[str, Any]) -> str:
    state = "passed" if flow["passed"] else "failed"
    title = _el("span", "✓" if flow["passed"] else "✗", cls="mark") + escape(f" {flow['name']}")
    body = [_el("p", escape(f"{flow['file']} · {flow['elapsed_ms']:.0f} ms"), cls="muted")]
    if flow["error"]:
        body.append(_el("p", escape(flow["error"]), cls="error-text"))
    body.extend(_step(s) for s in flow["steps"])
    if flow["finally"]:
        body.append(_el("h4", "finally") + "".join(_step(s) for s in flow["finally"]))
    return _el("details", _el("summary", title), *body, cls=f"flow {state}", opened=not flow["passed"])


def _when(started_at: str) -> str:
    """`2026-11-28 05:16:53 UTC` from the report's ISO time with microseconds."""
    try:
        moment = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _summary(report: dict[str, Any]) -> str:
    flows, steps = report["summary"]["flows"], report["summary"]["steps"]
    counts = (
        f"{plural(flows['total'], 'flow')}: {flows['passed']} passed, {flows['failed']} failed, "
        f"{flows['not_started']} not started · {plural(steps['total'], 'step')}: {steps['passed']} passed, "
        f"{steps['failed']} failed, {steps['skipped']} skipped, {steps['not_run']} not run"
    )
    if report.get("interrupted"):
        counts += f" · interrupted by {report['interrupted']}"
    seconds = report["elapsed_ms"] / 1000
    version = report["tool"]["version"]
    meta = f"seed {report['seed']} · {seconds:.2f} s · apiflow {version} · {_when(report['started_at'])}"
    if report.get("replayed_from"):
        meta += f" · replayed from {report['replayed_from']}: nothing was sent"
    return f"<div id='summary'>{escape(counts)}</div>" + _el("div", escape(meta), cls="muted")


def html_report(report: dict[str, Any]) -> str:
    """The transcript as one self-contained HTML page."""
    verdict = "passed" if report["passed"] else "failed"
    ordered = sorted(report["flows"], key=lambda f: f["passed"])  # failures first
    head = (
        "<meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>apiflow report: {verdict}</title><style>{_STYLE}</style>"
    )
    header = _el("header", _el("h1", f"apiflow report: {verdict}"), _summary(report))
    problems = [_el("pre", escape(p["text"]), cls="error-text") for p in report.get("problems", [])]
    if problems:
        problems.insert(0, _el("h2", f"{plural(len(problems), 'problem')} found: the flows did not load, nothing ran"))
    body = header + _el("main", *problems, *map(_flow, ordered))
    return f"<!doctype html><html lang='en'><head>{head}</head><body>{body}</body></html>\n"
