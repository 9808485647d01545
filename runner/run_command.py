"""`apiflow run`: load, select, run with the live console, write the reports, pick the exit code.

Kept apart from `cli.py` so that `apiflow --version`, `validate` and `list` never import the
engine (httpx) or the reporters. A signal (Ctrl-C, or SIGTERM from a cancelled CI job) stops the
run the same way: the flows that finished are reported as they ended, the others as interrupted.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from runner.engine.redact import MASK, Redactor
from runner.engine.results import FlowResult
from runner.engine.run import RunOptions, RunResult, expand, interrupted_result, row_used, run_flows, run_keys
from runner.errors import LoadError, UsageError
from runner.flowfile.envfile import read_env_file
from runner.flowfile.loader import load_flows, names_read
from runner.flowfile.model import Flow
from runner.flowfile.parse_ahead import FlowFiles
from runner.flowfile.source import did_you_mean
from runner.report.console import ConsoleReport, plain
from runner.report.files import ReportFiles
from runner.report.progress import Progress
from runner.report.transcript import RunContext


@dataclass(frozen=True, slots=True, eq=False)
class RunCommand:
    """What the command line asked for."""

    paths: Sequence[str]
    overrides: dict[str, Any]
    exclude: Sequence[str]
    env_file: str | None
    tags: Sequence[str]
    jobs: int
    fail_fast: bool
    seed: int | None
    verbosity: int
    sandbox: bool
    reports: tuple[str | None, str | None, str | None]  # --report, --junit, --html
    colour: bool
    openapi: Sequence[str] = ()  # --openapi: descriptions every flow's responses are checked against
    record: str | None = None  # --record FILE: write the run's exchanges to a cassette
    replay: str | None = None  # --replay FILE: answer every request from a cassette, offline
    found: FlowFiles | None = None  # the flow files of `paths`, found (and parsing) before the imports

    def execute(self) -> int:
        """Run, report, and return the exit code (0, 1, 130 or 143); load and usage errors raise."""
        files = ReportFiles(json=self.reports[0], junit=self.reports[1], html=self.reports[2])
        files.check_writable()
        from_file = read_env_file(self.env_file) if self.env_file else {}
        context = RunContext(command_line_vars=self.overrides, env_file=self.env_file, env_file_names=list(from_file))
        env = dict(os.environ) | from_file
        try:
            flows = select_flows(
                load_flows(
                    self.paths, extra_names=self.overrides, exclude=self.exclude, parse_ahead=True, found=self.found
                ),
                self.tags,
                self.paths,
            )
            contracts = _contracts(flows, self.openapi)
        except LoadError as err:
            files.write_load_errors(err.problems, context)
            raise
        _warn_of_unread(self.overrides, flows)
        # The flows live through the run: moved out of the collector's sight, the cycle
        # collections the run triggers need not walk thousands of steps each time.
        gc.freeze()
        try:
            return self._run(flows, files, context, env, contracts)
        finally:
            gc.unfreeze()  # run in-process (tests, pytest), what was frozen is collectable again

    def _run(
        self, flows: list[Flow], files: ReportFiles, context: RunContext, env: dict[str, str], contracts: Any
    ) -> int:
        seed = self.seed if self.seed is not None else random.SystemRandom().randrange(2**31)  # known if interrupted
        overrides = dict(self.overrides)
        cassette = None
        if self.replay:
            from runner.engine.cassette import env_names, read_cassette

            cassette = read_cassette(self.replay)
            seed, overrides = cassette.seed, cassette.variables | overrides
            # What the recording read, and a stand-in for each secret: replay needs nothing set.
            env = dict(cassette.env) | dict.fromkeys(env_names(flows)[1], MASK)
            context.replayed_from = self.replay
            click.echo(f"Replaying {self.replay}: every response comes from the recording; nothing is sent")
        with ExitStack() as stack:
            if self.sandbox and cassette is None:
                env = sandbox_env(stack, env)
            # -v, the reports and a recording keep passed steps in full
            keep = self.verbosity > 0 or any(self.reports) or self.record is not None
            options = RunOptions(
                vars=overrides,
                env=env,
                seed=seed,
                jobs=self.jobs,
                fail_fast=self.fail_fast,
                keep_exchanges=keep,
                contracts=contracts,
                replay=cassette,
            )
            run = _ShownRun(flows, options, verbosity=self.verbosity, colour=self.colour)
            if self.record:
                from runner.engine.cassette import Recorder

                options.recorder = Recorder(run.redactor)
            with _terminate_as_interrupt():
                try:
                    result = run.start()
                except KeyboardInterrupt as stop:  # the finished flows are kept, and reported
                    context.interrupted = "SIGTERM" if isinstance(stop, Terminated) else "SIGINT"
                    result = run.interrupted(context.interrupted)
        context.elapsed_ms = (datetime.now(UTC) - context.started_at).total_seconds() * 1000
        files.write(result.flows, result.redactor, result.seed, context)
        if self.record and options.recorder is not None:
            self._write_cassette(options.recorder, flows, result.seed, overrides, env)
        if os.environ.get("GITHUB_ACTIONS") == "true":  # annotations on the failed lines, a job summary
            from runner.report import github

            github.report(result.flows, result.redactor, context.replayed_from)
        if context.interrupted:
            written = ", ".join(filter(None, (files.json, files.junit, files.html)))
            click.echo(
                f"interrupted by {context.interrupted}: {run.finished_count} of {run.total} flows had finished"
                + (f"; reports written: {written}" if written else ""),
                err=True,
            )
            return 143 if context.interrupted == "SIGTERM" else 130
        return 0 if result.passed else 1

    def _write_cassette(
        self, recorder: Any, flows: list[Flow], seed: int, overrides: dict[str, Any], env: dict[str, str]
    ) -> None:
        from runner.engine.cassette import env_names

        read, _ = env_names(flows)
        values = {name: env[name] for name in read if name in env}
        order = run_keys(flows, seed)
        recorder.write(self.record, seed, overrides, values, order)
        click.echo(f"recorded {sum(len(r) for r in recorder.runs.values())} exchanges to {self.record}")


def _contracts(flows: list[Flow], openapi: Sequence[str]) -> Any:
    """The run's OpenAPI descriptions, each loaded once; None (and no import) when there is none."""
    if not openapi and not any(f.openapi or any(s.use for s in f.steps) for f in flows):
        return None
    from runner.contracts.contracts import load_contracts

    return load_contracts(flows, openapi)


def _warn_of_unread(overrides: Mapping[str, Any], flows: list[Flow]) -> None:
    """A `--var` no flow reads is most often a typo: say so, with the name it was probably meant as."""
    if not overrides:  # nothing to warn of: spare the walk of every flow's templates
        return
    read = set().union(*(names_read(f) for f in flows))
    for name in overrides:
        if name not in read:
            close = did_you_mean(name, read)
            click.echo(f"warning: --var {name}: no flow reads `{name}`" + (f"; {close}" if close else ""), err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that asyncio unwinds the run the same way."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the run goes on, SIGTERM (a cancelled CI job) stops it as Ctrl-C does."""

    def terminate(signum: int, frame: object) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # between runs: stop at once
            raise Terminated from None
        # Raised from a callback of the loop, never inside a task: a task that stored it would
        # be reported later as "exception was never retrieved", traceback and all.
        loop.call_soon_threadsafe(_raise_terminated)

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated() -> None:
    raise Terminated


def sandbox_env(stack: ExitStack, env: dict[str, str], quota: str | None = None) -> dict[str, str]:
    """Serve the sandbox for the run, in a child process (it does not share this interpreter's
    lock with the runner); BC_* values the user set themselves are kept."""
    url, store_hash, token = stack.enter_context(_sandbox_process(quota))
    variables = {"BC_API_URL": url, "BC_PAYMENTS_URL": url, "BC_STORE_HASH": store_hash, "BC_ACCESS_TOKEN": token}
    kept = sorted(k for k in variables if k in env)
    click.echo(f"Target: the embedded BigCommerce sandbox at {url} (apiflow sandbox; no real store is called)")
    if kept:
        click.echo(f"  kept from your environment: {', '.join(kept)}")
    return variables | env


@contextmanager
def _sandbox_process(quota: str | None = None) -> Iterator[tuple[str, str, str]]:
    """`apiflow sandbox --port 0` as a child process; yields its URL, store hash and access token,
    as it prints them once its socket listens (connections wait in the backlog until it serves)."""
    command = [sys.executable, "-m", "runner", "sandbox", "--host", "127.0.0.1", "--port", "0"]
    command += ["--quota", quota] if quota else []
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(3)]
        if not lines[0].startswith("BigCommerce sandbox at "):
            raise UsageError(f"the sandbox did not start (exit {child.poll()}): {lines[0].strip()}")
        url = lines[0].removeprefix("BigCommerce sandbox at ").strip()
        yield url, lines[1].split()[2], lines[2].split()[2]  # "  store hash:    X   (...)"
    finally:
        child.terminate()
        try:
            child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()


class _ShownRun:
    """A run whose flows are shown as they finish (with a live progress line), then a summary.

    It keeps each finished flow, so an interrupted run still reports what it did.
    """

    def __init__(self, flows: list[Flow], options: RunOptions, *, verbosity: int, colour: bool) -> None:
        self.flows = flows
        self.options = options
        self.colour = colour
        # One redactor for the run and the console, so flows shown while others run are redacted.
        self.redactor = Redactor()
        self.console = ConsoleReport(self.redactor, verbosity=verbosity, paint=click.style if self.colour else plain)
        self.runs = expand(flows)
        self.total = len(self.runs)
        self.progress = Progress(total=self.total)
        self.finished: list[FlowResult] = []
        self.started = time.perf_counter()

    @property
    def finished_count(self) -> int:
        return len(self.finished)

    def show(self, result: FlowResult) -> None:
        self.finished.append(result)
        self.progress.clear()
        text = self.console.flow(result)
        if text:
            click.echo(text, color=self.colour)
        self.progress.advance(result.passed)

    def start(self) -> RunResult:
        self.options.on_flow_done = self.show
        result = run_flows(self.flows, self.options, redactor=self.redactor)
        self.summarise(result.flows, result.seed)
        return result

    def interrupted(self, signal_name: str) -> RunResult:
        """The finished flows in run order, and each other one marked as interrupted."""
        seed = self.options.seed or 0  # the CLI always sets one
        waiting = list(self.finished)
        results = []
        for run in self.runs:
            row = row_used(run.row, self.options.vars)  # as the result of that run names it
            done = next((r for r in waiting if r.flow is run.flow and r.row == row), None)
            if done is not None:
                waiting.remove(done)
            results.append(done or interrupted_result(run, seed, signal_name))
        self.summarise(results, seed)
        return RunResult(results, self.redactor, seed)

    def summarise(self, results: list[FlowResult], seed: int) -> None:
        self.progress.clear()
        summary = self.console.summary(results, time.perf_counter() - self.started, seed)
        click.echo(summary, color=self.colour)


def select_flows(flows: list[Flow], tags: Sequence[str], paths: Sequence[str]) -> list[Flow]:
    """The flows that carry one of `tags` (all of them when no tag is asked for)."""
    if not tags:
        return flows
    chosen = [f for f in flows if set(tags) & set(f.tags)]
    if not chosen:
        raise UsageError(f"no flow under {', '.join(paths)} has the tag {' or '.join(tags)}")
    return chosen
