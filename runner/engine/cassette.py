"""Record a run's exchanges to a cassette; replay them offline.

`apiflow run --record FILE` keeps, per flow run (its file and its matrix row, in run order),
every attempt of every step: the request sent and the response received, redacted as the JSON
report is (a PAT id, a card number, a token: `[REDACTED]`). With them go the seed, the run's
variables and the environment values its flows read (`env.NAME`), secrets left out.

`apiflow run --replay FILE` runs the same flows with nothing set and no network: each flow run
gets a transport that answers its requests, in order, with the recorded responses. A request that
differs from the recording (method, URL, body; a recorded `[REDACTED]` matches anything) fails
the step and says how it differs. The cassette format is versioned (`"apiflow_cassette": 1`).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runner.engine.redact import MASK, Redactor
from runner.engine.results import StepResult
from runner.errors import UsageError
from runner.flowfile.model import Flow

VERSION = 1
STEP_KEY = "apiflow.step"  # a request extension: the step that sends it, for replay to answer by
_ENV_NAME = re.compile(r"env\.([A-Za-z_]\w*)|env\[['\"]([^'\"]+)['\"]\]")
_SECRET_NAME = re.compile(r"secret\(\s*['\"]([^'\"]+)['\"]")


def env_names(flows: list[Flow]) -> tuple[set[str], set[str]]:
    """The environment variables the flows read with `env.NAME`, and those read by `secret()`."""
    read: set[str] = set()
    secrets: set[str] = set()
    seen: set[str] = set()
    for flow in _with_sub_flows(flows):
        if flow.path in seen:
            continue
        seen.add(flow.path)
        text = flow.source.text
        read |= {a or b for a, b in _ENV_NAME.findall(text)}
        secrets |= set(_SECRET_NAME.findall(text))
    return read - secrets, secrets


def _with_sub_flows(flows: list[Flow]) -> list[Flow]:
    out: list[Flow] = []
    stack = list(flows)
    while stack:
        flow = stack.pop()
        out.append(flow)
        stack.extend(s.use.flow for s in (*flow.steps, *flow.finally_steps) if s.use is not None)
    return out


@dataclass
class Recorder:
    """Collects the attempts of every flow run as they happen (StepRunner's `on_attempt`)."""

    redactor: Redactor
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, run_key: str, result: StepResult) -> None:
        request, response = result.request, result.response
        if request is None:
            return
        self.runs.setdefault(run_key, []).append(
            {
                "step": result.step.name,
                "request": {
                    "method": request.method,
                    "url": self.redactor.redact(request.url),
                    "body": self.redactor.redact(request.body.decode("utf-8", "replace")) if request.body else "",
                },
                "response": None
                if response is None
                else {
                    "status": response.status,
                    "reason": response.reason,
                    "headers": [[k, self.redactor.header(k, v)] for k, v in response.headers],
                    "body": _body(self.redactor, response.body),
                },
                "error": self.redactor.redact(result.error) if result.error and response is None else "",
            }
        )

    def write(self, path: str, seed: int, variables: dict[str, Any], env: dict[str, str], order: list[str]) -> None:
        document = {
            "apiflow_cassette": VERSION,
            "seed": seed,
            "variables": json.loads(self.redactor.redact(json.dumps(variables, default=str))),
            "env": {k: self.redactor.redact(v) for k, v in sorted(env.items())},
            "runs": [{"run": key, "exchanges": self.runs.get(key, [])} for key in order],
        }
        Path(path).write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")


def _body(redactor: Redactor, body: bytes) -> dict[str, str]:
    try:
        return {"text": redactor.redact(body.decode("utf-8"))}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}


@dataclass
class Cassette:
    seed: int
    variables: dict[str, Any]
    env: dict[str, str]
    runs: dict[str, list[dict[str, Any]]]

    def transport(self, run_key: str) -> ReplayTransport:
        return ReplayTransport(run_key, list(self.runs.get(run_key, [])))


def read_cassette(path: str) -> Cassette:
    """The cassette at `path`, checked against its JSON Schema (runner/engine/cassette.schema.json):
    a hand-edited or truncated cassette is a usage error that says where, never a crash mid-replay."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise UsageError(f"--replay {path}: cannot read it as a cassette of `apiflow run --record`: {err}") from None
    if not isinstance(data, dict) or data.get("apiflow_cassette") != VERSION:
        raise UsageError(f"--replay {path}: not an apiflow cassette of version {VERSION}")
    import jsonschema  # only replays need it

    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(cassette_schema()).iter_errors(data))
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "the top level"
        raise UsageError(f"--replay {path}: at {where}: {problem.message} (record the run again with --record)")
    runs = {r["run"]: r["exchanges"] for r in data["runs"]}
    return Cassette(data["seed"], dict(data["variables"]), dict(data["env"]), runs)


def cassette_schema() -> dict[str, Any]:
    """The cassette format's JSON Schema, as shipped in the package (`apiflow schema --cassette`)."""
    text = Path(__file__).with_name("cassette.schema.json").read_text("utf-8")  # as flow_schema() reads
    schema: dict[str, Any] = json.loads(text)
    return schema


class ReplayError(httpx.TransportError):
    """The request is not the one recorded, or the recording has no more exchanges for this run."""


class ReplayTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """One flow run's recorded exchanges, answered in order; nothing leaves the machine."""

    def __init__(self, run_key: str, exchanges: list[dict[str, Any]]) -> None:
        self.run_key = run_key
        self.exchanges = exchanges

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.answer(request, await request.aread())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.answer(request, request.read())

    def answer(self, request: httpx.Request, body: bytes) -> httpx.Response:
        step = request.extensions.get(STEP_KEY)
        index = next((i for i, e in enumerate(self.exchanges) if step is None or e["step"] == step), None)
        if index is None:
            raise ReplayError(f"the recording has no (more) request for step {step!r} of this run")
        recorded = self.exchanges.pop(index)  # this step's next attempt: runs that diverge stay aligned
        expected = recorded["request"]
        difference = _difference(expected, request.method, str(request.url), body.decode("utf-8", "replace"))
        if difference:
            raise ReplayError(f"the request differs from the recording: {difference}")
        response = recorded.get("response")
        if response is None:
            raise ReplayError(f"recorded without a response: {recorded.get('error') or 'no response'}")
        content = response["body"]
        raw = base64.b64decode(content["base64"]) if "base64" in content else content.get("text", "").encode()
        headers = [(k, v) for k, v in response["headers"] if k.lower() not in ("content-length", "content-encoding")]
        reason = {"reason_phrase": str(response["reason"]).encode()}
        return httpx.Response(response["status"], headers=headers, content=raw, extensions=reason)


def _difference(expected: dict[str, Any], method: str, url: str, body: str) -> str:
    if expected["method"] != method:
        return f"method {method}, recorded {expected['method']}"
    if not _same(expected["url"], url):
        return f"URL {url}, recorded {expected['url']}"
    if not _same(expected.get("body", ""), body):
        live, recorded = _around_difference(body, expected.get("body", ""))
        return f"body …{live}…, recorded …{recorded}…"
    return ""


def _around_difference(live: str, recorded: str) -> tuple[str, str]:
    """The two texts around where they first differ, a masked value of the recording standing
    for the live text up to where the recording goes on."""
    at_live, at_recorded = _first_difference(live, recorded)
    return live[max(0, at_live - 20) : at_live + 30], recorded[max(0, at_recorded - 20) : at_recorded + 30]


def _first_difference(live: str, recorded: str) -> tuple[int, int]:
    li = ri = 0
    for k, part in enumerate(recorded.split(MASK)):
        if k:
            ri += len(MASK)
            ahead = live.find(part[:1], li) if part else len(live)  # the masked value ends here
            li = ahead if ahead >= 0 else len(live)
        for char in part:
            if li >= len(live) or live[li] != char:
                return li, ri
            li, ri = li + 1, ri + 1
    return li, ri


def _same(recorded: str, live: str) -> bool:
    """Equal, where a recorded `[REDACTED]` stands for any text (a token, a card number).

    Matched part by part, not by a regular expression: `a.*?a.*?a...b` against a long run of `a`
    backtracks for ever, and a cassette may come from anyone. Each part between masks is looked
    for leftmost after the previous one; the last must end the text."""
    parts = recorded.split(MASK)
    if len(parts) == 1:
        return recorded == live
    first, *middle, last = parts
    if len(live) < len(first) + len(last) or not live.startswith(first) or not live.endswith(last):
        return False
    at, end = len(first), len(live) - len(last)
    for part in middle:
        found = live.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return True
