"""An interrupted run keeps what it did: SIGINT and SIGTERM write every report with the flows
that finished and the rest marked as interrupted (issue 8 §6). Through the real CLI, as CI runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources

import jsonschema
import pytest
import xmlschema

from tests.rude_server import rude_server
from tests.test_reports import XSD

FAST = "name: Fast\nsteps:\n  - {name: Quick, request: {url: '{{ env.BASE_URL }}/ok'}, expect: {status: 200}}\n"
# A body trickled a byte at a time: the run is busy with it until the signal comes.
SLOW = "name: Slow\nsteps:\n  - {name: Wait, request: {url: '{{ env.BASE_URL }}/trickle', timeout: 90}}\n"


@pytest.fixture(scope="module")
def rude() -> Iterator[str]:
    with rude_server() as url:
        yield url


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_writes_every_report_with_the_finished_flows(tmp_path, rude, sig, code):
    (tmp_path / "a-fast.yaml").write_text(FAST)
    (tmp_path / "b-slow.yaml").write_text(SLOW)
    out = {k: tmp_path / f"out.{k}" for k in ("json", "xml", "html")}
    args = ["--report", out["json"], "--junit", out["xml"], "--html", out["html"], "--jobs", "2", tmp_path]
    env = {**os.environ, "BASE_URL": rude, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:  # wait on readiness: the fast flow has been shown
        if line.startswith("✓ Fast"):
            break
    process.send_signal(sig)
    rest, err = process.communicate(timeout=30)
    assert process.returncode == code
    name = sig.name
    assert f"interrupted by {name}: 1 of 2 flows had finished; reports written:" in err
    assert "Traceback" not in err + rest
    report = json.loads(out["json"].read_text())
    schema = json.loads(resources.files("runner").joinpath("report/report.schema.json").read_text())
    jsonschema.validate(report, schema)
    assert report["interrupted"] == name and report["passed"] is False
    fast, slow = report["flows"]
    assert (fast["name"], fast["passed"]) == ("Fast", True)
    assert (slow["name"], slow["started"], slow["error"]) == (
        "Slow",
        False,
        f"interrupted by {name} before it finished",
    )
    xmlschema.XMLSchema(XSD).validate(out["xml"].read_text())
    assert f"interrupted by {name}" in out["html"].read_text()
    assert not list(tmp_path.glob(".out.*.tmp"))  # written atomically: no temporary left


@pytest.mark.parametrize(
    ("option", "make", "message"),
    [
        ("--report", lambda p: p.mkdir() or p, "that is a folder"),
        ("--junit", lambda p: p / "missing" / "r.xml", "does not exist"),
        ("--html", lambda p: "r\0.html", "holds a NUL character"),
    ],
    ids=["a-folder", "a-missing-folder", "nul"],
)
def test_an_unwritable_report_path_is_a_usage_error_before_anything_is_sent(
    cli, write, tmp_path, option, make, message
):
    target = make(tmp_path / "out")
    path = write("steps:\n  - request: {url: 'http://127.0.0.1:9/never-sent'}\n")
    result = cli("run", option, target, path)
    assert result.code == 2
    assert message in result.err
    assert "never-sent" not in result.output  # refused before the run


def test_a_report_is_replaced_whole(cli, write, tmp_path, rude):
    report = tmp_path / "r.json"
    report.write_text("old")
    path = write(FAST)
    assert cli("run", "--report", report, path, env={"BASE_URL": rude}).code == 0
    assert json.loads(report.read_text())["passed"] is True
    assert oct(report.stat().st_mode & 0o777) != oct(0o600)  # not left private by the temporary file
