"""Shared fixtures: flow files in a temporary folder, the test API in-process and on a socket,
and the `apiflow` command run in-process with its output and exit code."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runner import RunOptions, RunResult, load_flow, run_flows
from runner.cli import main
from tests.server import create_app, serve

IN_PROCESS = "http://api.test"


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(text, name="flow.yaml") -> the path of a new file holding the dedented text."""

    def write_file(text: str, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
        return path

    return write_file


@pytest.fixture
def run_in_process(write: Callable[..., Path]) -> Callable[..., RunResult]:
    """run_in_process(flow_text, **options): the flow run against the test API, in-process."""

    def run(text: str, **options: object) -> RunResult:
        flow = load_flow(write(text))
        transport = httpx.ASGITransport(app=create_app())
        env = {"BASE": IN_PROCESS, **options.pop("env", {})}  # type: ignore[dict-item]
        return run_flows([flow], RunOptions(transport=transport, env=env, seed=1, **options))  # type: ignore[arg-type]

    return run


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The test API on a real socket: its base URL."""
    with serve(create_app()) as url:
        yield url


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """cli("run", path, env={...}) -> exit code, stdout and stderr of the apiflow command."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> CliResult:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
