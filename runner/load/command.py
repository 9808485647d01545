"""`apiflow load PATH...`: the flows on Locust, headless or with its web UI, on one machine or
as Locust's master and workers.

gevent must patch `socket` and `ssl` before anything imports them, so the CLI patches first
(`patch_gevent`) and imports this module after; `apiflow run` never patches. A worker loads
the flow files from its own PATH: every machine needs the same files.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import click

from runner.errors import UsageError
from runner.load.thresholds import Threshold, parse_threshold


def patch_gevent() -> None:
    """Monkey-patch the standard library for gevent, first thing (Locust's users are greenlets)."""
    if "ssl" in sys.modules and "gevent.monkey" not in sys.modules:
        # Patched late, ssl would keep blocking sockets: a bug of ours, never the user's.
        raise RuntimeError("ssl was imported before gevent could patch it")
    from gevent import monkey

    monkey.patch_all()


STOP_TIMEOUT = 60.0  # seconds a user has to finish its flow once the run time is over


@dataclass(frozen=True)
class LoadCommand:
    paths: Sequence[str]
    overrides: dict[str, Any]
    env_file: str | None
    tags: Sequence[str]
    users: int
    spawn_rate: float
    run_time: float
    sandbox: bool
    thresholds: Sequence[str]
    html: str | None
    csv_prefix: str | None
    web: bool
    web_port: int
    master: bool
    expect_workers: int
    master_bind_port: int
    worker: bool
    master_host: str | None
    master_port: int

    def execute(self) -> int:
        checks = [parse_threshold(t) for t in self.thresholds]  # a bad one stops us before anything runs
        if self.worker and not self.master_host:
            raise UsageError("--worker needs --master-host HOST (the machine running `apiflow load --master`)")
        if self.worker and self.master:
            raise UsageError("--master and --worker cannot be used together")
        import gevent
        from locust.env import Environment
        from locust.log import setup_logging
        from locust.stats import print_error_report, print_percentile_stats, print_stats

        from runner.engine.run import RunOptions, expand
        from runner.flowfile.envfile import read_env_file
        from runner.flowfile.loader import load_flows
        from runner.load.users import user_class
        from runner.run_command import sandbox_env, select_flows

        setup_logging("INFO")  # type: ignore[no-untyped-call]  # Locust prints its tables through its loggers
        flows = select_flows(load_flows(self.paths, extra_names=self.overrides), self.tags, self.paths)
        seed = 0
        with ExitStack() as stack:
            env = dict(os.environ) | (read_env_file(self.env_file) if self.env_file else {})
            if self.sandbox and not self.worker:
                env = sandbox_env(stack, env, quota="off")  # a load measures; the plan's cap would not
            options = RunOptions(vars=self.overrides, env=env, seed=None, keep_exchanges=True)
            user = user_class(expand(flows, seed), options, env, seed)
            # At the end each user finishes the flow it is in (`finally` steps too) instead of being
            # killed mid-request: every request sent is a request counted.
            environment = Environment(user_classes=[user], stop_timeout=STOP_TIMEOUT)
            if self.worker:
                assert self.master_host is not None
                worker = environment.create_worker_runner(self.master_host, self.master_port)
                worker.greenlet.join()
                return 0
            if self.master:
                runner: Any = environment.create_master_runner("*", self.master_bind_port)
                click.echo(f"waiting for {self.expect_workers} worker(s) on port {self.master_bind_port}...")
                while len(runner.clients.ready) < self.expect_workers:
                    gevent.sleep(0.2)
            else:
                runner = environment.create_local_runner()
            if self.web:
                environment.create_web_ui("127.0.0.1", self.web_port)
                click.echo(f"Locust's web UI at http://127.0.0.1:{self.web_port}")
            runner.start(self.users, spawn_rate=self.spawn_rate)
            gevent.spawn_later(self.run_time, runner.quit)
            runner.greenlet.join()
            stats = environment.stats
            print_stats(stats)
            print_percentile_stats(stats)
            print_error_report(stats)
            self.write_reports(environment)
            return self.verdict(checks, stats)

    def verdict(self, checks: list[Threshold], stats: Any) -> int:
        if not checks:
            failures = stats.total.num_failures
            click.echo(f"{stats.total.num_requests} requests, {failures} failed")
            return 1 if failures else 0
        results = [check.verdict(stats) for check in checks]
        for met, line in results:
            click.echo(("✓ " if met else "✗ ") + line)
        return 0 if all(met for met, _ in results) else 1

    def write_reports(self, environment: Any) -> None:
        if self.html:
            from locust.html import get_html_report

            with open(self.html, "w", encoding="utf-8") as page:
                page.write(get_html_report(environment))  # type: ignore[no-untyped-call]
        if self.csv_prefix:
            _write_csv(environment.stats, self.csv_prefix)


def _write_csv(stats: Any, prefix: str) -> None:
    """`PREFIX_stats.csv` (a row per step name, and the total) and `PREFIX_failures.csv`."""
    percentiles = (0.5, 0.9, 0.95, 0.99)
    with open(f"{prefix}_stats.csv", "w", newline="", encoding="utf-8") as out:
        rows = csv.writer(out)
        rows.writerow(["Type", "Name", "Requests", "Failures", "Average ms", "p50", "p90", "p95", "p99", "RPS"])
        for entry in [*sorted(stats.entries.values(), key=lambda e: e.name), stats.total]:
            rows.writerow(
                [
                    entry.method or "",
                    entry.name,
                    entry.num_requests,
                    entry.num_failures,
                    round(entry.avg_response_time, 1),
                ]
                + [entry.get_response_time_percentile(p) for p in percentiles]
                + [round(entry.total_rps, 2)]
            )
    with open(f"{prefix}_failures.csv", "w", newline="", encoding="utf-8") as out:
        rows = csv.writer(out)
        rows.writerow(["Type", "Name", "Error", "Occurrences"])
        for error in stats.errors.values():
            rows.writerow([error.method, error.name, error.error, error.occurrences])
