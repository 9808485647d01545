"""apiflow: run multi-step HTTP API flows written in YAML.

The public API is what this module exports; everything else is private and may change.
Layers: `load_flow` (YAML → immutable `Flow`), `run_flows` (flows → `FlowResult`s, prints
nothing), and the reporters in `runner.report`, wired together by the CLI in `runner.cli`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Exported lazily (PEP 562): `apiflow --version` and `import runner` must not pay for httpx,
# Jinja and PyYAML. Each name is imported from its module on first use.
_EXPORTS = {
    "ApiflowError": "runner.errors",
    "LoadError": "runner.errors",
    "UsageError": "runner.errors",
    "load_flow": "runner.flowfile.loader",
    "load_flows": "runner.flowfile.loader",
    "Flow": "runner.flowfile.model",
    "Step": "runner.flowfile.model",
    "AssertionResult": "runner.engine.results",
    "FlowResult": "runner.engine.results",
    "StepResult": "runner.engine.results",
    "RunOptions": "runner.engine.run",
    "RunResult": "runner.engine.run",
    "run_flows": "runner.engine.run",
}

if TYPE_CHECKING:
    from runner.engine.results import AssertionResult, FlowResult, StepResult
    from runner.engine.run import RunOptions, RunResult, run_flows
    from runner.errors import ApiflowError, LoadError, UsageError
    from runner.flowfile.loader import load_flow, load_flows
    from runner.flowfile.model import Flow, Step


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "ApiflowError",
    "AssertionResult",
    "Flow",
    "FlowResult",
    "LoadError",
    "RunOptions",
    "RunResult",
    "Step",
    "StepResult",
    "UsageError",
    "__version__",
    "load_flow",
    "load_flows",
    "run_flows",
]
