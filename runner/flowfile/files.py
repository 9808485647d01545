"""Reading the files a flow names (flows, `use`, matrix and schema files, env files) safely.

A flow from a stranger may name `/dev/zero`, a named pipe, a path with a NUL in it or one longer
than the system allows. Only regular files are read, never more than a size limit, and every way
a path can fail becomes a `UnreadableFileError` with a sentence a person can act on, not an `OSError`.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from runner.limits import MAX_FILE_BYTES, MAX_YAML_DEPTH, deeper_than


class UnreadableFileError(Exception):
    """A file cannot be read; the message says why in words (no errno, no traceback)."""


def _stat(path: Path) -> os.stat_result | None:
    """`os.stat`, or None when the path does not exist; a path the system refuses raises."""
    text = str(path)
    if "\0" in text:
        raise UnreadableFileError("the path holds a NUL character")
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as err:
        raise UnreadableFileError(_reason(err)) from None


def _reason(err: OSError) -> str:
    if err.errno == 36:  # ENAMETOOLONG, spelled out: the message is the same on every system
        return "the path is longer than the system allows"
    return (err.strerror or type(err).__name__).lower()


def kind(path: Path) -> str:
    """ "file", "folder", "missing" or "other" (a pipe, a device, a socket); never raises."""
    try:
        found = _stat(path)
    except UnreadableFileError:
        return "missing"
    if found is None:
        return "missing"
    if stat.S_ISREG(found.st_mode):
        return "file"
    return "folder" if stat.S_ISDIR(found.st_mode) else "other"


def _regular_file(path: Path) -> os.stat_result:
    """The status of the regular file at `path`; `UnreadableFileError` saying why it is not one."""
    found = _stat(path)
    if found is None:
        raise UnreadableFileError("no such file")
    if stat.S_ISDIR(found.st_mode):
        raise UnreadableFileError("it is a folder, not a file")
    if not stat.S_ISREG(found.st_mode):
        raise UnreadableFileError("it is not a regular file (a pipe or a device cannot be read as a flow's file)")
    return found


def why_not_a_file(path: Path) -> str:
    """Why `path` cannot be read as a file ("no such file", ...), or '' when it is a regular file."""
    try:
        _regular_file(path)
    except UnreadableFileError as err:
        return str(err)
    return ""


def read_text(path: Path, *, limit: int = MAX_FILE_BYTES, encoding: str = "utf-8") -> str:
    """The text of the regular file at `path`, at most `limit` bytes; else `UnreadableFileError`."""
    size = _regular_file(path).st_size
    if size > limit:
        raise UnreadableFileError(f"it is {size:,} bytes; the limit is {limit:,}")
    try:
        with path.open("rb") as handle:
            # Asked for what stat said (Python makes a buffer of the size asked for: a MiB
            # a file, for files of a few KiB, cost more than reading them), then the rest if
            # the file has grown since, up to one byte past the limit.
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(limit + 1 - len(data))
    except OSError as err:
        raise UnreadableFileError(_reason(err)) from None
    if len(data) > limit:
        raise UnreadableFileError(f"it is over {limit:,} bytes, the limit")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise UnreadableFileError(f"it is not UTF-8 text (byte {err.start + 1} cannot be decoded)") from None


def read_data_file(path: Path) -> Any:
    """A JSON or YAML data file (schemas, matrix rows), parsed with the flow file's limits.

    Raises `UnreadableFileError`, or `ValueError` with the parser's reason and line.
    """
    from runner.flowfile.source import SourceFile
    from runner.flowfile.yaml_source import parse_yaml

    text = read_text(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError(f"it nests deeper than {MAX_YAML_DEPTH} levels") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"line {err.lineno}: {err.msg}") from None
        if deeper_than(data, MAX_YAML_DEPTH):
            raise ValueError(f"it nests deeper than {MAX_YAML_DEPTH} levels")
        return data
    doc, problems = parse_yaml(SourceFile(str(path), text))
    if problems:
        where = f"line {problems[0].span.line}: " if problems[0].span else ""
        raise ValueError(where + problems[0].message)
    return doc.data
