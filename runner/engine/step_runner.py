"""Runs the steps of one flow run: `when`, `retry`, `use`, and each attempt's request and checks.

One `StepRunner` per flow run (and one per `use` of a sub-flow, sharing the HTTP client, so a
sub-flow's requests belong to the same session). Per attempt: render → send → status → captures
→ the other expectations, every check collected before the step is judged.

The steps are written once, without I/O: they are generators that yield what they need done —
`Send` a request, `Sleep` — and get the response (or the `ExchangeError`) back. Two drivers do
it: `drive` on asyncio for `apiflow run`, `drive_sync` on a blocking `httpx.Client` for Locust's
gevent users (runner/load), so both run exactly the same render → send → check → capture.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx

from runner.engine.assertions import check_response, render_with
from runner.engine.http_exchange import ExchangeError, Outgoing, build_request, send, send_sync
from runner.engine.results import MISSING, AssertionResult, Outcome, ReceivedResponse, StepResult, not_run
from runner.engine.scope import MissingSecretError, RunScope, VarError, response_view
from runner.flowfile.model import Capture, Flow, Retry, Step, Use
from runner.flowfile.source import plural
from runner.flowfile.templates import Template, TemplateRenderError, Tree, condition_text, templates_in

if TYPE_CHECKING:
    from runner.contracts.contracts import Contracts

RENDER_ERRORS = (TemplateRenderError, MissingSecretError)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, eq=False)
class Send:
    """Send this request and give back its `ReceivedResponse`, or throw its `ExchangeError`."""

    outgoing: Outgoing
    max_bytes: int


@dataclass(frozen=True, slots=True, eq=False)
class Sleep:
    """Wait this long before the next attempt (`retry`) or as the step asks (`sleep`)."""

    seconds: float


Steps = Generator[Send | Sleep, Any, T]
MAX_RETRY_DELAY = 3600.0  # backoff grows the wait up to an hour, never to infinity
# The wait between attempts; a name of this module so tests can observe the delays.
sleep = asyncio.sleep


@dataclass(frozen=True, slots=True, eq=False)
class _Done:
    """The steps ended, with this value."""

    value: Any


def _advance(steps: Steps[Any], reply: Any, error: ExchangeError | None) -> Send | Sleep | _Done:
    """Give the steps the last reply (or throw its error in) and take what they ask next."""
    try:
        return steps.throw(error) if error is not None else steps.send(reply)
    except StopIteration as done:
        return _Done(done.value)


async def drive(steps: Steps[T], client: httpx.AsyncClient, direct: httpx.AsyncBaseTransport | None = None) -> T:
    """Run `steps` on asyncio: each `Send` over `client` (or straight on its transport `direct`,
    where `send` can), each `Sleep` with `sleep`."""
    reply: Any = None
    error: ExchangeError | None = None
    while not isinstance(effect := _advance(steps, reply, error), _Done):
        reply, error = None, None
        if isinstance(effect, Sleep):
            await sleep(effect.seconds)
            continue
        try:
            reply = await send(client, effect.outgoing, effect.max_bytes, direct=direct)
        except ExchangeError as err:
            error = err
    return cast(T, effect.value)


def drive_sync(steps: Steps[T], client: httpx.Client, *, wait: Callable[[float], None] = time.sleep) -> T:
    """Run `steps` blocking (a gevent user, where sockets and `time.sleep` yield to the others)."""
    reply: Any = None
    error: ExchangeError | None = None
    while not isinstance(effect := _advance(steps, reply, error), _Done):
        reply, error = None, None
        if isinstance(effect, Sleep):
            wait(effect.seconds)
            continue
        try:
            reply = send_sync(client, effect.outgoing, effect.max_bytes)
        except ExchangeError as err:
            error = err
    return cast(T, effect.value)


def render(value: Any, scope: dict[str, Any]) -> Any:
    return value.render(scope) if isinstance(value, (Template, Tree)) else value


class StepRunner:
    def __init__(
        self,
        flow: Flow,
        client: httpx.AsyncClient | httpx.Client,
        scope: RunScope,
        *,
        keep: bool = True,
        contracts: Contracts | None = None,
        on_attempt: Callable[[StepResult], None] | None = None,
    ) -> None:
        self.flow = flow
        # Called with each attempt's result as soon as it is judged (Locust counts every attempt).
        self.on_attempt = on_attempt
        self.client = client
        self.scope = scope
        self.keep = keep  # keep the full exchange of steps that pass (see RunOptions.keep_exchanges)
        self.contracts = contracts
        # The descriptions this flow's responses are checked against, found once per flow run.
        self.descriptions = contracts.for_flow(flow) if contracts is not None else []

    def run_flow_steps(self) -> Steps[tuple[list[StepResult], list[StepResult]]]:
        """The flow's steps, then its `finally` steps, all of which run whatever happened."""
        steps = yield from self.run_steps(self.flow.steps)
        cleanup = yield from self.run_steps(self.flow.finally_steps, stop_on_failure=False)
        return steps, cleanup

    def run_steps(self, steps: Sequence[Step], *, stop_on_failure: bool = True) -> Steps[list[StepResult]]:
        """Run `steps` in order; after a failure the rest are not run (unless it is `finally`)."""
        results: list[StepResult] = []
        for step in steps:
            result = yield from self.run_step(step)
            results.append(result)
            if stop_on_failure and not result.passed:
                results += not_run(steps[len(results) :])
                break
        return results

    def run_step(self, step: Step) -> Steps[StepResult]:
        if step.when is not None:
            skipped = self._skip(step)
            if skipped is not None:
                return skipped
        if step.sleep:
            yield Sleep(step.sleep)
        if step.request is None and step.use is None:  # a step that only waits
            return StepResult(step, Outcome.PASSED, elapsed_ms=(step.sleep or 0) * 1000)
        if step.use is not None:
            return (yield from self.run_use(step, step.use))
        if step.retry is None:
            return (yield from self.attempt(step))
        return (yield from self.run_with_retry(step, step.retry))

    def _skip(self, step: Step) -> StepResult | None:
        """A SKIPPED result when the step's `when` is false (its captures are then not set)."""
        assert step.when is not None
        try:
            go = render(step.when, self.scope.mapping())
        except RENDER_ERRORS as err:
            return self._errored(step, self._explain(err), step.when.span, time.perf_counter())
        if go and str(go).lower() != "false":
            return None
        for name in (c.name for c in step.captures):
            self.scope.skipped[name] = step.name
        for name in step.use.flow.outputs if step.use else ():
            self.scope.skipped[name] = step.name
        return StepResult(step, Outcome.SKIPPED)

    def run_with_retry(self, step: Step, retry: Retry) -> Steps[StepResult]:
        """Send again until the step passes or `until` holds; transport errors only if asked."""
        delay = retry.delay
        for attempt in range(1, retry.attempts + 1):
            result = yield from self.attempt(step)
            done = self._retry_done(result, retry)
            if done or attempt == retry.attempts:
                break
            yield Sleep(delay)
            delay = min(delay * retry.backoff, MAX_RETRY_DELAY)
        if retry.until is not None and not done and result.response is not None:
            why = f"did not hold after {plural(attempt, 'attempt')}"
            until = AssertionResult(
                f"retry until {condition_text(retry.until)}", "true", True, False, False, retry.until.span, why
            )
            result = replace(result, outcome=Outcome.FAILED, assertions=(*result.assertions, until))
        return replace(result, attempts=attempt)

    def _retry_done(self, result: StepResult, retry: Retry) -> bool:
        if result.transport_failed:
            return not retry.transport_errors  # a POST is never re-sent by surprise
        if result.outcome is Outcome.ERROR or retry.until is None or result.response is None:
            return result.outcome is not Outcome.FAILED
        try:
            return bool(render(retry.until, self.scope.mapping(result.response)))
        except RENDER_ERRORS:
            return False

    def run_use(self, step: Step, use: Use) -> Steps[StepResult]:
        """Run the used flow with its inputs; its outputs become captures of this step."""
        started = time.perf_counter()
        try:
            given = {name: render(v, self.scope.mapping()) for name, v in use.inputs.items()}
            child = self.scope.child()
            child.set_vars(use.flow, given)
        except RENDER_ERRORS as err:
            return self._errored(step, self._explain(err), use.span, started)
        except VarError as err:
            return self._errored(step, f"in {use.flow.path}: {err}", err.var.span, started)
        runner = StepRunner(
            use.flow, self.client, child, keep=self.keep, contracts=self.contracts, on_attempt=self.on_attempt
        )
        steps, cleanup = yield from runner.run_flow_steps()
        children = steps + cleanup
        found = {name: child.value_of(name) for name in use.flow.outputs}
        outputs = {name: value for name, value in found.items() if value is not MISSING}
        for name, value in outputs.items():
            self.scope.capture(name, value)
        passed = all(c.passed for c in children)
        elapsed = (time.perf_counter() - started) * 1000
        return StepResult(
            step,
            Outcome.PASSED if passed else Outcome.FAILED,
            captures=outputs,
            children=tuple(children),
            elapsed_ms=elapsed,
        )

    def attempt(self, step: Step) -> Steps[StepResult]:
        """Send the step's request once and check the response."""
        result = yield from self._attempt(step)
        if self.on_attempt is not None:
            self.on_attempt(result)
        return result

    def _attempt(self, step: Step) -> Steps[StepResult]:
        assert step.request is not None
        started = time.perf_counter()
        try:
            outgoing = build_request(
                self.client, step.request, self.flow.http, self.scope.mapping(), self.scope.redactor
            )
        except (*RENDER_ERRORS, ExchangeError) as err:
            span = err.template.span if isinstance(err, TemplateRenderError) else step.request.span
            return self._errored(step, self._explain(err), span, started)
        outgoing.request.extensions["apiflow.step"] = step.name  # what a replay answers by (cassette.STEP_KEY)
        try:
            response = yield Send(outgoing, self.flow.http.max_response_bytes)
        except ExchangeError as err:
            return self._errored(step, str(err), step.request.span, started, outgoing.sent())
        finally:
            outgoing.close()
        return self._judge(step, outgoing, response, started)

    def _judge(self, step: Step, outgoing: Outgoing, response: ReceivedResponse, started: float) -> StepResult:
        scope = self.scope
        # Learnt here, before anything is shown, so every output redacts the same way.
        scope.redactor.learn_headers(response.headers)
        scope.redactor.learn_json(response.json)
        if step.id:
            scope.steps[step.id] = {"response": response_view(response)}
        captured, capture_results = _capture(step.captures, response, scope)
        for name, value in captured.items():
            scope.capture(name, value)
        assertions = check_response(step.expect, response, render_with(lambda: scope.mapping(response)))
        if response.json_error:
            assert step.request is not None
            unreadable = AssertionResult(
                "body", "json", "readable JSON", MISSING, False, step.request.span, response.json_error
            )
            assertions.insert(0, unreadable)
        contract = ""
        if self.descriptions and step.expect.openapi:
            from runner.engine.contract_checks import contract_results  # only runs with a description

            checks, contract = contract_results(self.descriptions, outgoing.sent(), response, step.span)
            assertions += checks
        status_first = [a for a in assertions if a.subject == "status"]
        ordered = (*status_first, *capture_results, *(a for a in assertions if a.subject != "status"))
        passed = all(a.passed for a in ordered)
        request = None
        if passed and not self.keep:  # what a passed step shows without -v or a report: status, time
            response = _status_only(response)
            ordered, captured = (), {}  # the values live on in the scope; only reports list them
        else:
            request = outgoing.sent()
        return StepResult(
            step,
            Outcome.PASSED if passed else Outcome.FAILED,
            request=request,
            response=response,
            assertions=ordered,
            captures=captured,
            variables={} if passed else self._variables(step),
            elapsed_ms=(time.perf_counter() - started) * 1000,
            contract=contract,
        )

    def _errored(self, step: Step, message: str, span: Any, started: float, request: Any = None) -> StepResult:
        elapsed = (time.perf_counter() - started) * 1000
        return StepResult(
            step,
            Outcome.ERROR,
            request=request,
            error=message,
            error_span=span,
            variables=self._variables(step),
            elapsed_ms=elapsed,
        )

    def _explain(self, err: Exception) -> str:
        """A render error, naming the skipped step when the missing name was its capture."""
        if isinstance(err, TemplateRenderError):
            for name in sorted(err.template.names & set(self.scope.skipped)):
                if name not in self.scope.captures:
                    skipped = self.scope.skipped[name]
                    return f"`{name}` was never captured: step '{skipped}' was skipped (its `when` was false)"
        return str(err)

    def _variables(self, step: Step) -> dict[str, Any]:
        """The names the step's templates read (request, expectations, captures), with their values."""
        values = (*step.sending_values(), *step.checking_values())
        names = {n for v in values for t in templates_in(v) for n in t.names}
        visible = self.scope.mapping()
        hidden = ("env", "steps", "vars")
        return {n: visible[n] for n in sorted(names) if n in visible and not callable(visible[n]) and n not in hidden}


def _status_only(response: ReceivedResponse) -> ReceivedResponse:
    return ReceivedResponse(response.status, response.reason, [], b"", response.elapsed_ms)


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
                    f"capture {capture.name}", "capture", _capture_source(capture), MISSING, False, capture.span, why
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
            return MISSING, f"{capture.jsonpath.text} matched nothing; {capture.jsonpath.explain_miss(response.json)}"
        return (matches if capture.all else matches[0]), ""
    if capture.header is not None:
        found = [v for k, v in response.headers if k.lower() == capture.header.lower()]
        if not found:
            names = ", ".join(sorted({k for k, _ in response.headers})) or "none"
            return MISSING, f"the response has no {capture.header} header (it has: {names})"
        return ", ".join(found), ""
    if capture.cookie is not None:
        cookies = response.cookies()
        if capture.cookie not in cookies:
            return MISSING, f"the response sets no cookie {capture.cookie} (it sets: {', '.join(cookies) or 'none'})"
        return cookies[capture.cookie], ""
    if capture.regex is not None:
        return _by_regex(capture, capture.regex, response.text)
    if capture.css is not None or capture.xpath is not None:
        return _by_query(capture, response)
    try:
        return render(capture.value, scope.mapping(response)), ""
    except RENDER_ERRORS as err:
        return MISSING, str(err)


def _by_regex(capture: Capture, pattern: str, text: str) -> tuple[Any, str]:
    """Group 1 when the pattern has groups (or the `group` asked for), else the whole match."""
    compiled = re.compile(pattern)
    group = capture.group if capture.group is not None else (1 if compiled.groups else 0)
    matches = compiled.finditer(text) if capture.all else filter(None, [compiled.search(text)])
    found = [match.group(group) for match in matches]
    if not found:
        return MISSING, f"the regular expression matched nothing in the body ({len(text):,} characters)"
    return (found if capture.all else found[0]), ""


def _by_query(capture: Capture, response: ReceivedResponse) -> tuple[Any, str]:
    from runner.engine.markup import MarkupError, describe, query  # lxml: only flows that use it

    kind, text = ("css", capture.css) if capture.css is not None else ("xpath", capture.xpath)
    assert text is not None
    try:
        found = query(kind, text, response.body, response.content_type, capture.attr)
    except MarkupError as err:
        return MISSING, f"{err} ({describe(response.body, response.content_type)})"
    if not found:
        what = f"with the attribute {capture.attr}" if capture.attr else ""
        return MISSING, f"the {'selector' if kind == 'css' else 'expression'} matched nothing {what}".strip()
    return (found if capture.all else found[0]), ""


def _capture_source(capture: Capture) -> str:
    if capture.jsonpath is not None:
        return capture.jsonpath.text
    for kind in ("header", "cookie", "css", "xpath", "regex"):
        if getattr(capture, kind) is not None:
            return f"{kind} {getattr(capture, kind)}"
    return "value"
