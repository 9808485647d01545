"""The OpenAPI descriptions of one run: each file loaded once, whatever number of flows name it.

A flow's own `openapi:` applies to its steps (a sub-flow's to its own); `--openapi` applies to
every flow. Loaded before anything is sent, so a broken description stops the run (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from runner.contracts.description import Description, load_description
from runner.errors import LoadError
from runner.flowfile.model import Flow
from runner.flowfile.source import Problem


class Contracts:
    def __init__(self, by_file: dict[str, Description], everywhere: Sequence[Description]) -> None:
        self._by_file = by_file
        self._everywhere = list(everywhere)

    def for_flow(self, flow: Flow) -> list[Description]:
        own = [self._by_file[ref.path] for ref in flow.openapi if ref.path in self._by_file]
        return own + [d for d in self._everywhere if d not in own]

    @property
    def everywhere(self) -> list[Description]:
        """Those given on the command line (`--openapi`)."""
        return list(self._everywhere)

    @property
    def descriptions(self) -> list[Description]:
        return list({id(d): d for d in [*self._by_file.values(), *self._everywhere]}.values())


def flows_and_sub_flows(flows: Iterable[Flow]) -> list[Flow]:
    """Every flow of the run, with the flows their `use` steps run, each once."""
    seen: dict[int, Flow] = {}
    stack = list(flows)
    while stack:
        flow = stack.pop()
        if id(flow) in seen:
            continue
        seen[id(flow)] = flow
        stack.extend(s.use.flow for s in (*flow.steps, *flow.finally_steps) if s.use is not None)
    return list(seen.values())


def load_contracts(flows: Iterable[Flow], extra: Sequence[str] = ()) -> Contracts | None:
    """The run's descriptions, or None when no flow and no `--openapi` names one."""
    named = sorted({ref.path for flow in flows_and_sub_flows(flows) for ref in flow.openapi})
    if not named and not extra:
        return None
    loaded: dict[str, Description] = {}
    problems: list[Problem] = []

    def load(path: str) -> Description | None:
        key = os.path.realpath(path)
        if key not in loaded:
            try:
                loaded[key] = load_description(Path(path), path)
            except LoadError as err:
                problems.extend(err.problems)
                return None
        return loaded[key]

    by_file = {path: d for path in named if (d := load(path)) is not None}
    everywhere = [d for spec in extra if (d := load(spec)) is not None]
    if problems:
        raise LoadError(problems)
    return Contracts(by_file, everywhere)
