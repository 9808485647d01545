"""`apiflow export FLOW --to arazzo [-o OUT] [--openapi SPEC]`: files in, files out, messages."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from runner.errors import UsageError
from runner.output_files import write_atomically


def export(flow_path: str, output: str | None, spec_path: str | None) -> None:
    from runner.flowfile.loader import load_flows
    from runner.share.arazzo_export import export_flow

    flows = load_flows([flow_path], runnable=False)
    top = [f for f in flows if Path(f.path).resolve() == Path(flow_path).resolve()]
    if Path(flow_path).is_dir() or len(top) != 1:
        raise UsageError(f"{flow_path}: export takes one flow file (a folder holds {len(flows)} flows)")
    out_dir = Path(output).parent if output else Path.cwd()
    stem = Path(output).name if output else Path(flow_path).name
    for suffix in (".json", ".yaml", ".yml", ".arazzo"):
        stem = stem.removesuffix(suffix)
    openapi_file = out_dir / f"{stem}.openapi.yaml"
    spec, spec_url = None, ""
    if spec_path:
        from runner.contracts.description import load_description

        spec = load_description(spec_path)
        spec_url = os.path.relpath(Path(spec_path).resolve(), out_dir.resolve())
    exported = export_flow(top[0], openapi_file.name, spec, spec_url)
    text = _dump(exported.arazzo, json_out=bool(output and output.endswith(".json")))
    if output:
        write_atomically(output, text)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if exported.openapi is not None:
        write_atomically(str(openapi_file), _dump(exported.openapi, json_out=False))
        print(f"wrote {openapi_file}: the operations the document's steps name", file=sys.stderr)
    if exported.not_exported:
        print(f"not exported ({len(exported.not_exported)}; Arazzo cannot say them):", file=sys.stderr)
        for item in exported.not_exported:
            print(f"  {item}", file=sys.stderr)


def _dump(data: Any, *, json_out: bool) -> str:
    if json_out:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
