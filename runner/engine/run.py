"""The executor: runs flows and returns their results. It prints nothing.

A flow with a `matrix` runs once per row, each run its own result. Runs (files and matrix rows
alike) are scheduled together: up to `jobs` at once, each with its own HTTP client and scope.
Inside a run the steps go in order (see `step_runner.py`); the first that fails ends the run's
steps, and the `finally` steps run after them, pass or fail. `fail_fast` starts no new run
after one has failed and lets those already running finish.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from runner import __version__
from runner.engine.cookies import lean_cookies
from runner.engine.redact import Redactor
from runner.engine.results import FlowResult, StepResult, not_run
from runner.engine.scope import RunScope, VarError
from runner.engine.step_runner import StepRunner, drive
from runner.engine.transport import Pools, client_options, proxied
from runner.flowfile.model import Flow

if TYPE_CHECKING:
    from runner.contracts.contracts import Contracts
    from runner.engine.cassette import Cassette, Recorder


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
    # Keep every step's full request and response (for -v and the reports). Without it, a step
    # that passed keeps only its status and timing, so memory stays flat over thousands of flows;
    # a step that did not pass always keeps everything.
    keep_exchanges: bool = True
    # The run's OpenAPI descriptions (runner.contracts.load_contracts); None: no response is checked.
    contracts: Contracts | None = None
    # --record: every attempt of every run goes to this cassette recorder (needs keep_exchanges).
    recorder: Recorder | None = None
    # --replay: each flow run is answered from this cassette; nothing leaves the machine.
    replay: Cassette | None = None


@dataclass(slots=True)
class RunResult:
    """Every run's result, in run order, with the redactor that knows the run's secrets."""

    flows: list[FlowResult]
    redactor: Redactor
    seed: int

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.flows)


@dataclass(frozen=True, slots=True, eq=False)
class Run:
    """One run of a flow: the flow, and the matrix row it uses (None without a matrix)."""

    flow: Flow
    row: dict[str, Any] | None
    data_seed: str  # what this run's generated data is drawn from


def expand(flows: Sequence[Flow], seed: int = 0) -> list[Run]:
    """One run per flow and matrix row, each with its own stream of generated data.

    The stream depends on the seed, the file, the row and how many identical runs came before,
    not on which other flows were selected: a failed run replays alone with the same data.
    """
    runs = []
    seen: dict[str, int] = {}
    for flow in flows:
        for row in flow.matrix or (None,):
            key = f"{seed}:{flow.path}:{json.dumps(row, sort_keys=True, default=str)}"
            seen[key] = seen.get(key, 0) + 1
            runs.append(Run(flow, row, f"{key}:{seen[key]}"))
    return runs


def row_used(row: dict[str, Any] | None, overrides: Mapping[str, Any]) -> dict[str, Any] | None:
    """A matrix row as a run uses it: a --var of the same name wins over the row's value."""
    return None if row is None else {name: overrides.get(name, value) for name, value in row.items()}


def run_flows(
    flows: Sequence[Flow], options: RunOptions | None = None, *, redactor: Redactor | None = None
) -> RunResult:
    """Run `flows` (each matrix row once) and return every result; the synchronous entry point.

    Pass a `redactor` to share it with a reporter that shows flows while the run goes on. With
    `jobs` above one and enough runs, the runs are spread over worker processes (workers.py).
    """
    options = options or RunOptions()
    seed, redactor, env = _start(options, redactor)
    runs = expand(flows, seed)
    # An in-process app (tests) cannot be shared with other processes; and only a run that may
    # use workers pays for importing them.
    # Recording and replaying follow each run's exchanges in this process.
    if options.jobs > 1 and options.transport is None and options.recorder is None and options.replay is None:
        from runner.engine import workers

        count = workers.worker_count(options.jobs, len(runs))
        if count > 1:
            results = workers.run_in_workers(runs, options, env, redactor, seed, count)
            return RunResult(results, redactor, seed)
    results = asyncio.run(run_all(runs, options, env, redactor, seed))
    return RunResult(results, redactor, seed)


async def arun_flows(flows: Sequence[Flow], options: RunOptions, *, redactor: Redactor | None = None) -> RunResult:
    """`run_flows` for a caller already inside an event loop; always in this process."""
    seed, redactor, env = _start(options, redactor)
    results = await run_all(expand(flows, seed), options, env, redactor, seed)
    return RunResult(results, redactor, seed)


def _start(options: RunOptions, redactor: Redactor | None) -> tuple[int, Redactor, dict[str, str]]:
    """A run's seed (random unless given), its redactor and its environment."""
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    env = dict(os.environ if options.env is None else options.env)
    return seed, redactor or Redactor(), env


async def run_all(
    runs: Sequence[Run],
    options: RunOptions,
    env: Mapping[str, str],
    redactor: Redactor,
    seed: int,
) -> list[FlowResult]:
    """Every run of `runs`, in order, up to `options.jobs` at once."""
    following = iter(range(len(runs)))
    results = await run_claimed(runs, options, env, redactor, seed, claim=lambda: next(following, None))
    return [result for result in results if result is not None]  # every run was claimed


async def run_claimed(
    runs: Sequence[Run],
    options: RunOptions,
    env: Mapping[str, str],
    redactor: Redactor,
    seed: int,
    *,
    claim: Callable[[], int | None],
    stopped: Callable[[], bool] = lambda: False,
    done: Callable[[int, FlowResult], None] | None = None,
) -> list[FlowResult | None]:
    """The runs `claim()` gives the index of, one after another (None: no run is left), up to
    `options.jobs` at once; `done(index, result)` as each ends. Each of `jobs` lanes claims the
    next run as soon as its last one ended: a worker process's `claim` is shared with the other
    workers, so one that is ahead takes more, and all end together. A run not claimed here has
    no result in the list. With `fail_fast`, no run starts after one failed here or `stopped()`
    says so (another worker's).
    """
    stop = asyncio.Event()
    pools = Pools(max_idle=max(8, options.jobs))
    results: list[FlowResult | None] = [None] * len(runs)

    async def lane() -> None:
        while (index := claim()) is not None:
            run = runs[index]
            if stop.is_set() or stopped():
                result = _not_started(run, seed)
            else:
                result = await run_flow(
                    run.flow, options, env, redactor, seed, row=run.row, data_seed=run.data_seed, pools=pools
                )
            if not result.passed and options.fail_fast:
                stop.set()
            results[index] = result
            if done is not None:
                done(index, result)
            if options.on_flow_done:
                options.on_flow_done(result)

    try:
        await asyncio.gather(*(lane() for _ in range(max(1, min(options.jobs, len(runs))))))
        return results
    finally:
        await pools.aclose()


def interrupted_result(run: Run, seed: int, signal_name: str) -> FlowResult:
    """The result of a run that a signal stopped before it finished: none of its steps count."""
    return _not_started(run, seed, f"interrupted by {signal_name} before it finished")


def _not_started(run: Run, seed: int, why: str = "not started: --fail-fast stopped the run") -> FlowResult:
    return FlowResult(run.flow, not_run(run.flow.steps), 0.0, seed, error=why, row=run.row, started=False)


async def run_flow(
    flow: Flow,
    options: RunOptions,
    env: Mapping[str, str],
    redactor: Redactor,
    seed: int,
    *,
    row: dict[str, Any] | None = None,
    data_seed: str | None = None,
    pools: Pools | None = None,
) -> FlowResult:
    """One run of `flow`: its vars (the row's and --var values win), steps, then `finally`."""
    started = time.perf_counter()
    scope, row, failed = _start_flow(flow, options, env, redactor, seed, row, data_seed, started)
    if failed is not None:
        return failed
    own_pools = pools is None  # a flow run alone has connections of its own
    pools = pools or Pools()
    recorder = options.recorder
    # A run's name in a cassette: only a recording or a replay needs it.
    run_key = _run_key(flow, data_seed) if recorder is not None or options.replay is not None else ""
    try:
        client, direct = _client(flow, options, pools, run_key)
        async with client:
            runner = StepRunner(
                flow,
                client,
                scope,
                keep=options.keep_exchanges,
                contracts=options.contracts,
                on_attempt=(lambda result: recorder.add(run_key, result)) if recorder is not None else None,
            )
            steps, cleanup = await drive(runner.run_flow_steps(), client, direct)
    finally:
        if own_pools:
            await pools.aclose()
    return _finished(flow, steps, cleanup, scope, seed, row, started)


def run_flow_blocking(
    flow: Flow,
    options: RunOptions,
    env: Mapping[str, str],
    redactor: Redactor,
    seed: int,
    transport: httpx.BaseTransport,
    *,
    row: dict[str, Any] | None = None,
    data_seed: str | None = None,
    on_attempt: Callable[[StepResult], None] | None = None,
) -> FlowResult:
    """`run_flow` on a blocking `httpx.Client` over `transport` (kept open for the next run):
    for Locust's gevent users, which cannot run an asyncio loop. The same steps, checks, captures."""
    from runner.engine.step_runner import drive_sync

    started = time.perf_counter()
    scope, row, failed = _start_flow(flow, options, env, redactor, seed, row, data_seed, started)
    if failed is not None:
        return failed
    client = httpx.Client(
        headers=DEFAULT_HEADERS,
        follow_redirects=flow.http.follow_redirects,
        timeout=flow.http.timeout,
        transport=_Kept(transport),
    )
    lean_cookies(client)
    with client:
        runner = StepRunner(
            flow, client, scope, keep=options.keep_exchanges, contracts=options.contracts, on_attempt=on_attempt
        )
        steps, cleanup = drive_sync(runner.run_flow_steps(), client)
    return _finished(flow, steps, cleanup, scope, seed, row, started)


class _Kept(httpx.BaseTransport):
    """A transport lent to one client: closing the client leaves it open for the next run."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)


def _start_flow(
    flow: Flow,
    options: RunOptions,
    env: Mapping[str, str],
    redactor: Redactor,
    seed: int,
    row: dict[str, Any] | None,
    data_seed: str | None,
    started: float,
) -> tuple[RunScope, dict[str, Any] | None, FlowResult | None]:
    """A run's scope with its vars set, the row as the run uses it, or the result of a run that
    could not start (a var that does not render)."""
    scope = RunScope(env, redactor, data_seed or str(seed), frozen=options.seed is not None)
    row = row_used(row, options.vars)  # the run's title shows the values it used
    try:
        scope.set_vars(flow, {**(row or {}), **options.vars})
    except VarError as err:
        failed = FlowResult(
            flow, not_run(flow.steps), _ms(started), seed, error=str(err), error_span=err.var.span, row=row
        )
        return scope, row, failed
    return scope, row, None


def _finished(
    flow: Flow,
    steps: list[StepResult],
    cleanup: list[StepResult],
    scope: RunScope,
    seed: int,
    row: dict[str, Any] | None,
    started: float,
) -> FlowResult:
    return FlowResult(
        flow, tuple(steps), _ms(started), seed, finally_steps=tuple(cleanup), row=row, variables=dict(scope.vars)
    )


# Only the encodings apiflow inflates itself, a MiB at a time up to the size limit: httpx would
# offer br (and zstd) whenever their packages happen to be installed, and decode each chunk whole.
DEFAULT_HEADERS = {"User-Agent": f"apiflow/{__version__}", "Accept-Encoding": "gzip, deflate"}


def _run_key(flow: Flow, data_seed: str | None) -> str:
    """A run's name in a cassette: its file, and a digest of its seed, row and occurrence (the row
    itself may hold a card number; the digest does not)."""
    return f"{flow.path}#{hashlib.sha256((data_seed or '').encode()).hexdigest()[:16]}"


def run_keys(flows: Sequence[Flow], seed: int) -> list[str]:
    """The cassette names of every run of `flows`, in run order."""
    return [_run_key(run.flow, run.data_seed) for run in expand(flows, seed)]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _client(
    flow: Flow, options: RunOptions, pools: Pools, run_key: str = ""
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport | None]:
    """One client per flow run: its cookies are the flow's session; connections are the run's.
    With it, the transport it sends on, for the exchanges that need none of its layers (see
    `http_exchange.send`); None behind a proxy, where httpx picks the transport per request."""
    tls: dict[str, Any]
    if options.replay is not None:
        tls = {"transport": options.replay.transport(run_key)}
    elif options.transport:
        tls = {"transport": options.transport}
    else:
        tls = client_options(pools, verify=flow.http.verify)
    client = httpx.AsyncClient(
        headers=DEFAULT_HEADERS,
        follow_redirects=flow.http.follow_redirects,
        timeout=flow.http.timeout,
        **tls,
    )
    lean_cookies(client)
    transport = tls.get("transport")
    return client, transport if isinstance(transport, httpx.AsyncBaseTransport) and not proxied() else None
