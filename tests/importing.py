"""What the hypothesis tests of `apiflow import` check for every input they make up."""

from __future__ import annotations

from pathlib import Path

from runner.errors import ApiflowError
from runner.flowfile.loader import load_flows
from runner.share.importer import import_file


def imports_a_flow_that_loads_or_refuses(source: Path) -> None:
    """`import_file(source)` is refused with apiflow's error (a usage error, or a located one),
    or gives flow YAML that loads: a LoadError or any other exception fails the calling test."""
    try:
        out = import_file(str(source))
    except ApiflowError:
        return
    flow = source.with_name(source.stem + ".imported.yaml")
    flow.write_text(out)
    load_flows([str(flow)])
