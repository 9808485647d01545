"""`--jobs` over worker processes: one Python process sends about a thousand requests a second,
bound by its own CPU; a run of many flows spreads its runs over up to one process per core.

The parent has loaded and checked every flow before it forks the workers, so each starts with
the flows already in memory: nothing is loaded twice, nothing is sent to it. The workers share
one counter, the index of the next run to start: each runs with asyncio, exactly as one process
runs all of them, claiming the next run whenever one of its lanes is free, so a worker that gets
more of the CPU takes more runs and all end together. Each sends its results back as they end,
a batch every 50 ms (a failed run's at once).
A result refers to its flow's steps, templates and spans by identity: those travel as their
path from the run's flow ("steps", 3, "request"...; pickle's persistent ids) and come back as
the parent's own objects; only what the run produced is pickled. The worker finds the paths, so
the parent does no walk of its own before it forks: a passed run's result holds only its flow
and steps, whose paths are read off the flow's lists of steps; anything deeper (the span of a
failed check) is found by one walk of the flow's objects, on the first ask.
The parent shows results as they arrive, gives them back in run order, and takes in every
secret a worker learned before it shows the result that carried it.

Linux only (`fork`); elsewhere, and for few runs, one process runs everything as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import math
import multiprocessing
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Protocol, cast

from runner.engine.redact import Redactor
from runner.engine.results import FlowResult, not_run
from runner.engine.run import Run, RunOptions, run_claimed
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
    stop = context.Event()  # --fail-fast: set when any worker's run failed
    next_run = context.Value("q", 0)  # the index of the next run no worker has claimed yet
    results: list[FlowResult | None] = [None] * len(runs)
    readers: dict[Connection, BaseProcess] = {}
    crashes: list[str] = []
    try:
        for _ in range(count):
            reader, writer = context.Pipe(duplex=False)
            worker = context.Process(
                target=_work, args=(runs, next_run, count, options, env, seed, writer, stop), daemon=True
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
                if data.startswith(_CRASHED):
                    crashes.append(data[len(_CRASHED) :].decode(errors="replace"))
                    continue
                batch = io.BytesIO(data)
                while batch.tell() < len(data):  # each result: its run's index, then its pickle
                    index = int.from_bytes(batch.read(_INDEX_BYTES), "big")
                    result, learned = _Unpickler(batch, runs[index].flow).load()
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
    next_run: Any,
    count: int,
    options: RunOptions,
    env: dict[str, str],
    seed: int,
    writer: Connection,
    stop: Any,
) -> None:
    """A worker: run the runs it claims from `next_run` (shared with the `count` - 1 others),
    sending each result as it ends."""
    # Ctrl-C reaches the whole process group: the parent decides, and terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    redactor = Redactor(journal=True)
    paths = _Paths()
    outbox = _Outbox(writer)

    def claim() -> int | None:
        with next_run.get_lock():
            index: int = next_run.value
            next_run.value = index + 1
        return index if index < len(runs) else None

    def send(index: int, result: FlowResult) -> None:
        buffer = io.BytesIO()
        buffer.write(index.to_bytes(_INDEX_BYTES, "big"))
        _Pickler(buffer, paths.of(runs[index].flow)).dump((result, redactor.take_journal()))
        outbox.add(buffer.getvalue(), urgent=not result.passed)

    own = dataclasses.replace(options, jobs=max(1, math.ceil(options.jobs / count)), on_flow_done=None)
    try:
        asyncio.run(run_claimed(runs, own, env, redactor, seed, claim=claim, stopped=stop.is_set, done=send))
        outbox.flush()
    except BaseException as err:  # said to the parent as one line, never a traceback here
        with contextlib.suppress(OSError):
            outbox.flush()  # what finished before is the parent's to report
        writer.send_bytes(_CRASHED + f"{type(err).__name__}: {err}".encode(errors="replace"))
    finally:
        writer.close()


# A message is one or more results, each the run's index and then its pickled result and
# secrets (a pickle knows where it ends)...
_INDEX_BYTES = 8
_CRASHED = b"crashed:"  # ...or this, then why the worker stopped (an index starts with a 0 byte)
# How long a passed run's result may wait for others to travel with it.
_BATCH_SECONDS = 0.05


class _Outbox:
    """Results on their way to the parent, sent a batch at a time: one write, and one wake of the
    parent, for every few runs instead of each (on two cores, the parent woken a thousand times
    takes the core from a worker as often). A failed run's result goes at once, so that
    --fail-fast stops the others as soon as it can."""

    def __init__(self, writer: Connection) -> None:
        self._writer = writer
        self._waiting: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, result: bytes, *, urgent: bool) -> None:
        self._waiting.append(result)
        if urgent:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(_BATCH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._waiting:
            data = b"".join(self._waiting)
            self._waiting.clear()
            self._writer.send_bytes(data)


# A step in a path from a flow to one of its objects: an attribute, a list index, or a dict key.
PathPart = str | int | tuple[Any]


class _Paths:
    """In a worker: where the objects of the flow of the last result sent sit."""

    def __init__(self) -> None:
        self._last: _FlowPaths | None = None

    def of(self, flow: Flow) -> _FlowPaths:
        if self._last is None or self._last.flow is not flow:  # a matrix's runs follow each other
            self._last = _FlowPaths(flow)
        return self._last


class _FlowPaths:
    """Where the objects of one flow sit, as paths from it: its steps, and those of the flows
    they use, at once; anything else on the first ask, by a walk of all its objects (as long
    as loading the flow took), which a passed run's result never needs."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self._steps = _step_paths(flow, ())
        self._all: dict[int, tuple[PathPart, ...]] | None = None

    def get(self, key: int) -> tuple[PathPart, ...] | None:
        path = self._steps.get(key)
        if path is None:
            if self._all is None:
                self._all = _model_paths(self.flow)
            path = self._all.get(key)
        return path


def _step_paths(flow: Flow, path: tuple[PathPart, ...]) -> dict[int, tuple[PathPart, ...]]:
    """`flow` and every step in it and in the flows its steps use, by `id`, with their paths."""
    found = {id(flow): path}
    for name in ("steps", "finally_steps"):
        for i, step in enumerate(getattr(flow, name)):
            found[id(step)] = (*path, name, i)
            if step.use is not None:
                found.update(_step_paths(step.use.flow, (*path, name, i, "use", "flow")))
    return found


def _model_paths(flow: Flow) -> dict[int, tuple[PathPart, ...]]:
    """Every object of `flow` (steps, templates, spans, files, the flows it uses) by `id`, with
    the shortest path that reaches it; breadth first, so paths stay short."""
    found: dict[int, tuple[PathPart, ...]] = {}
    seen: set[int] = set()
    queue: deque[tuple[Any, tuple[PathPart, ...]]] = deque([(flow, ())])
    while queue:
        item, path = queue.popleft()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (list, tuple)):
            queue.extend((one, (*path, i)) for i, one in enumerate(item))
        elif isinstance(item, dict):
            queue.extend((one, (*path, (key,))) for key, one in item.items())
        elif type(item).__module__.startswith("runner.flowfile."):
            found[id(item)] = path
            names = [n for c in type(item).__mro__ for n in _slots(c)]
            names += list(vars(item)) if hasattr(item, "__dict__") else []
            queue.extend((getattr(item, n), (*path, n)) for n in names if hasattr(item, n))
    return found


def _follow(flow: Flow, path: tuple[PathPart, ...]) -> object:
    """In the parent: the object at `path` from its own copy of `flow`."""
    item: Any = flow
    for part in path:
        item = getattr(item, part) if isinstance(part, str) else item[part] if isinstance(part, int) else item[part[0]]
    return item


def _slots(cls: type) -> tuple[str, ...]:
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


class _PathsOfObjects(Protocol):
    def get(self, key: int, /) -> tuple[PathPart, ...] | None: ...


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, paths: _PathsOfObjects) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._paths = paths

    def persistent_id(self, obj: Any) -> tuple[PathPart, ...] | None:
        # Only the flow's own objects have a path; anything the run made is pickled whole.
        return self._paths.get(id(obj)) if type(obj).__module__.startswith("runner.flowfile.") else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, flow: Flow) -> None:
        super().__init__(file)
        self._flow = flow

    def persistent_load(self, pid: Any) -> object:
        return _follow(self._flow, pid)
