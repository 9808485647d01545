"""The public API is what runner/__init__.py exports; changing it is a deliberate act."""

from __future__ import annotations

import runner


def test_exported_members():
    assert sorted(runner.__all__) == [
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
    for name in runner.__all__:
        assert hasattr(runner, name)
