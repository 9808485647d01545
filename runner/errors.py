"""The exceptions apiflow raises to its callers, and the exit code each one maps to.

    ApiflowError            base; never shown as a traceback
    ├── LoadError           a flow file does not load: YAML, schema, templates, JSONPath,
    │                       undefined names. Carries every `Problem` found. Exit 2.
    └── UsageError          a wrong option or argument on the command line. Exit 2.

A flow that loads but fails when run is not an exception: it is a `FlowResult` whose
`passed` is false, and the CLI exits 1.
"""

from __future__ import annotations

from runner.flowfile.source import Problem


class ApiflowError(Exception):
    """Base of every error apiflow reports to a person."""

    exit_code = 2


class LoadError(ApiflowError):
    """One or more flow files do not load; `problems` lists everything found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


class UsageError(ApiflowError):
    """The command line asks for something that cannot be done."""
