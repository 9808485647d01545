"""The `apiflow` command: a thin layer that wires load → run → report and picks the exit code.

Exit codes: 0 every flow passed; 1 a flow failed; 2 a usage error or a flow that does not load;
3 a bug in apiflow itself (reported in one line; APIFLOW_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from runner import __version__

if "httpx" not in sys.modules:
    # httpx's own command-line client, which `import httpx` tries to load, is never used here;
    # where Pygments is installed (most CI images) the attempt costs the command ~8 ms at start.
    # None in sys.modules makes that import fail at once, and httpx leaves its CLI out.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from runner.errors import ApiflowError, LoadError, UsageError
from runner.flowfile.scalars import parse_scalar
from runner.flowfile.source import plural

if TYPE_CHECKING:
    from runner.flowfile.parse_ahead import FlowFiles

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
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="How many flows run at once (over worker processes, one per core, when there are many).",
)
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
@click.option(
    "--openapi",
    "openapi",
    multiple=True,
    metavar="SPEC",
    help="Check every response against this OpenAPI 3.0/3.1 description (repeatable).",
)
@click.option("--record", metavar="FILE", help="Write every exchange of the run (redacted) to a cassette.")
@click.option("--replay", metavar="FILE", help="Run offline: answer each request from a cassette of --record.")
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
    openapi: Sequence[str],
    record: str | None,
    replay: str | None,
) -> None:
    """Run the flows in PATHS (files, or folders searched for *.yaml)."""
    if verbose and quiet:
        raise click.UsageError("-v and -q cannot be used together")
    with _found(paths, exclude) as found:
        from runner.run_command import RunCommand  # the engine and the reporters: only `run` needs them

        command = RunCommand(
            paths=paths,
            overrides=dict(_parse_var(v) for v in variables),
            exclude=exclude,
            env_file=env_file,
            tags=tags,
            jobs=jobs,
            fail_fast=fail_fast,
            seed=seed,
            verbosity=1 if verbose else -1 if quiet else 0,
            sandbox=sandbox,
            reports=(report_json, junit, report_html),
            colour=_colour(),
            openapi=openapi,
            record=record,
            replay=replay,
            found=found,
        )
        code = command.execute()
    sys.exit(code)


@cli.command()
@PATHS
@VARS
@EXCLUDE
def validate(paths: Sequence[str], variables: Sequence[str], exclude: Sequence[str]) -> None:
    """Check flows without sending a request: schema, templates, JSONPaths, names."""
    with _found(paths, exclude) as found:
        from runner.flowfile.loader import load_flows

        try:
            names = dict(_parse_var(v) for v in variables)
            flows = load_flows(paths, extra_names=names, runnable=False, exclude=exclude, found=found)
            if any(f.openapi for f in flows):  # the descriptions they name must load too
                from runner.contracts.contracts import load_contracts

                load_contracts(flows)
        except LoadError as err:
            count = plural(len(err.problems), "problem")
            _fail(f"{err}\n\n{count} found by checking {VALIDATE_CHECKS}; no request was sent.", 2)
    steps = sum(len(f.steps) for f in flows)
    click.echo(f"✓ {plural(len(flows), 'flow')} valid ({plural(steps, 'step')}): checked {VALIDATE_CHECKS}")


@cli.command("list")
@PATHS
@EXCLUDE
def list_flows(paths: Sequence[str], exclude: Sequence[str]) -> None:
    """List the flows, their steps, tags and file locations."""
    from runner.flowfile.loader import load_flows

    for flow in load_flows(paths, runnable=False, exclude=exclude):
        tags = f"  [{', '.join(flow.tags)}]" if flow.tags else ""
        kind = "  (sub-flow, run through `use`)" if flow.is_sub_flow else ""
        rows = f"  ({len(flow.matrix)} matrix rows)" if flow.matrix else ""
        click.echo(f"{flow.name}{tags}  {flow.path}{kind}{rows}")
        for step in flow.steps:
            click.echo(f"  {step.index + 1}. {step.name}  (line {step.span.line})")


@cli.command()
@click.option(
    "--openapi",
    "specs",
    multiple=True,
    metavar="SPEC",
    help="An OpenAPI description (repeatable; default: the flows' own).",
)
@PATHS
@EXCLUDE
@click.option("--report", metavar="F.json", help="A JSON report of a run (`apiflow run --report`): what it received.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Exit 1 when coverage is lower: received responses with --report, sent operations without.",
)
def coverage(
    specs: Sequence[str], paths: Sequence[str], exclude: Sequence[str], report: str | None, as_json: bool,
    fail_under: float | None,
) -> None:  # fmt: skip
    """Show which operations of OpenAPI descriptions the flows in PATHS send, and a run received."""
    import json

    from runner.contracts.contracts import load_contracts
    from runner.contracts.coverage import coverage as measure
    from runner.flowfile.loader import load_flows

    flows = load_flows(paths, runnable=False, exclude=exclude)
    contracts = load_contracts(flows, specs)
    named = [] if contracts is None else contracts.everywhere if specs else contracts.descriptions
    if not named:
        raise UsageError("no OpenAPI description: give one with --openapi SPEC, or name one in the flows (openapi:)")
    result = measure(named, flows, report)
    click.echo(json.dumps(result.as_json(), indent=2) if as_json else result.as_text())
    if fail_under is not None and result.score < fail_under:
        _fail(f"coverage {result.score:.1f}% is under --fail-under {fail_under:g}%", 1)


@cli.command()
@PATHS
@VARS
@click.option("--env-file", metavar="FILE", help="A dotenv file read as env.NAME and by secret().")
@click.option("--tag", "tags", multiple=True, help="Load only flows with this tag (repeat for any of several).")
@click.option("--users", type=click.IntRange(1), default=10, show_default=True, help="Concurrent users.")
@click.option(
    "--spawn-rate",
    type=click.FloatRange(0, min_open=True),
    default=10,
    show_default=True,
    help="Users started per second.",
)
@click.option("--run-time", default="30s", show_default=True, help="How long: 45s, 5m, 1h.")
@click.option("--sandbox", is_flag=True, help="Load the embedded sandbox (its quota off), in a process of its own.")
@click.option(
    "--threshold", "thresholds", multiple=True, help="p95<800ms, avg<200ms, error_rate<1%, rps>50, or 'NAME: ...'."
)
@click.option("--html", metavar="F.html", help="Write Locust's HTML report.")
@click.option("--csv", "csv_prefix", metavar="PREFIX", help="Write PREFIX_stats.csv and PREFIX_failures.csv.")
@click.option("--web", is_flag=True, help="Serve Locust's web UI while the load runs.")
@click.option("--web-port", type=click.IntRange(1, 65535), default=8089, show_default=True, help="The web UI's port.")
@click.option("--master", is_flag=True, help="Run as Locust's master: workers do the requests.")
@click.option("--expect-workers", type=click.IntRange(1), default=1, show_default=True, help="Workers to wait for.")
@click.option(
    "--master-bind-port", type=click.IntRange(1, 65535), default=5557, show_default=True, help="The master's port."
)
@click.option("--worker", is_flag=True, help="Run as a worker of a master (--master-host).")
@click.option("--master-host", metavar="HOST", help="Where the master runs (for --worker).")
@click.option(
    "--master-port", type=click.IntRange(1, 65535), default=5557, show_default=True, help="The master's port."
)
def load(paths: Sequence[str], variables: Sequence[str], **given: Any) -> None:
    """Run the flows in PATHS as a load test on Locust (`pip install 'apiflow[load]'`)."""
    try:
        import gevent  # noqa: F401 - only to say clearly when the extra is missing
    except ImportError:
        raise UsageError("apiflow load needs Locust: pip install 'apiflow[load]'") from None
    from runner.load.command import patch_gevent

    patch_gevent()  # before anything imports ssl or socket; `apiflow run` never gets here
    from runner.load.command import LoadCommand

    command = LoadCommand(
        paths=paths,
        overrides=dict(_parse_var(v) for v in variables),
        run_time=_seconds(given.pop("run_time")),
        **given,
    )
    sys.exit(command.execute())


def _seconds(text: str) -> float:
    """`45s`, `5m`, `1h`, `1h30m` or a number of seconds."""
    import re

    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?", text.strip())
    if not text.strip() or parts is None:
        raise UsageError(f"--run-time {text!r}: expected a duration such as 45s, 5m or 1h30m")
    hours, minutes, seconds = (float(p) if p else 0.0 for p in parts.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise UsageError(f"--run-time {text!r}: a load runs for more than 0 s")
    return total


@cli.command("import")
@click.argument("file")
@click.option("-o", "--output", metavar="OUT", help="Write the flow here (default: print it).")
@click.option("--workflow", metavar="ID", help="Of an Arazzo document, import this workflow only.")
def import_command(file: str, output: str | None, workflow: str | None) -> None:
    """Write a flow from a HAR recording, a file of curl commands, a Postman collection (v2.1) or an
    Arazzo 1.0 document (the kind is detected from the content)."""
    from runner.share.importer import import_file

    text = import_file(file, workflow)
    if output:
        from runner.output_files import write_atomically

        write_atomically(output, text)
        click.echo(f"wrote {output}: check it with `apiflow validate {output}`")
    else:
        click.echo(text, nl=False)


@cli.command("export")
@click.argument("flow")
@click.option("--to", "kind", type=click.Choice(["arazzo"]), required=True, help="The format to write.")
@click.option("-o", "--output", metavar="OUT", help="Write the document here (.json for JSON; default: print it).")
@click.option("--openapi", "spec", metavar="SPEC", help="Name operations from this OpenAPI description.")
def export_command(flow: str, kind: str, output: str | None, spec: str | None) -> None:
    """Write a flow as an Arazzo 1.0 document, with a minimal OpenAPI description of its requests
    (unless --openapi names one); what Arazzo cannot express is listed."""
    from runner.share.export_command import export

    export(flow, output, spec)


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8900, show_default=True, help="The port to listen on.")
@click.option(
    "--quota",
    default="10000",
    show_default=True,
    metavar="N|off",
    help="Requests per store per 30 s before 429 (BigCommerce's plan limit); off for load tests.",
)
def sandbox_command(host: str, port: int, quota: str) -> None:
    """Serve the embedded BigCommerce sandbox until stopped (Ctrl-C)."""
    from runner.sandbox.catalog import ACCESS_TOKEN, STORE_HASH
    from runner.sandbox.serve import SandboxPortError, bind, serve_forever

    if quota != "off" and not (quota.isdigit() and int(quota) > 0):
        raise UsageError(f"--quota {quota}: give a number of requests above 0, or off")
    requests = 10**12 if quota == "off" else int(quota)
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
    serve_forever(listening, requests)


@cli.command()
@click.option("--report", "of_report", is_flag=True, help="The schema of the JSON report (--report) instead.")
@click.option("--cassette", "of_cassette", is_flag=True, help="The schema of a cassette (--record) instead.")
def schema(of_report: bool, of_cassette: bool) -> None:
    """Print the JSON Schema of the flow language (for editors), of the JSON report, or of a cassette."""
    if of_cassette:
        import json

        from runner.engine.cassette import cassette_schema

        click.echo(json.dumps(cassette_schema(), indent=2))
        return
    if of_report:
        from pathlib import Path

        click.echo((Path(__file__).parent / "report" / "report.schema.json").read_text("utf-8"), nl=False)
        return
    import json

    from runner.flowfile.schema_check import flow_schema

    click.echo(json.dumps(flow_schema(), indent=2))


def _found(paths: Sequence[str], exclude: Sequence[str]) -> FlowFiles:
    """The flow files under `paths`, found first, and for many files already being parsed by
    helper processes while the command imports the loader and the engine (parse_ahead.py)."""
    from runner.flowfile.parse_ahead import FlowFiles

    return FlowFiles(paths, exclude, ahead=True)


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


def command() -> None:
    """The `apiflow` executable and `python -m runner`: `main`, then a quicker exit."""
    try:
        main()
    finally:
        # Everything is freed with the process now. Out of the collector's reach, it spares the
        # interpreter's shutdown a last collection through every object loaded (the libraries,
        # flows, compiled templates): about 20 ms of a 0.2 s run. `main` stays free of this, as
        # tests and the pytest plugin call it in a process that goes on.
        import gc

        gc.freeze()
