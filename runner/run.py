"""The executor: runs flows and returns their results. It prints nothing.

Steps of a flow run in order; the first step that fails ends its flow (the rest are reported as
not run) and the run goes on with the next flow. The core is async; up to `jobs` flows run at
once, each with its own HTTP client and scope. For each step: render → send → status → captures
→ assertions, every check collected before the step is judged.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from runner import __version__
from runner.assertions import MISSING, check_response, render_with
from runner.http_exchange import ExchangeError, build_request, send, sent
from runner.model import Capture, Flow, Step
from runner.redact import Redactor
from runner.results import AssertionResult, FlowResult, Outcome, ReceivedResponse, StepResult
from runner.scope import MissingSecretError, RunScope, response_view
from runner.templates import Template, TemplateRenderError, Tree, templates_in
from runner.transport import client_options


@dataclass(slots=True)
class RunOptions:
    """How to run: variables from the command line, the environment, concurrency, seed."""

    vars: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] | None = None  # None: the process environment
    seed: int | None = None  # None: a random seed, still recorded in every result
    jobs: int = 1
    fail_fast: bool = False
    transport: httpx.AsyncBaseTransport | None = None  # for tests: an ASGI app in-process
    on_flow_done: Callable[[FlowResult], None] | None = None


@dataclass(slots=True)
class RunResult:
    flows: list[FlowResult]
    redactor: Redactor
    seed: int

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.flows)


def run_flows(
    flows: Sequence[Flow], options: RunOptions | None = None, *, redactor: Redactor | None = None
) -> RunResult:
    """Run `flows` and return every result; the synchronous entry point.

    Pass a `redactor` to share it with a reporter that shows flows while the run goes on.
    """
    return asyncio.run(arun_flows(flows, options or RunOptions(), redactor=redactor))


async def arun_flows(flows: Sequence[Flow], options: RunOptions, *, redactor: Redactor | None = None) -> RunResult:
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    redactor = redactor or Redactor()
    env = dict(os.environ if options.env is None else options.env)
    gate = asyncio.Semaphore(max(1, options.jobs))
    stop = asyncio.Event()

    async def one(flow: Flow) -> FlowResult:
        async with gate:
            if stop.is_set():
                return _not_started(flow, seed)
            result = await run_flow(flow, options, env, redactor, seed)
        if not result.passed and options.fail_fast:
            stop.set()
        if options.on_flow_done:
            options.on_flow_done(result)
        return result

    results = await asyncio.gather(*(one(f) for f in flows))
    return RunResult(list(results), redactor, seed)


def _not_started(flow: Flow, seed: int) -> FlowResult:
    steps = tuple(StepResult(s, Outcome.NOT_RUN) for s in flow.steps)
    return FlowResult(flow, steps, 0.0, seed, error="not started: --fail-fast stopped the run")


async def run_flow(
    flow: Flow, options: RunOptions, env: Mapping[str, str], redactor: Redactor, seed: int
) -> FlowResult:
    started = time.perf_counter()
    scope = RunScope(env, redactor, seed, frozen=options.seed is not None)
    results: list[StepResult] = []
    error = _set_vars(flow, scope, options.vars)
    if error is None:
        async with _client(flow, options) as client:
            for step in flow.steps:
                result = await run_step(step, flow, client, scope)
                results.append(result)
                if not result.passed:
                    break
    results += [StepResult(s, Outcome.NOT_RUN) for s in flow.steps[len(results) :]]
    elapsed = (time.perf_counter() - started) * 1000
    message, span = error or ("", None)
    return FlowResult(flow, tuple(results), elapsed, seed, error=message, error_span=span)


def _client(flow: Flow, options: RunOptions) -> httpx.AsyncClient:
    """One client per flow run: its connections and cookies are the flow's session."""
    tls = {"transport": options.transport} if options.transport else client_options(verify=flow.http.verify)
    return httpx.AsyncClient(
        headers={"User-Agent": f"apiflow/{__version__}"},
        follow_redirects=flow.http.follow_redirects,
        timeout=flow.http.timeout,
        **tls,
    )


def _set_vars(flow: Flow, scope: RunScope, overrides: Mapping[str, Any]) -> tuple[str, Any] | None:
    """Evaluate the flow's vars in order (each may read the earlier ones); --var wins."""
    for var in flow.vars:
        if var.name in overrides:
            scope.vars[var.name] = overrides[var.name]
            continue
        try:
            scope.vars[var.name] = _render(var.value, scope.mapping())
        except (TemplateRenderError, MissingSecretError) as err:
            return f"var `{var.name}`: {err}", var.span
    scope.vars.update({k: v for k, v in overrides.items() if k not in scope.vars})
    return None


def _render(value: Any, scope: dict[str, Any]) -> Any:
    return value.render(scope) if isinstance(value, (Template, Tree)) else value


async def run_step(step: Step, flow: Flow, client: httpx.AsyncClient, scope: RunScope) -> StepResult:
    started = time.perf_counter()
    try:
        request = build_request(client, step.request, flow.http, scope.mapping(), scope.redactor)
    except (TemplateRenderError, MissingSecretError, ExchangeError) as err:
        span = err.template.span if isinstance(err, TemplateRenderError) else step.request.span
        return _errored(step, scope, str(err), span, started)
    try:
        response = await send(client, request)
    except ExchangeError as err:
        return _errored(step, scope, str(err), step.request.span, started, sent(request))
    scope.redactor.learn_json(response.json)
    if step.id:
        scope.steps[step.id] = {"response": response_view(response)}
    captured, capture_results = _capture(step.captures, response, scope)
    for name, value in captured.items():
        scope.capture(name, value)
    assertions = check_response(step.expect, response, render_with(scope.mapping(response)))
    status_first = [a for a in assertions if a.subject == "status"]
    ordered = (*status_first, *capture_results, *(a for a in assertions if a.subject != "status"))
    passed = all(a.passed for a in ordered)
    return StepResult(
        step,
        Outcome.PASSED if passed else Outcome.FAILED,
        request=sent(request),
        response=response,
        assertions=ordered,
        captures=captured,
        variables={} if passed else _variables(step, scope),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _errored(step: Step, scope: RunScope, message: str, span: Any, started: float, request: Any = None) -> StepResult:
    return StepResult(
        step,
        Outcome.ERROR,
        request=request,
        error=message,
        error_span=span,
        variables=_variables(step, scope),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _capture(
    captures: Sequence[Capture], response: ReceivedResponse, scope: RunScope
) -> tuple[dict[str, Any], list[AssertionResult]]:
    values: dict[str, Any] = {}
    results: list[AssertionResult] = []
    for capture in captures:
        value, why = _capture_one(capture, response, scope)
        if value is MISSING:
            results.append(
                AssertionResult(
                    f"capture {capture.name}",
                    "capture",
                    _capture_source(capture),
                    MISSING,
                    False,
                    capture.span,
                    why,
                )
            )
        else:
            values[capture.name] = value
    return values, results


def _capture_one(capture: Capture, response: ReceivedResponse, scope: RunScope) -> tuple[Any, str]:
    if capture.jsonpath is not None:
        if not response.is_json:
            return MISSING, "the response body is not JSON"
        matches = capture.jsonpath.find(response.json)
        if not matches:
            return (
                MISSING,
                f"{capture.jsonpath.text} matched nothing; {capture.jsonpath.explain_miss(response.json)}",
            )
        return (matches if capture.all else matches[0]), ""
    if capture.header is not None:
        found = [v for k, v in response.headers if k.lower() == capture.header.lower()]
        if not found:
            names = ", ".join(sorted({k for k, _ in response.headers})) or "none"
            return MISSING, f"the response has no {capture.header} header (it has: {names})"
        return ", ".join(found), ""
    try:
        return _render(capture.value, scope.mapping(response)), ""
    except (TemplateRenderError, MissingSecretError) as err:
        return MISSING, str(err)


def _capture_source(capture: Capture) -> str:
    if capture.jsonpath is not None:
        return capture.jsonpath.text
    if capture.header is not None:
        return f"header {capture.header}"
    return "value"


def _variables(step: Step, scope: RunScope) -> dict[str, Any]:
    """The names the step's templates read, with their values, for the failure report."""
    r = step.request
    names = {n for v in (r.url, r.params, r.headers, r.json, r.body, r.form) for t in templates_in(v) for n in t.names}
    visible = scope.mapping()
    return {
        n: visible[n]
        for n in sorted(names)
        if n in visible and not callable(visible[n]) and n not in ("env", "steps", "vars")
    }
