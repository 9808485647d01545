"""Load thresholds: `p95<800ms`, `avg<200ms`, `error_rate<1%`, `rps>50`, over every request or
one name (`"Checkout / Pay with a new credit card: p95<800ms"`). Parsed before the load starts
(a bad one is a usage error, exit 2) and judged on Locust's statistics when it ends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from runner.errors import UsageError

_FORM = re.compile(
    r"^(?:(?P<name>.+?):\s*)?(?P<metric>p50|p90|p95|p99|avg|error_rate|rps)\s*(?P<op>[<>])\s*"
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%)?$"
)
_UNITS = {"p50": "time", "p90": "time", "p95": "time", "p99": "time", "avg": "time", "error_rate": "%", "rps": ""}


@dataclass(frozen=True)
class Threshold:
    text: str
    name: str | None  # None: every request
    metric: str
    op: str
    limit: float  # milliseconds for times, a fraction for error_rate, per second for rps

    def measure(self, stats: Any) -> float | None:
        """The metric on Locust's `RequestStats` (None when no request of that name was made)."""
        entry = stats.total if self.name is None else _entry(stats, self.name)
        if entry is None or entry.num_requests == 0:
            return None
        if self.metric == "avg":
            return float(entry.avg_response_time)
        if self.metric == "error_rate":
            return float(entry.num_failures / entry.num_requests)
        if self.metric == "rps":
            return float(entry.total_rps)
        return float(entry.get_response_time_percentile(int(self.metric[1:]) / 100))

    def verdict(self, stats: Any) -> tuple[bool, str]:
        value = self.measure(stats)
        if value is None:
            return False, f"{self.text}: not met, no request named {self.name!r} was made"
        met = value < self.limit if self.op == "<" else value > self.limit
        shown = (
            f"{value * 100:.2f}%"
            if self.metric == "error_rate"
            else f"{value:.1f}" + ("" if self.metric == "rps" else " ms")
        )
        return met, f"{self.text}: {'met' if met else 'NOT met'} ({self.metric} = {shown})"


def parse_threshold(text: str) -> Threshold:
    found = _FORM.match(text.strip())
    if found is None:
        raise UsageError(
            f"--threshold {text!r}: expected METRIC<VALUE or NAME: METRIC<VALUE, with METRIC one of "
            "p50 p90 p95 p99 avg (ms or s), error_rate (%) or rps (>), such as p95<800ms, error_rate<1%, rps>50"
        )
    metric, unit, value = found["metric"], found["unit"], float(found["value"])
    kind = _UNITS[metric]
    if kind == "time" and unit not in ("ms", "s"):
        raise UsageError(f"--threshold {text!r}: a time needs a unit, ms or s ({metric}<800ms)")
    if kind == "%" and unit != "%":
        raise UsageError(f"--threshold {text!r}: error_rate is a percentage (error_rate<1%)")
    if kind == "" and unit:
        raise UsageError(f"--threshold {text!r}: rps is a number of requests per second (rps>50)")
    limit = value * 1000 if unit == "s" else value / 100 if unit == "%" else value
    return Threshold(text.strip(), found["name"], metric, found["op"], limit)


def _entry(stats: Any, name: str) -> Any:
    """Every method's requests of `name`, together (a step sends one method, but be general)."""
    entries = [e for (entry_name, _), e in stats.entries.items() if entry_name == name]
    if not entries:
        return None
    if len(entries) == 1:
        return entries[0]
    from locust.stats import StatsEntry

    merged = StatsEntry(stats, name, "")
    for entry in entries:
        merged.extend(entry)
    return merged
