"""Flow files read, parsed and shape-checked ahead of the loader, in helper processes.

Loading a thousand flows is about a millisecond each, in one process, before any run starts
(every flow must load before a request is sent): on a machine with cores to spare, the others
wait. Half of that millisecond is reading and parsing YAML and checking its shape against the
flow schema, which need nothing but the file. So, for a long list of files, forked helpers do
that part, each for every n-th file, and send each file's plain data, in order, to the loader,
which only builds the flows and checks their names.

A helper sends a file only when it parsed and checked without a problem: any problem, and the
loader parses that file itself, so what it reports is exactly what loading in one process
reports. The data travels as `marshal` (plain dicts, lists, strings and numbers; interned
strings stay interned), the parser's marks as (line, column) pairs. A helper that fails or
stops only means the loader parses the rest of its files itself.

Linux only (`fork`), and only for a list of files long enough to pay for the processes.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.flowfile import files as fs
from runner.flowfile.scan import find_flow_files
from runner.flowfile.schema_check import check_flow_document
from runner.flowfile.source import SourceFile
from runner.flowfile.yaml_source import Document, parse_yaml_documents

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

# Below this many files, forking a helper costs more than it saves.
MIN_FILES = 32

Parsed = list[Document]


class FlowFiles:
    """The flow files under a command's paths, found at once; with `ahead` and many files,
    helpers start parsing them there and then. A command makes this first, before it imports
    what runs the flows (the engine, Jinja, httpx: a tenth of a second of one core), so that
    the helpers use the cores that would wait meanwhile. Closed by the loader once it is done."""

    def __init__(self, paths: Sequence[str], exclude: Sequence[str] = (), *, ahead: bool = False) -> None:
        self.files, self.problems = find_flow_files(paths, exclude)
        self._ahead = _start(self.files) if ahead else None

    def take(self, path: Path) -> Parsed | None:
        """The documents of `path`, the next file of `files`, or None: parse it yourself.
        Called for every file of `files`, in order, whether it is still needed or not."""
        return self._ahead.take(path) if self._ahead is not None else None

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def __enter__(self) -> FlowFiles:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _ParsedAhead:
    """What the helpers parsed, taken file by file in the order of the list they were given."""

    def __init__(self, files: Sequence[Path], readers: list[Connection], helpers: list[Any]) -> None:
        self._files = files
        self._readers: list[Connection | None] = list(readers)
        self._helpers = helpers
        self._next = 0

    def take(self, path: Path) -> Parsed | None:
        index = self._next
        if index >= len(self._files) or self._files[index] is not path:
            return None
        self._next += 1
        which = index % len(self._readers)
        reader = self._readers[which]
        if reader is None:
            return None
        try:
            data = reader.recv_bytes()
        except (EOFError, OSError):  # the helper stopped: its files are parsed here
            self._readers[which] = None
            return None
        return _documents(str(path), data) if data else None

    def close(self) -> None:
        for reader in self._readers:
            if reader is not None:
                reader.close()  # a helper still sending gets a broken pipe and stops
        for helper in self._helpers:
            helper.join(timeout=1)
            if helper.is_alive():
                helper.terminate()
                helper.join()


def _documents(name: str, data: bytes) -> Parsed | None:
    try:
        text, documents = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    source = SourceFile(name, text)
    return [Document(source, plain, values, keys) for plain, values, keys in documents]


def _start(files: Sequence[Path]) -> _ParsedAhead | None:
    """Helpers parsing `files` ahead, one per core (the loader's own work is the lesser half,
    and before it starts, the command's imports are); None where that does not pay."""
    cores = len(os.sched_getaffinity(0)) if sys.platform == "linux" else 1
    if cores < 2 or len(files) < MIN_FILES:
        return None
    import multiprocessing  # only here: a run of a few files does not pay for importing it

    context = multiprocessing.get_context("fork")
    count = min(cores, len(files) // MIN_FILES)
    readers: list[Connection] = []
    helpers = []
    for k in range(count):
        reader, writer = context.Pipe(duplex=False)
        _widen(reader)
        helper = context.Process(target=_parse_files, args=(files[k::count], writer), daemon=True)
        helper.start()
        writer.close()  # the helper holds the only writing end
        readers.append(reader)
        helpers.append(helper)
    return _ParsedAhead(files, readers, helpers)


def _widen(reader: Connection) -> None:
    """A pipe of a MiB (Linux's most, without privileges) instead of 64 KiB: a helper then runs
    a hundred files ahead of the loader instead of six, so that neither waits for the other
    while the loader takes the helpers' files in turn. Where the system refuses, 64 KiB it is."""
    import fcntl

    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no F_SETPIPE_SZ here
        fcntl.fcntl(reader.fileno(), fcntl.F_SETPIPE_SZ, 1024 * 1024)


def _parse_files(files: Sequence[Path], writer: Connection) -> None:
    """A helper: send each file's documents, or b"" when the loader should parse it itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The loader has the longer part of the work that cannot be shared (building every flow):
    # it gets a core whenever it can use one, and the helpers have the cores left, and the
    # loader's own whenever it waits for them.
    os.nice(10)
    gc.freeze()  # what the parent loaded so far is not this process's garbage to walk
    gc.enable()
    try:
        for path in files:
            writer.send_bytes(_parsed(path))
    except (BrokenPipeError, OSError):  # the loader stopped early (a problem, an interrupt)
        pass
    finally:
        writer.close()


def _parsed(path: Path) -> bytes:
    """The file's text and documents, marshalled; b"" for anything that is not plainly fine."""
    try:
        text = fs.read_text(path)
        found = parse_yaml_documents(SourceFile(str(path), text))
        if any(problems or check_flow_document(doc) for doc, problems in found):
            return b""
        documents = [(doc.data, _pairs(doc.values), _pairs(doc.keys)) for doc, _ in found]
        return marshal.dumps((text, documents))
    except Exception:  # whatever it is, the loader meets it again and says so
        return b""


def _pairs(marks: dict[Any, Any]) -> dict[Any, tuple[int, int]]:
    return {path: (mark.line, mark.column) for path, mark in marks.items()}
