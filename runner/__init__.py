"""apiflow: run multi-step HTTP API flows written in YAML.

The public API is what this module exports; everything else is private and may change.
Layers: `load_flow` (YAML → immutable `Flow`), `run_flows` (flows → `FlowResult`s, prints
nothing), and the reporters in `runner.report`, wired together by the CLI in `runner.cli`.
"""

__version__ = "0.1.0"

from runner.errors import ApiflowError, LoadError, UsageError
from runner.loader import load_flow, load_flows
from runner.model import Flow, Step
from runner.results import AssertionResult, FlowResult, StepResult
from runner.run import RunOptions, RunResult, run_flows

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
