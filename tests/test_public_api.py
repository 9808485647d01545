"""The public API is what runner/__init__.py exports; changing it is a deliberate act."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import runner

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (["--version"], {"httpx", "jinja2", "yaml", "runner.flowfile.loader", "runner.engine.run"}),
        (
            ["validate", "bench/flow.yaml"],
            {"httpx", "runner.engine.run", "runner.report.html", "jsonschema", "starlette"},
        ),
    ],
    ids=["version", "validate"],
)
def test_a_command_imports_only_what_it_uses(args, absent):
    code = (
        "import sys\nfrom runner.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'httpx', 'jinja2', 'yaml', 'jsonschema', 'starlette'}"
        " or m.startswith('runner.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    loaded = set(ast.literal_eval(out.strip().splitlines()[-1]))
    assert not (loaded & absent), loaded & absent
