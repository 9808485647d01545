"""`apiflow import FILE`: a flow a person would have written, from what people already have.

The kind is detected from the content, not the file name: a HAR recording (`log.entries`), a
Postman collection v2.1 (`info` + `item`), an Arazzo 1.0 document (`arazzo: 1.0.x`, YAML or JSON)
or a file of curl commands. Each kind has its own module; they all hand a `FlowOut` to
`flow_writer`, which writes the YAML with what the user must set and what was not converted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.flowfile import files as fs
from runner.share.flow_writer import write_flow

MAX_IMPORT_BYTES = 64 * 1024 * 1024


def import_file(path: str, workflow: str | None = None) -> str:
    """The flow YAML for the file at `path` (of its Arazzo workflow `workflow`, if given); a
    `UsageError` (or a located `LoadError`) if it cannot."""
    try:
        text = fs.read_text(Path(path), limit=MAX_IMPORT_BYTES)
    except fs.UnreadableFileError as err:
        raise UsageError(f"{path}: cannot read it: {err}") from None
    data: Any = None
    if text.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as err:
            raise UsageError(f"{path}: looks like JSON but does not parse: {err}") from None
    name = Path(path).stem
    if isinstance(data, dict) and isinstance(data.get("log"), dict):
        from runner.share import recordings

        exchanges, dropped = recordings.from_har(data["log"], path)
        flow = recordings.to_flow(exchanges, dropped, name)
        kind = "a HAR recording"
    elif _is_postman(data):
        from runner.share.postman import from_postman

        flow, kind = from_postman(data, path), "a Postman collection"
    elif re.search(r"^\s*[\"']?arazzo[\"']?\s*:", text, re.M) or (isinstance(data, dict) and "arazzo" in data):
        from runner.share.arazzo_import import from_arazzo

        flow, kind = from_arazzo(text, path, workflow), "arazzo"
    elif re.search(r"(^|\s)curl\s", text):
        from runner.share import recordings

        flow, kind = recordings.to_flow(recordings.from_curl(text, path), [], name), "a file of curl commands"
    else:
        raise UsageError(
            f"{path}: not a HAR file, a Postman collection (v2.1), an Arazzo 1.0 document or a file of curl commands"
        )
    if workflow is not None and kind != "arazzo":
        raise UsageError(f"--workflow {workflow}: only an Arazzo document has workflows; {path} is {kind}")
    if not flow.steps:
        raise UsageError(f"{path}: no request to import")
    return write_flow(flow, Path(path).name)


def _is_postman(data: Any) -> bool:
    info = data.get("info") if isinstance(data, dict) else None
    return isinstance(info, dict) and ("_postman_id" in info or "postman" in str(info.get("schema", "")))
