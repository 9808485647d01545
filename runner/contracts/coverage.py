"""`apiflow coverage`: which operations of OpenAPI descriptions the flows touch.

Per operation and documented status:
- sent: a step of a flow asks for it, found without sending anything. The step's URL template is
  resolved from the flow's `vars` as far as they are written out (`{{ api }}/v3/carts` with
  `api: "{{ env.BC_API_URL }}/stores/{{ store_hash }}"` becomes `/stores/x/v3/carts`): a leading
  template or `scheme://host` is the host and is left out, any other template stands for one
  path segment. The statuses are those the step expects (`status:`), or the operation's first
  success status when it expects none.
- received: given a `--report` of a run, a response of that status came back from that operation.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.contracts.contracts import flows_and_sub_flows
from runner.contracts.description import Description, Operation
from runner.errors import UsageError
from runner.flowfile.model import Flow, Step
from runner.flowfile.templates import Template

_NAME = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


@dataclass
class Row:
    description: str
    operation: str
    status: str
    sent: bool = False
    received: bool | None = None  # None: no report given


@dataclass
class Coverage:
    rows: list[Row]
    with_report: bool

    def percent(self, what: str) -> float:
        if what == "sent":
            operations = {(r.description, r.operation) for r in self.rows}
            sent = {(r.description, r.operation) for r in self.rows if r.sent}
            return 100.0 * len(sent) / len(operations) if operations else 100.0
        received = [r for r in self.rows if r.received]
        return 100.0 * len(received) / len(self.rows) if self.rows else 100.0

    @property
    def score(self) -> float:
        """What --fail-under compares: received responses with a report, sent operations without."""
        return self.percent("received" if self.with_report else "sent")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operations": [r.__dict__ for r in self.rows],
            "sent_percent": round(self.percent("sent"), 1),
        }
        if self.with_report:
            out["received_percent"] = round(self.percent("received"), 1)
        return out

    def as_text(self) -> str:
        width = max([len(r.operation) + 2 for r in self.rows] + [9])
        lines = [
            f"{'operation':<{width}}  status   sent   received"
            if self.with_report
            else f"{'operation':<{width}}  status   sent"
        ]
        current = None
        for row in self.rows:
            if row.description != current:
                current = row.description
                lines.append(f"{current}")
            mark = "✓" if row.sent else "–"
            line = f"  {row.operation:<{width - 2}}  {row.status:<7}  {mark:<5}"
            if self.with_report:
                line += f"  {'✓' if row.received else '–'}"
            lines.append(line.rstrip())
        operations = len({(r.description, r.operation) for r in self.rows})
        sent = len({(r.description, r.operation) for r in self.rows if r.sent})
        summary = f"sent: {sent} of {operations} operations ({self.percent('sent'):.0f}%)"
        if self.with_report:
            received = sum(1 for r in self.rows if r.received)
            summary += (
                f"; received: {received} of {len(self.rows)} documented responses ({self.percent('received'):.0f}%)"
            )
        return "\n".join([*lines, "", summary])


def coverage(descriptions: Sequence[Description], flows: Iterable[Flow], report: str | None) -> Coverage:
    rows: dict[tuple[int, str, str], Row] = {}
    order: list[tuple[int, str, str]] = []
    for d_index, description in enumerate(descriptions):
        for operation in description.operations:
            for status in operation.responses():
                key = (d_index, operation.name, str(status))
                rows[key] = Row(description.path, operation.name, str(status), received=False if report else None)
                order.append(key)
    for flow in flows_and_sub_flows(flows):
        for step in (*flow.steps, *flow.finally_steps):
            for d_index, operation, expected in _sent(descriptions, flow, step):
                for documented in expected:
                    if (d_index, operation.name, documented) in rows:
                        rows[(d_index, operation.name, documented)].sent = True
    if report:
        _mark_received(rows, descriptions, report)
    return Coverage([rows[k] for k in order], with_report=report is not None)


def _mark_received(rows: dict[tuple[int, str, str], Row], descriptions: Sequence[Description], report: str) -> None:
    for method, url, code in _exchanges(report):
        path = urllib.parse.urlsplit(url).path
        for index, description in enumerate(descriptions):
            found = description.match(method, path)
            if found is not None:
                covered = _status_key(found, code)
                if covered is not None:
                    rows[(index, found.name, covered)].received = True
                break


def _sent(descriptions: Sequence[Description], flow: Flow, step: Step) -> Iterator[tuple[int, Operation, list[str]]]:
    request = step.request
    if request is None:
        return
    path = static_path(request.url.source if isinstance(request.url, Template) else str(request.url), flow)
    if path is None:
        return
    for d_index, description in enumerate(descriptions):
        operation = description.match(request.method, path)
        if operation is None:
            continue
        documented = [str(k) for k in operation.responses()]
        rule = step.expect.status
        expected = [str(c) for c in sorted(rule.codes)] if rule is not None and rule.codes else []
        expected += [k for k in documented if rule is not None and k[:1].isdigit() and int(k[0]) in rule.classes]
        if not expected:
            expected = [next((k for k in documented if k.startswith("2")), documented[0] if documented else "")]
        keys = [_status_key(operation, int(code)) if code.isdigit() else code for code in expected]
        yield d_index, operation, [k for k in keys if k]
        return


def static_path(url: str, flow: Flow) -> str | None:
    """The path a URL template asks for, as far as the flow's vars say (see the module's doc)."""
    values = {v.name: v.value for v in flow.vars} | {i.name: i.default for i in flow.inputs if i.default is not None}
    text = url
    for _ in range(10):  # vars made of vars, a few levels deep
        replaced = _NAME.sub(lambda m: _source(values.get(m.group(1)), m.group(0)), text)
        if replaced == text:
            break
        text = replaced
    if text.startswith("{{"):
        end = text.find("}}")
        text = text[end + 2 :] if end >= 0 else ""
    elif "://" in text:
        text = urllib.parse.urlsplit(_TEMPLATE.sub("x", text)).path
    text = _TEMPLATE.sub("x", text).split("?", 1)[0]
    return text if text.startswith("/") else None


def _source(value: Any, unchanged: str) -> str:
    if isinstance(value, Template):
        return value.source
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return unchanged


def _status_key(operation: Operation, status: int) -> str | None:
    responses = operation.responses()
    return next(
        (k for k in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default") if k in responses), None
    )


def _exchanges(report: str) -> Iterator[tuple[str, str, int]]:
    try:
        data = json.loads(Path(report).read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(
            f"--report {report}: cannot read it as a JSON report of `apiflow run --report`: {err}"
        ) from None
    stack = [s for f in data.get("flows", []) for s in (*f.get("steps", []), *(f.get("finally") or []))]
    while stack:
        step = stack.pop()
        stack.extend(step.get("steps") or [])
        request, response = step.get("request"), step.get("response")
        if isinstance(request, dict) and isinstance(response, dict) and isinstance(response.get("status"), int):
            yield str(request.get("method", "")), str(request.get("url", "")), response["status"]
