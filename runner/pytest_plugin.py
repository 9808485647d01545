"""The pytest plugin (entry point `pytest11`, name `apiflow`): flow files as test items.

`pytest flows/` collects the flow files pytest meets by the rule `apiflow run` uses (a `*.yaml`
with a top-level `steps:`; a sub-flow, one with a required input, is not an item): one item per
flow run, a matrix row an item of its own named by its values, tags as markers. An item runs
through apiflow's engine; a failure is apiflow's redacted failure block, never a traceback of
apiflow, and a file that does not load is one collection error with apiflow's located message.

Only pytest's public API is used (`pytest.File`, `pytest.Item`, hooks, `pytest.Config`), so a
pytest release that reshuffles its internals does not break it. apiflow never imports this
module: pytest does, when it is installed. Supported: pytest 8.0 to 9.x (tests/test_pytest_plugin.py
pins the range).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from runner.engine.redact import is_sensitive_name

SUPPORTED_PYTEST = ((8, 0), (10, 0))  # from 8.0, below 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("apiflow", "apiflow: flow files as tests")
    group.addoption("--apiflow-sandbox", action="store_true", help="Run flows against the embedded sandbox.")
    group.addoption("--apiflow-var", action="append", default=[], metavar="K=V", help="A flow variable (repeatable).")
    group.addoption("--apiflow-env-file", metavar="F", help="A dotenv file read as env.NAME and by secret().")
    group.addoption("--apiflow-seed", type=int, metavar="N", help="Seed for uuid(), random_int(), now() and fake.*.")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = _Session(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.close()


def pytest_report_header(config: pytest.Config) -> str:
    return f"apiflow: seed {config.stash[_SESSION].seed} (--apiflow-seed to replay)"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from runner.flowfile.scan import is_flow_file

    if is_flow_file(file_path):
        return FlowFile.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def apiflow(pytestconfig: pytest.Config) -> Runner:
    """Run flow files from a Python test: `result = apiflow.run("flows/x.yaml", vars={...})`."""
    return Runner(pytestconfig.stash[_SESSION])


class Runner:
    def __init__(self, session: _Session) -> None:
        self._session = session

    def run(self, path: str | Path, vars: dict[str, Any] | None = None) -> Any:
        """Every flow of the file at `path` (each matrix row once); the engine's `RunResult`:
        `.passed`, `.flows[i].steps[j].captures`, `.flows[i].steps[j].response`."""
        from runner.engine.run import run_flows
        from runner.flowfile.loader import load_flows

        flows = load_flows([str(path)], extra_names=vars or {})
        options = self._session.options(dict(vars or {}), contracts=_contracts(flows))
        return run_flows(flows, options)


class FlowFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from runner.engine.run import expand
        from runner.errors import LoadError
        from runner.flowfile.loader import load_flows

        session: _Session = self.config.stash[_SESSION]
        try:
            flows = load_flows([str(self.path)], extra_names=session.vars, runnable=False)
        except LoadError as err:
            raise FlowLoadError(str(err)) from None
        runs = expand([f for f in flows if not f.is_sub_flow], session.seed)
        contracts = _contracts(flows)
        names: dict[str, int] = {}
        for run in runs:
            name = run.flow.name + (f"[{_row_id(run.row)}]" if run.row is not None else "")
            names[name] = names.get(name, 0) + 1
            if names[name] > 1:  # two rows that show the same values: numbered
                name = f"{name[:-1]}-{names[name]}]" if name.endswith("]") else f"{name}[{names[name]}]"
            # The id given whole, so that pytest parses `Cards[visa]` as it parses the ids it
            # stores (`--lf` reads them back): a name and its bracketed values.
            nodeid = f"{self.nodeid}::{name}"
            item = FlowItem.from_parent(self, name=name, nodeid=nodeid, run=run, contracts=contracts)
            for tag in run.flow.tags:
                _register(self.config, tag)
                item.add_marker(tag)
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FlowLoadError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class FlowItem(pytest.Item):
    def __init__(self, *, run: Any, contracts: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.contracts = contracts

    def runtest(self) -> None:
        from runner.engine.redact import Redactor
        from runner.engine.run import run_all
        from runner.report.console import ConsoleReport

        session: _Session = self.config.stash[_SESSION]
        options = session.options(session.vars, contracts=self.contracts)
        redactor = Redactor()
        assert options.env is not None
        result = asyncio.run(run_all([self.run], options, options.env, redactor, session.seed))[0]
        if not result.passed:
            raise FlowFailedError(ConsoleReport(redactor).flow(result).rstrip())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FlowFailedError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.run.flow.steps[0].span.line - 1 if self.run.flow.steps else 0, self.name


class FlowFailedError(Exception):
    """A flow run failed; the message is apiflow's failure block, already redacted."""


class FlowLoadError(Exception):
    """A flow file does not load; the message is apiflow's located problems."""


class _Session:
    """What every item of a pytest session shares: options, seed, environment, the sandbox."""

    def __init__(self, config: pytest.Config) -> None:
        from runner.cli import _parse_var

        self.config = config
        self.vars = dict(_parse_var(v) for v in config.getoption("apiflow_var") or [])
        seed = config.getoption("apiflow_seed")
        self.seed: int = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self._env: dict[str, str] | None = None
        self._stack = ExitStack()

    def env(self) -> dict[str, str]:
        """The process environment, the env file over it, and the sandbox's BC_* (started once
        per session, or per xdist worker, on the first flow that runs)."""
        if self._env is None:
            from runner.flowfile.envfile import read_env_file

            env_file = self.config.getoption("apiflow_env_file")
            env = dict(os.environ) | (read_env_file(env_file) if env_file else {})
            if self.config.getoption("apiflow_sandbox"):
                from runner.run_command import sandbox_env

                env = sandbox_env(self._stack, env)
            self._env = env
        return self._env

    def options(self, variables: dict[str, Any], contracts: Any = None) -> Any:
        from runner.engine.run import RunOptions

        return RunOptions(vars=variables, env=self.env(), seed=self.seed, keep_exchanges=True, contracts=contracts)

    def close(self) -> None:
        self._stack.close()


_SESSION = pytest.StashKey[_Session]()


def _contracts(flows: list[Any]) -> Any:
    from runner.contracts.contracts import load_contracts

    return load_contracts(flows) if any(f.openapi for f in flows) else None


def _row_id(row: dict[str, Any]) -> str:
    """A matrix row as an item id: its `name`, `label` or `id` column, else its values joined by
    `-` — never a sensitive value (a card number, a password), which would end up in reports."""
    for key in ("name", "label", "id"):
        if key in row and not is_sensitive_name(key):
            return str(row[key])
    return "-".join(str(v) for k, v in row.items() if not is_sensitive_name(k)) or "row"


def _register(config: pytest.Config, tag: str) -> None:
    """A tag as a registered marker, so `--strict-markers` accepts it and `-m tag` selects."""
    markers = config.getini("markers")
    if not any(line.split(":")[0].strip() == tag for line in markers):
        config.addinivalue_line("markers", f"{tag}: apiflow tag")
