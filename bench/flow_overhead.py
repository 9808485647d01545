"""How much apiflow adds over a hand-written httpx client, and how fast it starts.

Starts bench_app on 127.0.0.1 (a uvicorn subprocess), then runs the 8-step, 5-capture flow in
bench/flow.yaml M times with apiflow (library entry point, one flow per run) and the same
requests M times with a hand-written httpx.AsyncClient, and prints the per-flow medians and
their ratio. Cold start: the wall time of `python -m runner run bench/flow.yaml` for one flow.

    .venv/bin/python bench/flow_overhead.py [--runs M] [--cold N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from runner import RunOptions, load_flow  # noqa: E402
from runner.redact import Redactor  # noqa: E402
from runner.run import run_flow  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench_app:app", "--port", str(port), "--log-level", "error"]
    proc = subprocess.Popen(cmd, cwd=HERE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=0.5)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the benchmark server did not start")


async def by_hand(client: httpx.AsyncClient, base: str) -> None:
    """The same eight requests and checks, written directly against httpx."""
    headers = {"Accept": "application/json", "X-Auth-Token": "bench-token"}
    r = await client.post(f"{base}/carts", json={"line_items": [{"product_id": 1, "quantity": 1}]}, headers=headers)
    assert r.status_code == 201 and isinstance(r.json()["data"]["id"], int)
    cart = r.json()["data"]["id"]
    r = await client.post(f"{base}/checkouts/{cart}/billing-address", json={"email": "a@b.c"}, headers=headers)
    assert r.status_code == 201
    r = await client.post(f"{base}/checkouts/{cart}/consignments", json=[{"line_items": []}], headers=headers)
    assert r.status_code == 201
    consignment = r.json()["data"]["items"][0]["id"]
    r = await client.put(
        f"{base}/checkouts/{cart}/consignments/{consignment}", json={"shipping_option_id": "x"}, headers=headers
    )
    assert r.status_code == 200
    r = await client.post(f"{base}/checkouts/{cart}/orders", headers=headers)
    assert r.status_code == 201
    order = r.json()["data"]["id"]
    r = await client.get(f"{base}/payments/methods", params={"order_id": order}, headers=headers)
    assert r.status_code == 200 and len(r.json()["data"]["items"]) == 1
    method = r.json()["data"]["items"][0]["sku"]
    r = await client.post(f"{base}/payments/access_tokens", json={"order": {"id": order}}, headers=headers)
    assert r.status_code == 201
    pat = r.json()["data"]["token"]
    r = await client.post(
        f"{base}/payments",
        json={"payment": {"payment_method_id": method}},
        headers={**headers, "Authorization": f"PAT {pat}"},
    )
    assert r.status_code == 201


async def time_by_hand(base: str, runs: int, *, tls: bool) -> list[float]:
    """One client per flow, as apiflow does. tls=True is httpx's default client, which loads
    the certificate bundle per client; tls=False sets up no TLS, as apiflow does for http://."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        async with httpx.AsyncClient(verify=tls) as client:
            await by_hand(client, base)
        times.append(time.perf_counter() - started)
    return times


async def time_apiflow(base: str, runs: int) -> list[float]:
    flow = load_flow(HERE / "flow.yaml")
    env = {"BENCH_URL": base, "BENCH_TOKEN": "bench-token"}
    options = RunOptions(env=env, seed=1)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await run_flow(flow, options, env, Redactor(), 1)
        times.append(time.perf_counter() - started)
        assert result.passed, result
    return times


def cold_starts(base: str, count: int) -> list[float]:
    env = {**os.environ, "BENCH_URL": base, "BENCH_TOKEN": "bench-token", "NO_COLOR": "1"}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "runner", "run", "-q", str(HERE / "flow.yaml")],
            env=env,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="flows per contender (default 300)")
    parser.add_argument("--cold", type=int, default=10, help="cold starts to time (default 10)")
    args = parser.parse_args()
    server, base = start_server()
    try:
        asyncio.run(time_by_hand(base, 20, tls=False))  # warm both paths and the server
        asyncio.run(time_apiflow(base, 20))
        hand = statistics.median(asyncio.run(time_by_hand(base, args.runs, tls=False)))
        naive = statistics.median(asyncio.run(time_by_hand(base, args.runs, tls=True)))
        ours = statistics.median(asyncio.run(time_apiflow(base, args.runs)))
        cold = cold_starts(base, args.cold)
        bare = min(cold_starts_python(args.cold))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"runs per contender   {args.runs}")
    print(f"httpx by hand        {hand * 1000:7.2f} ms per flow (median; no TLS set-up, like apiflow on http)")
    print(f"httpx default client {naive * 1000:7.2f} ms per flow (median; loads the CA bundle per client)")
    print(f"apiflow              {ours * 1000:7.2f} ms per flow (median)")
    print(f"ratio                {ours / hand:7.2f}x   apiflow / by hand (target <= 1.30x)")
    print(
        f"cold start, 1 flow   {min(cold):7.3f} s best, {statistics.median(cold):.3f} s median of {args.cold}   (target <= 0.18 s)"
    )
    print(f"bare python start    {bare:7.3f} s (for reference)")


def cold_starts_python(count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return times


if __name__ == "__main__":
    main()
