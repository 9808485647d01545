"""The Locust user that runs flows: each iteration one whole flow run, on the blocking driver.

Every attempt of a step is one request in Locust's statistics, named `<flow> / <step>` (the URL
varies with ids; the name does not), with its real response time and length; a failed
expectation or capture is a failure carrying apiflow's one-line message, redacted. Steps not run
after a failure are not requests. `finally` steps run, and count. Matrix rows are taken in turn;
flows are picked by their weight (`load: {weight: N}`, 1 by default). Captures live in one
iteration's scope and die with it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
from locust import User, constant, task

from runner.engine.redact import Redactor
from runner.engine.results import Outcome, StepResult
from runner.engine.run import Run, RunOptions, run_flow_blocking
from runner.report.github import why_failed


class StepFailedError(Exception):
    """What Locust lists in its failures table: apiflow's message for the step, redacted."""


def user_class(runs: Sequence[Run], options: RunOptions, env: dict[str, str], seed: int) -> type[User]:
    """A Locust `User` class that runs `runs` (weighted by flow, rows in turn), forever."""
    by_flow: dict[int, list[Run]] = {}
    for run in runs:
        by_flow.setdefault(id(run.flow), []).append(run)
    groups = list(by_flow.values())
    weights = [group[0].flow.load_weight for group in groups]

    class FlowUser(User):
        wait_time = constant(0)

        def on_start(self) -> None:
            self.transport = httpx.HTTPTransport()  # this user's connections, kept across iterations
            self.rows: list[Iterator[Run]] = [itertools.cycle(group) for group in groups]
            self.chooser = random.Random()

        def on_stop(self) -> None:
            self.transport.close()

        @task
        def run_a_flow(self) -> None:
            index = self.chooser.choices(range(len(groups)), weights)[0]
            run = next(self.rows[index])
            redactor = Redactor()

            def report(result: StepResult) -> None:
                _fire(self.environment, run, result, redactor)

            run_flow_blocking(
                run.flow,
                options,
                env,
                redactor,
                seed,
                self.transport,
                row=run.row,
                data_seed=f"{run.data_seed}:{id(self)}:{self.chooser.random()}",
                on_attempt=report,
            )

    return FlowUser


def _fire(environment: Any, run: Run, result: StepResult, redactor: Redactor) -> None:
    request = result.step.request
    if request is None or result.outcome in (Outcome.NOT_RUN, Outcome.SKIPPED):
        return
    response = result.response
    failed = result.outcome in (Outcome.FAILED, Outcome.ERROR)
    environment.events.request.fire(
        request_type=request.method,
        name=f"{run.flow.name} / {result.step.name}",
        response_time=response.elapsed_ms if response is not None else result.elapsed_ms,
        response_length=len(response.body) if response is not None else 0,
        exception=StepFailedError(redactor.redact(why_failed(result))) if failed else None,
        context={},
    )
