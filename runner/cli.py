"""The `apiflow` command: a thin layer that wires load → run → report and picks the exit code.

Exit codes: 0 every flow passed; 1 a flow failed; 2 a usage error or a flow that does not load;
3 a bug in apiflow itself (reported in one line; APIFLOW_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from runner import __version__
from runner.envfile import read_env_file
from runner.errors import ApiflowError, LoadError, UsageError
from runner.loader import load_flows, names_read
from runner.model import Flow
from runner.redact import Redactor
from runner.report.console import ConsoleReport, plain, plural
from runner.report.files import ReportFiles
from runner.report.progress import Progress
from runner.report.transcript import RunContext
from runner.results import FlowResult
from runner.run import RunOptions, RunResult, expand, interrupted_result, run_flows
from runner.scalars import parse_scalar
from runner.schema_check import flow_schema
from runner.source import did_you_mean

VALIDATE_CHECKS = "YAML, the flow schema, templates, JSONPaths, regular expressions, files and names"
PATHS = click.argument("paths", nargs=-1, required=True)  # not click.Path: it stats, and a NUL raises
EXCLUDE = click.option(
    "--exclude",
    "exclude",
    multiple=True,
    metavar="GLOB",
    help="In folders, skip paths matching GLOB (relative to the folder, or a name); repeatable.",
)
VARS = click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a flow variable, over the flow's own default (validate: names that will be set).",
)


def _colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _parse_var(text: str) -> tuple[str, Any]:
    """`K=V`: V is read as a JSON scalar when it is one (111, true), else kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise click.BadParameter(f"expected NAME=VALUE, got {text!r}", param_hint="--var")
    return key, parse_scalar(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="apiflow", message="%(prog)s %(version)s")
def cli() -> None:
    """Run multi-step HTTP API flows written in YAML."""


@cli.command()
@PATHS
@VARS
@EXCLUDE
@click.option("--env-file", metavar="FILE", help="A dotenv file read as env.NAME and by secret().")
@click.option("--tag", "tags", multiple=True, help="Run only flows with this tag (repeat for any of several).")
@click.option("--jobs", type=click.IntRange(1, 256), default=1, show_default=True, help="How many flows run at once.")
@click.option("--fail-fast", is_flag=True, help="Start no new flow after one fails.")
@click.option(
    "--seed", type=click.IntRange(0), help="Seed for uuid(), random_int(), now() and fake.*, to replay a run's data."
)
@click.option("-v", "--verbose", is_flag=True, help="Show every request and response in full (secrets redacted).")
@click.option("-q", "--quiet", is_flag=True, help="Show only the summary.")
@click.option("--sandbox", is_flag=True, help="Run against the embedded BigCommerce sandbox (sets the BC_* variables).")
@click.option("--report", "report_json", metavar="F.json", help="Write the run's full transcript as JSON.")
@click.option("--junit", metavar="F.xml", help="Write JUnit XML for CI.")
@click.option("--html", "report_html", metavar="F.html", help="Write a self-contained HTML report.")
def run(
    paths: Sequence[str],
    variables: Sequence[str],
    exclude: Sequence[str],
    env_file: str | None,
    tags: Sequence[str],
    jobs: int,
    fail_fast: bool,
    seed: int | None,
    verbose: bool,
    quiet: bool,
    sandbox: bool,
    report_json: str | None,
    junit: str | None,
    report_html: str | None,
) -> None:
    """Run the flows in PATHS (files, or folders searched for *.yaml)."""
    if verbose and quiet:
        raise click.UsageError("-v and -q cannot be used together")
    files = ReportFiles(json=report_json, junit=junit, html=report_html)
    files.check_writable()
    overrides = dict(_parse_var(v) for v in variables)
    from_file = read_env_file(env_file) if env_file else {}
    context = RunContext(command_line_vars=overrides, env_file=env_file, env_file_names=list(from_file))
    env = dict(os.environ) | from_file
    try:
        flows = _select(load_flows(paths, extra_names=overrides, exclude=exclude), tags, paths)
    except LoadError as err:
        files.write_load_errors(err.problems, context)
        raise
    _warn_of_unread(overrides, flows)
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)  # known even if interrupted
    with ExitStack() as stack:
        if sandbox:
            env = _start_sandbox(stack, env)
        options = RunOptions(vars=overrides, env=env, seed=seed, jobs=jobs, fail_fast=fail_fast)
        run = _ShownRun(flows, options, verbosity=1 if verbose else -1 if quiet else 0)
        with _terminate_as_interrupt():
            try:
                result = run.start()
            except KeyboardInterrupt as stop:  # the finished flows are kept, and reported
                context.interrupted = "SIGTERM" if isinstance(stop, Terminated) else "SIGINT"
                result = run.interrupted(context.interrupted)
    context.elapsed_ms = (datetime.now(UTC) - context.started_at).total_seconds() * 1000
    files.write(result.flows, result.redactor, result.seed, context)
    if context.interrupted:
        written = ", ".join(filter(None, (files.json, files.junit, files.html)))
        _fail(
            f"interrupted by {context.interrupted}: {run.finished_count} of {run.total} flows had finished"
            + (f"; reports written: {written}" if written else ""),
            143 if context.interrupted == "SIGTERM" else 130,
        )
    sys.exit(0 if result.passed else 1)


def _warn_of_unread(overrides: dict[str, Any], flows: list[Flow]) -> None:
    """A `--var` no flow reads is most often a typo: say so, with the name it was probably meant as."""
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
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start_sandbox(stack: ExitStack, env: dict[str, str]) -> dict[str, str]:
    """Serve the sandbox for the run; BC_* values the user set themselves are kept."""
    from runner.sandbox.serve import environment, serve_in_thread

    url = stack.enter_context(serve_in_thread())
    kept = sorted(k for k in environment(url) if k in env)
    click.echo(f"Target: the embedded BigCommerce sandbox at {url} (apiflow sandbox; no real store is called)")
    if kept:
        click.echo(f"  kept from your environment: {', '.join(kept)}")
    return environment(url) | env


class _ShownRun:
    """A run whose flows are shown as they finish (with a live progress line), then a summary.

    It keeps each finished flow, so an interrupted run still reports what it did.
    """

    def __init__(self, flows: list[Flow], options: RunOptions, *, verbosity: int) -> None:
        self.flows = flows
        self.options = options
        self.colour = _colour()
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
            row = None if run.row is None else {k: self.options.vars.get(k, v) for k, v in run.row.items()}
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


def _select(flows: list[Flow], tags: Sequence[str], paths: Sequence[str]) -> list[Flow]:
    """The flows that carry one of `tags` (all of them when no tag is asked for)."""
    if not tags:
        return flows
    chosen = [f for f in flows if set(tags) & set(f.tags)]
    if not chosen:
        raise UsageError(f"no flow under {', '.join(paths)} has the tag {' or '.join(tags)}")
    return chosen


@cli.command()
@PATHS
@VARS
@EXCLUDE
def validate(paths: Sequence[str], variables: Sequence[str], exclude: Sequence[str]) -> None:
    """Check flows without sending a request: schema, templates, JSONPaths, names."""
    try:
        names = dict(_parse_var(v) for v in variables)
        flows = load_flows(paths, extra_names=names, runnable=False, exclude=exclude)
    except LoadError as err:
        found = plural(len(err.problems), "problem")
        _fail(f"{err}\n\n{found} found by checking {VALIDATE_CHECKS}; no request was sent.", 2)
    steps = sum(len(f.steps) for f in flows)
    click.echo(f"✓ {plural(len(flows), 'flow')} valid ({plural(steps, 'step')}): checked {VALIDATE_CHECKS}")


@cli.command("list")
@PATHS
@EXCLUDE
def list_flows(paths: Sequence[str], exclude: Sequence[str]) -> None:
    """List the flows, their steps, tags and file locations."""
    for flow in load_flows(paths, runnable=False, exclude=exclude):
        tags = f"  [{', '.join(flow.tags)}]" if flow.tags else ""
        kind = "  (sub-flow, run through `use`)" if flow.is_sub_flow else ""
        rows = f"  ({len(flow.matrix)} matrix rows)" if flow.matrix else ""
        click.echo(f"{flow.name}{tags}  {flow.path}{kind}{rows}")
        for step in flow.steps:
            click.echo(f"  {step.index + 1}. {step.name}  (line {step.span.line})")


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8900, show_default=True, help="The port to listen on.")
def sandbox_command(host: str, port: int) -> None:
    """Serve the embedded BigCommerce sandbox until stopped (Ctrl-C)."""
    from runner.sandbox.catalog import ACCESS_TOKEN, STORE_HASH
    from runner.sandbox.serve import SandboxPortError, bind, serve_forever

    try:
        listening = bind(host, port)  # first, so that --port 0 can say which port it got
    except SandboxPortError as err:
        raise UsageError(str(err)) from None
    bound_port = listening.getsockname()[1]
    url = f"http://{host}:{bound_port}"
    click.echo(f"BigCommerce sandbox at {url}")
    click.echo(f"  store hash:    {STORE_HASH}   (any store hash works; each gets its own seeded store)")
    click.echo(f"  access token:  {ACCESS_TOKEN}   (send it as X-Auth-Token)")
    click.echo(f"  API base:      {url}/stores/{STORE_HASH}/v3   payments: {url}/stores/{STORE_HASH}/payments")
    click.echo(
        f"  for flows:     BC_API_URL={url} BC_PAYMENTS_URL={url} BC_STORE_HASH={STORE_HASH} BC_ACCESS_TOKEN=..."
    )
    serve_forever(listening)


@cli.command()
@click.option("--report", "of_report", is_flag=True, help="The schema of the JSON report (--report) instead.")
def schema(of_report: bool) -> None:
    """Print the JSON Schema of the flow language (for editors), or of the JSON report."""
    if of_report:
        from importlib import resources

        click.echo(resources.files("runner").joinpath("report/report.schema.json").read_text("utf-8"), nl=False)
        return
    click.echo(json.dumps(flow_schema(), indent=2))


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `apiflow` command; never lets a traceback reach the user."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="apiflow",
            standalone_mode=False,
        )
    except LoadError as err:
        _fail(f"{err}\n\n{plural(len(err.problems), 'problem')} found; nothing was run.", 2)
    except ApiflowError as err:
        _fail(f"error: {err}", err.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail("interrupted (the flows shown above had finished)", 130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except Exception as err:
        if os.environ.get("APIFLOW_DEBUG"):
            raise
        hint = "hint: this is a bug in apiflow; run with APIFLOW_DEBUG=1 and report the traceback"
        _fail(f"internal error: {type(err).__name__}: {err}\n{hint}", 3)
