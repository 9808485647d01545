"""Time and peak memory of N BigCommerce checkouts at once against one sandbox.

Runs flows/bigcommerce/checkout-new-card.yaml N times with `--jobs J` through the real CLI,
the sandbox started by `--sandbox` (a child process of the runner), and prints the wall time and
the peak resident memory of the larger of the two.

    .venv/bin/python bench/concurrent_checkouts.py [--runs 200] [--jobs 50]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

FLOW = Path(__file__).resolve().parents[1] / "flows" / "bigcommerce" / "checkout-new-card.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "runner",
        "run",
        "--sandbox",
        "-q",
        "--jobs",
        str(args.jobs),
        *[str(FLOW)] * args.runs,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(done.stdout.strip().splitlines()[-1])
    print(f"checkouts            {args.runs} with --jobs {args.jobs} (exit {done.returncode})")
    print(f"wall time            {elapsed:.2f} s  ({elapsed / args.runs * 1000:.1f} ms per checkout)")
    print(f"peak memory          {peak_mb:.0f} MiB (the larger of the runner and the sandbox)")


if __name__ == "__main__":
    main()
