"""`--jobs` over worker processes (issue 10 §5): the same results, order, redaction and
--fail-fast as one process, and an interrupt still reports what finished."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.engine import workers
from tests.rude_server import rude_server

FLOWS = Path(__file__).resolve().parent.parent / "flows" / "bigcommerce"


@pytest.fixture(scope="module")
def rude() -> Iterator[str]:
    with rude_server() as url:
        yield url


@pytest.fixture
def spread(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers even for a handful of runs; records how many each run used."""
    counts: list[int] = []
    real = workers.run_in_workers

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        counts.append(args[-1])
        return real(*args, **kwargs)

    monkeypatch.setattr(workers, "MIN_RUNS_PER_WORKER", 1)
    monkeypatch.setattr(workers, "run_in_workers", recorded)
    return counts


def matrix_flow(rows: int, failing_row: int | None = None) -> str:
    lines = ["name: Rows", "matrix:"]
    lines += [f"  - {{row: {i}, fails: {str(i == failing_row).lower()}}}" for i in range(rows)]
    lines += [
        "steps:",
        "  - name: Call",
        "    request: {url: '{{ env.RUDE }}/ok', params: {row: '{{ row }}'}}",
        "    expect: {status: 200, that: ['{{ not fails }}']}",
    ]
    return "\n".join(lines) + "\n"


def flows_of(report: Path) -> list[tuple[str, bool, bool]]:
    return [(f["name"], f["passed"], f["started"]) for f in json.loads(report.read_text())["flows"]]


def test_workers_give_the_results_of_one_process_in_run_order(cli, write, rude, tmp_path, spread):
    path = write(matrix_flow(12))
    one, many = tmp_path / "one.json", tmp_path / "many.json"
    assert cli("run", "--seed", "1", "--report", one, path, env={"RUDE": rude}).code == 0
    assert spread == []  # --jobs 1: this process
    result = cli("run", "--seed", "1", "--jobs", "4", "--report", many, path, env={"RUDE": rude})
    assert result.code == 0, result.output
    assert spread == [2]  # the cores of this machine, at most 4
    assert flows_of(many) == flows_of(one)
    assert [name for name, _, _ in flows_of(many)] == [f"Rows [row={i}, fails=False]" for i in range(12)]
    assert "12 flows: 12 passed" in result.out


def test_secrets_learned_in_a_worker_are_hidden_by_the_parent(cli, spread):
    paths = [FLOWS / "checkout-stored-card.yaml", FLOWS / "checkout-new-card.yaml", FLOWS / "test-cards.yaml"]
    alone = cli("run", "--sandbox", "-v", "--seed", "7", *paths)
    spread_out = cli("run", "--sandbox", "-v", "--seed", "7", "--jobs", "4", *paths)
    assert alone.code == spread_out.code == 0, spread_out.output
    assert spread == [2]
    from runner.sandbox.catalog import ACCESS_TOKEN, STORED_CARD

    for secret in (ACCESS_TOKEN, STORED_CARD.token, "4111111111111111"):
        assert secret not in spread_out.output
    # What workers learned at run time (PAT ids, cart tokens) is masked as often as in one process.
    assert spread_out.output.count("[REDACTED]") == alone.output.count("[REDACTED]") > 10


def test_fail_fast_stops_every_worker(cli, write, rude, tmp_path, spread):
    report = tmp_path / "r.json"
    result = cli("run", "--fail-fast", "--jobs", "2", "--report", report, write(matrix_flow(60, 0)), env={"RUDE": rude})
    assert result.code == 1
    flows = flows_of(report)
    assert flows[0] == ("Rows [row=0, fails=True]", False, True)
    assert any(not started for _, _, started in flows)  # the rest were not started
    assert len(flows) == 60


def test_an_interrupt_reports_the_flows_the_workers_finished(tmp_path, rude):
    (tmp_path / "a-rows.yaml").write_text(matrix_flow(59))
    slow = "name: Slow\nsteps:\n  - {name: Wait, request: {url: '{{ env.RUDE }}/trickle', timeout: 90}}\n"
    (tmp_path / "b-slow.yaml").write_text(slow)
    report = tmp_path / "r.json"
    env = {**os.environ, "RUDE": rude, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "--jobs", "2", "--report", str(report), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    finished = 0
    for line in process.stdout:  # every row shown: only the slow flow is left running
        finished += line.startswith("✓ Rows")
        if finished == 59:
            break
    process.send_signal(signal.SIGTERM)
    rest, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert "interrupted by SIGTERM: 59 of 60 flows had finished" in err
    assert "Traceback" not in err + rest
    flows = flows_of(report)
    assert flows[-1] == ("Slow", False, False)
    assert all(passed for _, passed, _ in flows[:-1])


def test_few_runs_or_one_job_stay_in_this_process():
    assert workers.worker_count(1, 10_000) == 1
    assert workers.worker_count(32, workers.MIN_RUNS_PER_WORKER) == 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    expected = min(cores, 32) if sys.platform == "linux" else 1
    assert workers.worker_count(32, 100_000) == expected


def test_the_summary_counts_match_the_report(cli, write, rude, tmp_path, spread):
    report = tmp_path / "r.json"
    result = cli("run", "--jobs", "2", "--report", report, write(matrix_flow(10, 3)), env={"RUDE": rude})
    assert result.code == 1
    assert re.search(r"10 flows: 9 passed, 1 failed", result.out)
    assert sum(not passed for _, passed, _ in flows_of(report)) == 1


def test_a_result_comes_back_holding_the_parents_own_model_objects():
    """A worker sends its flow's objects as paths; the parent gets its own objects back, down to
    the steps of a flow that a step `use`s, and the spans of their checks."""
    import io

    from runner.engine.results import AssertionResult, FlowResult, Outcome, StepResult
    from runner.flowfile.loader import load_flows
    from runner.flowfile.source import Span

    flow = next(f for f in load_flows([str(FLOWS)]) if any(s.use for s in f.steps))
    using = next(s for s in flow.steps if s.use is not None)
    assert using.use is not None
    inner = using.use.flow.steps[-1]
    paths = workers._model_paths(flow)
    for path in paths.values():  # every path leads back to the object it was found for
        assert id(workers._follow(flow, path)) in paths
    made_here = Span(inner.span.source, 999, 1)  # made by the run: not the flow's, sent whole
    check = AssertionResult("status", "==", 200, 200, True, inner.span)
    other = AssertionResult("status", "==", 200, 200, True, made_here)
    child = StepResult(inner, Outcome.PASSED, assertions=(check, other))
    sent = FlowResult(flow, (StepResult(using, Outcome.PASSED, children=(child,)),), 1.0, 7)
    for found in (paths, workers._FlowPaths(flow)):  # every path, or the steps' first
        buffer = io.BytesIO()
        workers._Pickler(buffer, found).dump(sent)
        back = workers._Unpickler(io.BytesIO(buffer.getvalue()), flow).load()
        assert back is not sent and back.flow is flow
        assert back.steps[0].step is using
        came = back.steps[0].children[0]
        assert came.step is inner and came.assertions[0].span is inner.span
        assert came.assertions[1].span is not made_here and came.assertions[1].span == made_here
        assert len(buffer.getvalue()) < 2_000  # the flow itself did not travel


def test_a_passed_result_is_sent_without_a_walk_of_its_flow():
    """A passed run's result holds its flow and steps, down to a used flow's: their paths are
    read off the lists of steps. Only an object deeper in the flow makes the worker walk it."""
    import io

    from runner.engine.results import FlowResult, Outcome, StepResult
    from runner.flowfile.loader import load_flows

    flow = next(f for f in load_flows([str(FLOWS)]) if any(s.use for s in f.steps))
    using = next(s for s in flow.steps if s.use is not None)
    assert using.use is not None
    inner = using.use.flow.steps[-1]
    children = (StepResult(inner, Outcome.PASSED),)
    steps = tuple(StepResult(s, Outcome.PASSED, children=children if s is using else ()) for s in flow.steps)
    sent = FlowResult(flow, steps, 1.0, 7)
    paths = workers._FlowPaths(flow)
    buffer = io.BytesIO()
    workers._Pickler(buffer, paths).dump(sent)
    assert paths._all is None  # no walk
    back = workers._Unpickler(io.BytesIO(buffer.getvalue()), flow).load()
    assert all(a is b for a, b in zip((r.step for r in back.steps), flow.steps, strict=True))
    assert next(r for r in back.steps if r.step is using).children[0].step is inner
    assert paths.get(id(inner.span)) == workers._model_paths(flow)[id(inner.span)]  # deeper: walked
    assert paths._all is not None


def test_a_worker_held_up_by_a_slow_run_leaves_the_other_runs_to_the_others(cli, write, rude, spread):
    write("name: Slow\nsteps:\n  - {name: Wait, sleep: 1, request: {url: '{{ env.RUDE }}/ok'}}\n", "a-slow.yaml")
    folder = write(matrix_flow(12), "b-rows.yaml").parent
    result = cli("run", "--jobs", "2", folder, env={"RUDE": rude})
    assert result.code == 0, result.output
    assert spread == [2]  # two workers, one run at a time each
    shown = [line for line in result.out.splitlines() if "Slow" in line or "Rows [" in line]
    # Run 0 holds its worker for a second; the other worker claims every row meanwhile.
    # (Dealt out in turn, runs 2, 4, 6... would have waited behind it.)
    assert len(shown) == 13 and "Slow" in shown[-1], result.out


@pytest.mark.parametrize("kind", ["AssertionResult", "SentRequest", "ReceivedResponse", "StepResult", "FlowResult"])
def test_every_field_of_a_result_survives_the_trip_from_a_worker(kind):
    import dataclasses
    import pickle

    from runner.engine import results

    cls = getattr(results, kind)
    names = [f.name for f in dataclasses.fields(cls)]
    made = cls(**{name: f"the {name}" for name in names})  # a value of its own in every field
    back = pickle.loads(pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(back) is cls
    assert {name: getattr(back, name) for name in names} == {name: f"the {name}" for name in names}


def test_passed_results_travel_together_and_a_failed_one_at_once():
    """Speed (issue 10): a worker sends results in batches, one write and one wake of the parent
    for several runs; a failure is not held back, so --fail-fast stops the others at once."""
    import asyncio

    class Writer:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def send_bytes(self, data: bytes) -> None:
            self.sent.append(data)

    async def scenario(writer: Writer) -> list[list[bytes]]:
        outbox = workers._Outbox(writer)  # type: ignore[arg-type]
        seen = []
        outbox.add(b"a", urgent=False)
        outbox.add(b"b", urgent=False)
        seen.append(list(writer.sent))  # held
        outbox.add(b"c", urgent=True)
        seen.append(list(writer.sent))  # sent at once, with what was held
        outbox.add(b"d", urgent=False)
        await asyncio.sleep(workers._BATCH_SECONDS * 3)
        seen.append(list(writer.sent))  # sent when its wait ran out
        outbox.flush()
        seen.append(list(writer.sent))  # nothing left to send
        return seen

    assert asyncio.run(scenario(Writer())) == [[], [b"abc"], [b"abc", b"d"], [b"abc", b"d"]]


def test_a_batch_of_results_comes_back_whole_and_in_order(cli, write, rude, tmp_path, spread, monkeypatch):
    from multiprocessing.connection import Connection

    monkeypatch.setattr(workers, "_BATCH_SECONDS", 60)  # passed results wait for the end of the run
    messages: list[int] = []
    real = Connection.recv_bytes

    def counted(self: Connection, *args: object) -> bytes:
        data = real(self, *args)  # type: ignore[arg-type]
        messages.append(len(data))
        return data

    monkeypatch.setattr(Connection, "recv_bytes", counted)
    report = tmp_path / "r.json"
    result = cli("run", "--jobs", "4", "--report", report, write(matrix_flow(20, 7)), env={"RUDE": rude})
    assert result.code == 1 and spread == [2]
    assert [passed for _, passed, _ in flows_of(report)] == [i != 7 for i in range(20)]
    assert 2 <= len(messages) <= 3  # each worker's last batch, and the failed run's at once
