"""Console output, checked against golden files: tests/golden/<case>/{flow.yaml,args,expected.txt}.

Run with APIFLOW_UPDATE_GOLDEN=1 to rewrite expected.txt after an intended change, then read the
diff before committing it. Times, ports and dates are replaced by placeholders.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.server import USER_PASSWORD, create_app, serve

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())


def normalise(text: str, server: str) -> str:
    text = text.replace(server, "http://SERVER").replace(server.removeprefix("http://"), "SERVER")
    text = re.sub(r" +\d+ ms\b", " N ms", text)  # the padding varies with the digits
    text = re.sub(r"\b\d+\.\d+ s\b", "N s", text)
    text = re.sub(r"(?m)^(\s+< date: ).*$", r"\1DATE", text)
    text = re.sub(r"(?m)^(\s+> user-agent: apiflow/).*$", r"\1VERSION", text)
    return re.sub(r"(?m)^(\s+[<>] content-length: )\d+$", r"\1N", text)


@pytest.mark.parametrize("case", CASES)
def test_console_output_matches_the_golden_file(case, cli, monkeypatch):
    with serve(create_app()) as server:  # a fresh server per case: ids start at 1
        check_case(case, cli, server, monkeypatch)


def check_case(case, cli, live_server, monkeypatch):
    folder = GOLDEN / case
    monkeypatch.chdir(folder)
    args = (folder / "args").read_text().split()
    result = cli("run", *args, "flow.yaml", env={"BASE_URL": live_server, "PASSWORD": USER_PASSWORD, "NO_COLOR": "1"})
    actual = f"exit {result.code}\n{normalise(result.output, live_server)}"
    expected_file = folder / "expected.txt"
    if os.environ.get("APIFLOW_UPDATE_GOLDEN"):
        expected_file.write_text(actual, "utf-8")
    assert actual == expected_file.read_text("utf-8")
