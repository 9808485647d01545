"""`apiflow load` against a plain Locust HttpUser: requests per second of one user (one CPU-bound
greenlet) doing bench/flow.yaml's eight requests against bench/fixed_json_server.py, and the ratio
of their per-request cost (target <= 1.5x).

    .venv/bin/python bench/load_overhead.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from flow_overhead import start_server  # noqa: E402 - the same server, started the same way


def rps(prefix: str) -> float:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["Name"] == "Aggregated":
                return float(row["Requests/s"] if "Requests/s" in row else row["RPS"])
    raise SystemExit(f"no total in {prefix}_stats.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    server, base = start_server()
    env = {**os.environ, "BENCH_URL": base, "BENCH_TOKEN": "bench-token"}
    work = Path(tempfile.mkdtemp(prefix="apiflow-load-bench-"))
    try:
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(HERE / "locust_by_hand.py"), "--headless", "-u", "1", "-r", "1",
             "-t", f"{args.seconds}s", "--csv", str(work / "plain"), "--only-summary"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "runner", "load", str(HERE / "flow.yaml"), "--users", "1", "--spawn-rate", "1",
             "--run-time", f"{args.seconds}s", "--csv", str(work / "apiflow")],
            env=env, check=True, capture_output=True, cwd=HERE.parent,
        )  # fmt: skip
        plain, ours = rps(str(work / "plain")), rps(str(work / "apiflow"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"one user, {args.seconds} s, requests/s")
    print(f"  plain Locust HttpUser   {plain:8.0f}")
    print(f"  apiflow load            {ours:8.0f}")
    print(f"  cost per request        {plain / ours:8.2f}x   (target <= 1.50x)")


if __name__ == "__main__":
    main()
