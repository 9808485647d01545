"""`apiflow load` (issue 14): the flows on Locust, headless, as master and workers. Each load runs
in a process of its own, as users run it: gevent patches the whole interpreter."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

FLOWS = Path(__file__).resolve().parent.parent / "flows" / "bigcommerce"
CHECKOUT = "Headless checkout paid by a new credit card"


def load(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "runner", "load", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stats(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as rows:
        return {row["Name"]: row for row in csv.DictReader(rows)}


def test_a_checkout_under_load_on_the_sandbox(tmp_path):
    result = load(
        "--sandbox", "--users", "3", "--spawn-rate", "3", "--run-time", "3s",
        "--threshold", "error_rate<1%", "--threshold", f"{CHECKOUT} / Pay with a new credit card: p95<2s",
        "--threshold", "rps>1",
        "--html", tmp_path / "load.html", "--csv", tmp_path / "load",
        FLOWS / "checkout-new-card.yaml", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ error_rate<1%: met" in result.stdout and "✓ rps>1: met" in result.stdout
    rows = stats(tmp_path / "load")
    pay = rows[f"{CHECKOUT} / Pay with a new credit card"]
    assert pay["Type"] == "POST" and int(pay["Requests"]) > 0 and pay["Failures"] == "0"
    assert f"{CHECKOUT} / Create a cart with redirect URLs" in rows  # the steps of its `use`, by name
    assert int(rows["Aggregated"]["Failures"]) == 0
    assert "<html" in (tmp_path / "load.html").read_text()[:2000].lower()
    assert "Traceback" not in result.stderr


def test_a_threshold_not_met_exits_1(tmp_path):
    result = load("--sandbox", "--users", "1", "--run-time", "1s", "--threshold", "avg<0.001ms",
                  FLOWS / "checkout-new-card.yaml", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert "✗ avg<0.001ms: NOT met (avg = " in result.stdout


def test_a_failing_target_shows_apiflows_messages(tmp_path, live_server):
    flow = tmp_path / "missing.yaml"
    flow.write_text(
        "name: Missing\nsteps:\n  - name: A thing that is not there\n"
        "    request: {url: '{{ env.BASE }}/things/987654'}\n    expect: {status: 200}\n"
    )
    result = load("--users", "1", "--run-time", "1s", "--csv", tmp_path / "out", flow, cwd=tmp_path,
                  env={"BASE": live_server})  # fmt: skip
    assert result.returncode == 1
    assert "status: expected 200, got 404" in result.stdout + result.stderr
    failures = (tmp_path / "out_failures.csv").read_text()
    assert "Missing / A thing that is not there" in failures and "expected 200, got 404" in failures


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "p95<fast"], "--threshold 'p95<fast': expected METRIC<VALUE"),
        (["--threshold", "p95<800"], "a time needs a unit"),
        (["--threshold", "error_rate<1"], "error_rate is a percentage"),
        (["--threshold", "rps>5ms"], "rps is a number of requests per second"),
        (["--worker"], "--worker needs --master-host"),
        (["--run-time", "soon"], "--run-time 'soon': expected a duration"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    result = load(*args, FLOWS / "checkout-new-card.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_master_with_two_workers_counts_what_they_did(tmp_path, live_server):
    flow = tmp_path / "count.yaml"
    flow.write_text(
        "name: Count\nsteps:\n  - name: Count one\n"
        "    request: {url: '{{ env.BASE }}/count/distributed'}\n    expect: {status: 200}\n"
    )
    before = _count(live_server)
    port = _free_port()
    import os

    env = {**os.environ, "BASE": live_server, "NO_COLOR": "1"}
    master = subprocess.Popen(
        [sys.executable, "-m", "runner", "load", "--master", "--expect-workers", "2", "--master-bind-port", str(port),
         "--users", "4", "--spawn-rate", "4", "--run-time", "3s", "--csv", str(tmp_path / "m"), str(flow)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner",
                "load",
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
                str(flow),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    out, err = master.communicate(timeout=90)
    for worker in workers:
        worker.wait(timeout=30)
    assert master.returncode == 0, out + err
    total = int(stats(tmp_path / "m")["Aggregated"]["Requests"])
    assert total > 0
    assert _count(live_server) - before - 1 == total  # every request the workers sent, counted once


def _count(base: str) -> int:
    import json

    with urllib.request.urlopen(f"{base}/count/distributed") as answer:
        return int(json.load(answer)["count"])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_never_patches_with_gevent(tmp_path):
    code = "import sys; from runner.cli import main\ntry: main(['--version'])\nexcept SystemExit: pass\n"
    code += "print('gevent' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip().splitlines()[-1] == "False"
    time.sleep(0)


def test_the_sandbox_quota_option(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "runner", "sandbox", "--quota", "none"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "--quota none: give a number of requests above 0, or off" in result.stderr
