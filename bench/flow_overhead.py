"""apiflow against a hand-written httpx client: per-flow time, cold starts, memory, requests/s.

Starts bench/fixed_json_server.py (raw asyncio, fixed JSON, keep-alive) and measures, each as a
whole process, as a user would run it, and each the best of its runs; the commands of a measure
run in turn, round after round, so that a slow spell of a shared machine falls on all alike:

- per flow: (T(N flows) - T(1 flow)) / (N - 1) for `apiflow run -q` on a folder of N copies of
  bench/flow.yaml (8 steps, 5 captures), and for bench/by_hand.py doing the same requests and
  checks on one connection it reuses; and their ratio (target <= 1.3);
- cold start: `apiflow --version`, `apiflow validate` and `apiflow run` of one flow, beside the
  hand-written script's own run of one flow (targets 0.06, 0.15, 0.18 s);
- peak RSS of `apiflow run` at 200 and 1,000 flows (targets 45 and 60 MiB);
- requests per second of 1,000 flows at --jobs 1 and --jobs 32, beside the script's (the best of
  three interleaved runs each), with the CPU each spent in all its processes and the server's.

    .venv/bin/python bench/flow_overhead.py [--flows 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOW = HERE / "flow.yaml"
STEPS = 8
APIFLOW = [sys.executable, "-m", "runner"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(pid: int) -> float:
    """CPU time (user + system) in seconds that a running process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server() -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fixed_json_server.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server, f"http://127.0.0.1:{port}"


def copies(root: Path, count: int) -> Path:
    folder = root / f"flows-{count}"
    folder.mkdir()
    for i in range(count):
        shutil.copy(FLOW, folder / f"flow-{i:04d}.yaml")
    return folder


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Wall time in seconds, peak RSS in KiB and CPU time (user + system) in seconds of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def in_turn(
    commands: dict[str, list[str]], env: dict[str, str], rounds: int, server_pid: int
) -> dict[str, list[tuple[float, float, float]]]:
    """Each command once per round, in turn, so that a slow spell of a shared machine falls on
    all of them alike rather than on one: (wall s, CPU s, the server's CPU s) of every run."""
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            before = cpu_of(server_pid)
            elapsed, _, cpu = timed(command, env)
            runs[name].append((elapsed, cpu, cpu_of(server_pid) - before))
    return runs


def best(runs: list[tuple[float, float, float]]) -> float:
    return min(run[0] for run in runs)


def best_cpu(runs: list[tuple[float, float, float]]) -> float:
    return min(run[1] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100, help="flows for the per-flow time (default 100)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measure; the best is kept (default 5)")
    args = parser.parse_args()
    # Bytecode written first, as an install writes it: with PYTHONDONTWRITEBYTECODE set (some CI
    # images and shells set it), a module changed since its .pyc was written would otherwise be
    # compiled again by every process measured.
    compileall.compile_dir(HERE.parent / "runner", quiet=1)
    server, base = start_server()
    env = {**os.environ, "BENCH_URL": base, "BENCH_TOKEN": "bench-token", "NO_COLOR": "1"}
    work = Path(tempfile.mkdtemp(prefix="apiflow-bench-"))
    try:
        one, many = copies(work, 1), copies(work, args.flows)
        script = [sys.executable, str(HERE / "by_hand.py"), base]
        run = [*APIFLOW, "run", "-q"]
        small = in_turn(
            {
                "ours 1": [*run, str(one)],
                "ours n": [*run, str(many)],
                "hand 1": [*script, "1"],
                "hand n": [*script, str(args.flows)],
                "version": [*APIFLOW, "--version"],
                "validate": [*APIFLOW, "validate", str(one)],
                "bare": [sys.executable, "-c", "pass"],
            },
            env,
            args.repeat,
            server.pid,
        )
        ours_1, ours_n, hand_1, hand_n = (best(small[name]) for name in ("ours 1", "ours n", "hand 1", "hand n"))
        per_ours, per_hand = (ours_n - ours_1) / (args.flows - 1), (hand_n - hand_1) / (args.flows - 1)
        # CPU time of the client process: what the overhead is made of, and steadier than wall
        # time on a shared machine (the server's time and the machine's other tenants are not in it).
        cpu_ours = (best_cpu(small["ours n"]) - best_cpu(small["ours 1"])) / (args.flows - 1)
        cpu_hand = (best_cpu(small["hand n"]) - best_cpu(small["hand 1"])) / (args.flows - 1)
        version, validate, bare = (best(small[name]) for name in ("version", "validate", "bare"))
        f200, f1000 = copies(work, 200), copies(work, 1000)
        rss_200 = timed([*run, str(f200)], env)[1]
        rss_1000 = timed([*run, str(f1000)], env)[1]
        thousand = {"jobs 1": [*run, str(f1000)], "jobs 32": [*run, "--jobs", "32", str(f1000)]}
        thousand["script"] = [*script, "1000"]
        best_1000 = {
            name: min(found) for name, found in in_turn(thousand, env, min(3, args.repeat), server.pid).items()
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"per flow ({args.flows} flows, 8 steps, 5 captures; best of {args.repeat}, every command in turn)")
    print(f"  apiflow run          {per_ours * 1000:7.2f} ms")
    print(f"  hand-written httpx   {per_hand * 1000:7.2f} ms   (one AsyncClient, connection reused)")
    print(f"  ratio                {per_ours / per_hand:7.2f}x   (target <= 1.30x)")
    print(
        f"  CPU per flow         {cpu_ours * 1000:7.2f} ms against {cpu_hand * 1000:.2f} ms: {cpu_ours / cpu_hand:.2f}x (user + system)"
    )
    print("cold start, whole process (best, measured in turn with the above)")
    print(f"  apiflow --version    {version:7.3f} s   (target <= 0.060 s)")
    print(f"  apiflow validate     {validate:7.3f} s   (target <= 0.150 s)")
    print(f"  apiflow run, 1 flow  {ours_1:7.3f} s   (target <= 0.180 s; {ours_1 / hand_1:.2f}x the script's)")
    print(f"  script, 1 flow       {hand_1:7.3f} s")
    print(f"  bare python          {bare:7.3f} s")
    print("peak RSS of apiflow run")
    print(f"  200 flows            {rss_200 / 1024:7.1f} MiB   (target <= 45 MiB)")
    print(f"  1,000 flows          {rss_1000 / 1024:7.1f} MiB   (target <= 60 MiB)")
    print("requests/s over 1,000 flows (8,000 requests; best of 3, interleaved)")
    for label, name in (
        ("apiflow --jobs 1", "jobs 1"),
        ("apiflow --jobs 32", "jobs 32"),
        ("script, sequential", "script"),
    ):
        elapsed, cpu, served = best_1000[name]
        print(
            f"  {label:<20} {1000 * STEPS / elapsed:7.0f}   (CPU {cpu:.2f} s, all its processes; the server's {served:.2f} s)"
        )
    ratio = best_1000["script"][0] / best_1000["jobs 32"][0]
    print(f"  --jobs 32 / script   {ratio:7.2f}x   (target >= 2x; {len(os.sched_getaffinity(0))} cores here)")


if __name__ == "__main__":
    main()
