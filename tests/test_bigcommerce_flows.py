"""The flows in flows/bigcommerce run against the sandbox: in-process, over a socket, through
the CLI, and 200 checkouts at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runner import RunOptions, load_flow, load_flows, run_flows
from runner.engine.results import Outcome
from runner.sandbox import create_app
from runner.sandbox.serve import environment, serve_in_thread

FLOWS = Path(__file__).resolve().parents[1] / "flows" / "bigcommerce"
ORIGIN = "http://sandbox.test"


def run_in_process(paths, **env):
    transport = httpx.ASGITransport(app=create_app())
    return run_flows(
        load_flows([str(p) for p in paths]), RunOptions(transport=transport, env={**environment(ORIGIN), **env}, seed=5)
    )


def every_step(steps):
    for step in steps:
        yield step
        yield from every_step(step.children)


RUNNABLE = sorted(p for p in FLOWS.rglob("*.yaml") if p.parent.name != "lib")


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: str(p.relative_to(FLOWS)))
def test_each_flow_passes_against_the_sandbox(path):
    result = run_in_process([path])
    assert result.flows
    for flow in result.flows:
        steps = [*every_step(flow.steps), *flow.finally_steps]
        failed = [
            (s.step.name, s.error, [(a.subject, a.expected, a.actual) for a in s.failed_assertions])
            for s in steps
            if not s.passed
        ]
        assert failed == []


def test_the_checkout_flows_share_one_sub_flow():
    users = [p for p in RUNNABLE if load_flow(p).steps[0].use is not None]
    assert len(users) == 6
    assert {load_flow(p).steps[0].use.flow.source.path.rsplit("/", 2)[-2:][1] for p in users} == {"cart-to-order.yaml"}


def test_the_test_card_matrix_pays_and_declines_per_row():
    result = run_in_process([FLOWS / "test-cards.yaml"])
    rows = [
        (f.row["outcome"], next(s.response.status for s in f.steps if s.step.name == "Pay with the test card"))
        for f in result.flows
    ]
    assert rows == [("success", 201), ("success", 201), ("declined", 422)]


def test_the_happy_flows_check_the_order_before_and_after_payment():
    for name in ("checkout-new-card.yaml", "checkout-stored-card.yaml"):
        steps = every_step(run_in_process([FLOWS / name]).flows[0].steps)
        statuses = [s.response.json.get("status") for s in steps if s.request and "/v2/orders/" in s.request.url]
        assert statuses == ["Incomplete", "Awaiting Fulfillment"]


def test_a_flow_finds_its_product_in_the_catalogue_unless_one_is_named():
    find = run_in_process([FLOWS / "checkout-new-card.yaml"], BC_PRODUCT_ID="113").flows[0].steps[0].children[0]
    assert find.captures == {"product_id": 113, "variant_id": 80}
    assert "id=113" in find.request.url


def test_the_happy_flow_fails_when_the_card_is_declined():
    flow = run_in_process([FLOWS / "checkout-new-card.yaml"], BC_TEST_CARD="4000000000000002").flows[0]
    failed = flow.failed_step
    assert failed.step.name == "Pay with a new credit card"
    assert failed.response.status == 422
    assert flow.steps[-1].outcome is Outcome.NOT_RUN


def test_no_secret_of_the_checkout_reaches_the_console(cli, monkeypatch):
    result = cli("run", "--sandbox", "-v", FLOWS / "checkout-stored-card.yaml", FLOWS / "checkout-new-card.yaml")
    assert result.code == 0, result.output
    from runner.sandbox.catalog import ACCESS_TOKEN, STORED_CARD

    for secret in (ACCESS_TOKEN, STORED_CARD.token, "4111111111111111", '"123"'):
        assert secret not in result.output
    assert "Authorization: [REDACTED]" in result.output or "authorization: [REDACTED]" in result.output


def test_run_sandbox_says_so_at_the_top_and_keeps_user_values(cli):
    result = cli("run", "--sandbox", "-q", FLOWS / "errors" / "unknown-checkout.yaml", env={"BC_STORE_HASH": "mystore"})
    assert result.code == 0, result.output
    lines = result.out.splitlines()
    assert lines[0].startswith("Target: the embedded BigCommerce sandbox at http://127.0.0.1:")
    assert lines[1] == "  kept from your environment: BC_STORE_HASH"


def test_200_checkouts_at_once_leave_200_orders_awaiting_fulfillment():
    flow = load_flow(FLOWS / "checkout-new-card.yaml")
    with serve_in_thread() as url:
        result = run_flows([flow] * 200, RunOptions(env=environment(url), jobs=50, seed=9))
        assert [f.passed for f in result.flows].count(True) == 200
        order_ids = {s.captures["order_id"] for f in result.flows for s in f.steps if "order_id" in s.captures}
        assert len(order_ids) == 200
        headers = {"X-Auth-Token": environment(url)["BC_ACCESS_TOKEN"], "Accept": "application/json"}
        with httpx.Client(base_url=f"{url}/stores/sandbox") as client:
            statuses = {
                client.get(f"/v2/orders/{order_id}", headers=headers).json()["status_id"] for order_id in order_ids
            }
    assert statuses == {11}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_sandbox_command_serves_and_refuses_a_cart_without_a_token():
    port = free_port()
    env = {**os.environ, "NO_COLOR": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "runner", "sandbox", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}/stores/sandbox/v3"
        deadline = time.monotonic() + 30
        while True:  # readiness: poll until the socket answers
            try:
                response = httpx.post(f"{base}/carts", json={"line_items": [{"product_id": 111, "quantity": 1}]})
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.05)
        assert response.status_code == 401
        assert response.json()["status"] == 401
        assert response.json()["type"].startswith("https://developer.bigcommerce.com/")
        assert "X-Rate-Limit-Requests-Left" in response.headers
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert f"BigCommerce sandbox at http://127.0.0.1:{port}" in out
    assert "access token:  sandbox-access-token" in out
