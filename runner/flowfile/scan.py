"""Finding flow files: the paths named on the command line, and the folders searched for more.

A folder is searched the way a person would expect in a real repository: hidden folders
(`.git`, `.github`), `node_modules`, `__pycache__` and Python virtual environments are passed
by, so are paths matching an `--exclude` glob, and a YAML file counts as a flow only when it has
a top-level `steps:` (a workflow, a compose file or a data file does not). Named files are
always taken, whatever they hold.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from pathlib import Path

from runner.flowfile import files as fs
from runner.flowfile.source import Problem
from runner.limits import MAX_FILE_BYTES

FLOW_SUFFIXES = (".yaml", ".yml")
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "site-packages"})
_STEPS = re.compile(rb"^steps[ \t]*:", re.MULTILINE)


def find_flow_files(paths: Sequence[str], exclude: Sequence[str] = ()) -> tuple[list[Path], list[Problem]]:
    """The flow files named by `paths` (files, or folders searched recursively)."""
    found: list[Path] = []
    problems: list[Problem] = []
    for name in paths:
        path = Path(name)
        kind = fs.kind(path)
        if kind == "folder":
            found.extend(_search(path, exclude))
        elif kind == "file":
            found.append(path)
        else:
            why = fs.why_not_a_file(path)
            if why == "no such file":
                why = "no such file or folder"
            problems.append(
                Problem(None, f"{shown(name)}: {why}", "check the path; it is relative to the current folder")
            )
    return found, problems


def shown(name: str) -> str:
    """A path as it can be printed: NULs visible, a very long one shortened."""
    text = name.replace("\0", "\\0")
    return text if len(text) <= 120 else f"{text[:100]}...({len(text):,} characters)"


def _search(root: Path, exclude: Sequence[str]) -> list[Path]:
    flows = []
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not _skipped_folder(here / d, root, exclude))
        for name in sorted(names):
            path = here / name
            if not _excluded(path, root, exclude) and is_flow_file(path):  # never opens a pipe named x.yaml
                flows.append(path)
    return flows


def _skipped_folder(path: Path, root: Path, exclude: Sequence[str]) -> bool:
    name = path.name
    is_venv = (path / "pyvenv.cfg").is_file()
    return name.startswith(".") or name in SKIPPED_FOLDERS or is_venv or _excluded(path, root, exclude)


def _excluded(path: Path, root: Path, exclude: Sequence[str]) -> bool:
    """Whether an --exclude glob matches the path below the searched folder, or its name."""
    relative = path.relative_to(root).as_posix()
    return any(fnmatch.fnmatch(relative, g) or fnmatch.fnmatch(path.name, g) for g in exclude)


def is_flow_file(path: Path) -> bool:
    """Whether a file found while searching is a flow: `*.yaml`/`*.yml`, a regular file, with a
    top-level `steps:` (the rule `apiflow run FOLDER` applies, and the pytest plugin too)."""
    return path.suffix in FLOW_SUFFIXES and fs.kind(path) == "file" and _has_steps(path)


def _has_steps(path: Path) -> bool:
    """A top-level `steps:` in the first MiB: what makes YAML a flow rather than data."""
    try:
        with path.open("rb") as handle:
            # As much as the file holds, up to the limit: a buffer of the size asked for is made.
            size = os.fstat(handle.fileno()).st_size
            return _STEPS.search(handle.read(min(size + 1, MAX_FILE_BYTES))) is not None
    except OSError:
        return True  # let loading say what is wrong with it
