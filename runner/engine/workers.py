"""`--jobs` over worker processes: one Python process sends about a thousand requests a second,
bound by its own CPU; a run of many flows spreads its runs over up to one process per core.

The parent has loaded and checked every flow before it forks the workers, so each starts with
the flows already in memory: nothing is loaded twice, nothing is sent to it. Worker k runs runs
k, k + n, k + 2n... with asyncio, exactly as one process runs all of them, and sends each result
back as it ends. A result refers to the flows' steps, templates and files by identity: the
worker's copies sit at the parent's addresses, so those travel as their `id` ("persistent ids")
and come back as the parent's own objects; only what the run produced is pickled. The parent
shows results as they arrive, gives them back in run order, and takes in every secret a worker
learned before it shows the result that carried it.

Linux only (`fork`); elsewhere, and for few runs, one process runs everything as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import math
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Iterable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, cast

from runner.engine.redact import Redactor
from runner.engine.results import FlowResult, not_run
from runner.engine.run import Run, RunOptions, run_all
from runner.flowfile.model import Flow

# Below this many runs per worker, starting a process costs more than it saves.
MIN_RUNS_PER_WORKER = 25


def worker_count(jobs: int, runs: int) -> int:
    """How many processes to spread `runs` over at `--jobs jobs`: 1 means this one."""
    if jobs <= 1 or sys.platform != "linux":
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), jobs, runs // MIN_RUNS_PER_WORKER))


def run_in_workers(
    runs: Sequence[Run], options: RunOptions, env: dict[str, str], redactor: Redactor, seed: int, count: int
) -> list[FlowResult]:
    """Every run's result, in run order, from `count` forked workers."""
    context = multiprocessing.get_context("fork")
    shared = _model_objects(run.flow for run in runs)
    stop = context.Event()  # --fail-fast: set when any worker's run failed
    results: list[FlowResult | None] = [None] * len(runs)
    readers: dict[Connection, BaseProcess] = {}
    crashes: list[str] = []
    try:
        for k in range(count):
            reader, writer = context.Pipe(duplex=False)
            worker = context.Process(
                target=_work, args=(runs, k, count, options, env, seed, shared, writer, stop), daemon=True
            )
            worker.start()
            writer.close()  # the worker holds the only writing end: its exit ends the reader
            readers[reader] = worker
        while readers:
            for ready in wait(list(readers)):
                reader = cast(Connection, ready)  # wait() gives back the connections it was given
                try:
                    data = reader.recv_bytes()
                except EOFError:
                    readers.pop(reader).join()
                    continue
                message = _Unpickler(io.BytesIO(data), shared).load()
                if isinstance(message, str):
                    crashes.append(message)
                    continue
                index, result, learned = message
                redactor.merge(learned)
                results[index] = result
                if not result.passed and options.fail_fast:
                    stop.set()
                if options.on_flow_done:
                    options.on_flow_done(result)
    finally:
        for left in readers.values():  # interrupted: the parent reports what finished
            left.terminate()
            left.join()
    why = f"not run: the worker process running it failed ({crashes[0] if crashes else 'it exited'})"
    return [result or _lost(run, seed, why) for run, result in zip(runs, results, strict=True)]


def _lost(run: Run, seed: int, why: str) -> FlowResult:
    return FlowResult(run.flow, not_run(run.flow.steps), 0.0, seed, error=why, row=run.row, started=False)


def _work(
    runs: Sequence[Run],
    k: int,
    count: int,
    options: RunOptions,
    env: dict[str, str],
    seed: int,
    shared: dict[int, object],
    writer: Connection,
    stop: Any,
) -> None:
    """A worker: run every `count`-th run from the `k`-th, sending each result as it ends."""
    # Ctrl-C reaches the whole process group: the parent decides, and terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    redactor = Redactor(journal=True)

    def send(index: int, result: FlowResult) -> None:
        buffer = io.BytesIO()
        _Pickler(buffer, shared).dump((k + index * count, result, redactor.take_journal()))
        writer.send_bytes(buffer.getvalue())

    own = dataclasses.replace(options, jobs=max(1, math.ceil(options.jobs / count)), on_flow_done=None)
    try:
        asyncio.run(run_all(runs[k::count], own, env, redactor, seed, stopped=stop.is_set, done=send))
    except BaseException as err:  # said to the parent as one line, never a traceback here
        writer.send_bytes(pickle.dumps(f"{type(err).__name__}: {err}"))
    finally:
        writer.close()


def _model_objects(flows: Iterable[Flow]) -> dict[int, object]:
    """Every object of the loaded flows (steps, templates, spans, files), by `id`."""
    found: dict[int, object] = {}
    seen: set[int] = set()
    stack: list[Any] = list(flows)
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif type(item).__module__.startswith("runner.flowfile."):
            found[id(item)] = item
            stack.extend(vars(item).values() if hasattr(item, "__dict__") else ())
            stack.extend(getattr(item, s) for c in type(item).__mro__ for s in _slots(c) if hasattr(item, s))
    return found


def _slots(cls: type) -> tuple[str, ...]:
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


_ABSENT = object()


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, shared: dict[int, object]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._shared = shared

    def persistent_id(self, obj: Any) -> int | None:
        return id(obj) if self._shared.get(id(obj), _ABSENT) is obj else None  # (None is not shared)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: dict[int, object]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> object:
        return self._shared[pid]
