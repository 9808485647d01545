"""The blocking driver (for Locust's gevent users) runs the same steps as the asyncio one: the
examples beyond JSON and a BigCommerce checkout give the same outcomes and checks either way."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runner.engine.redact import Redactor
from runner.engine.run import RunOptions, expand, run_flow_blocking, run_flows
from runner.flowfile.loader import load_flows
from runner.sandbox.serve import environment, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent / "flows"


def outcomes(result) -> list[tuple[str, str, list[bool]]]:
    steps = [*result.steps, *result.finally_steps]
    return [(s.step.name, str(s.outcome), [a.passed for a in s.assertions]) for s in steps]


def both(paths: list[Path], env: dict[str, str]) -> tuple[list, list]:
    flows = load_flows([str(p) for p in paths])
    options = RunOptions(env=env, seed=5)
    asynchronous = run_flows(flows, options).flows
    transport = httpx.HTTPTransport()
    runs = expand(flows, 5)
    blocking = [
        run_flow_blocking(r.flow, options, env, Redactor(), 5, transport, row=r.row, data_seed=r.data_seed)
        for r in runs
    ]
    transport.close()
    return asynchronous, blocking


@pytest.mark.parametrize("area", ["auth", "upload", "html", "xml", "binary", "redirects"])
def test_the_examples_run_the_same_on_both_drivers(live_server, area):
    asynchronous, blocking = both([ROOT / "examples" / f"{area}.yaml"], {"EXAMPLES_URL": live_server})
    assert [f.passed for f in blocking] == [True]
    assert [outcomes(f) for f in blocking] == [outcomes(f) for f in asynchronous]


def test_a_bigcommerce_checkout_runs_the_same_on_both_drivers():
    with serve_in_thread() as url:
        env = environment(url)
        asynchronous, blocking = both([ROOT / "bigcommerce" / "checkout-new-card.yaml"], env)
    assert blocking[0].passed, blocking[0].failed_step
    assert outcomes(blocking[0]) == outcomes(asynchronous[0])
