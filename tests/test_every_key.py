"""One flow with every request, expect and capture key, run in-process and over a socket."""

from __future__ import annotations

from pathlib import Path

import httpx

from runner import RunOptions, load_flow, run_flows
from tests.server import create_app

FLOW = Path(__file__).parent / "flows" / "every-key.yaml"
ENV = {"API_KEY": "key-for-every-key-flow"}


def test_every_key_passes_in_process():
    transport = httpx.ASGITransport(app=create_app())
    result = run_flows(
        [load_flow(FLOW)], RunOptions(transport=transport, env={"BASE_URL": "http://api.test", **ENV}, seed=3)
    )
    failures = [
        (s.step.name, s.error, [(a.subject, a.op, a.expected, a.actual) for a in s.failed_assertions])
        for s in result.flows[0].steps
        if not s.passed
    ]
    assert failures == []
    create = result.flows[0].steps[0]
    assert len(create.assertions) == 24  # status 1, headers 4, json 15, schema 1, time 1, that 2
    assert create.captures == {"thing_id": 1, "all_tags": ["a", "b"], "request_id": "req-1", "cents": 300}


def test_every_key_passes_over_a_real_socket(cli):
    from tests.server import serve

    with serve(create_app()) as url:  # a fresh server: the flow expects the first thing's id
        result = cli("run", FLOW, env={"BASE_URL": url, **ENV})
    assert result.code == 0, result.output
    assert "4 steps: 4 passed" in result.out
