"""Files parsed ahead by helper processes load as the same flows, with the same problems.

`load_flows(..., parse_ahead=True)` hands the reading, parsing and shape check of many files to
forked helpers (runner/flowfile/parse_ahead.py). Whatever the files hold, hostile or fine,
the outcome must be exactly that of loading in one process: the same flows, down to every
span, or the same problems, word for word. So must the loader's other short cuts (how it
resolves the path of each file).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runner.errors import LoadError
from runner.flowfile import parse_ahead
from runner.flowfile.loader import load_flows
from tests.test_mutated_flows import SOURCE, mutated


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of flows/bigcommerce (so that `use:` resolves), to add mutants to."""
    copy = tmp_path_factory.mktemp("ahead") / "bigcommerce"
    shutil.copytree(SOURCE, copy)
    return copy


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Helpers for as few as two files; records, for each file taken, whether a helper parsed it."""
    record: list[bool] = []
    original = parse_ahead.FlowFiles.take

    def take(self: parse_ahead.FlowFiles, path: Path) -> parse_ahead.Parsed | None:
        parsed = original(self, path)
        record.append(parsed is not None)
        return parsed

    monkeypatch.setattr(parse_ahead, "MIN_FILES", 2)
    monkeypatch.setattr(parse_ahead.FlowFiles, "take", take)
    return record


def outcome(paths: list[str], ahead: bool) -> Any:
    """What loading gives, in a form two loadings can be compared by: every problem as shown,
    or every flow as a tree of its fields (spans as file, line and column)."""
    try:
        flows = load_flows(paths, runnable=False, parse_ahead=ahead)
    except LoadError as err:
        return ("problems", str(err))
    return ("flows", [tree(flow) for flow in flows])


def tree(item: Any, depth: int = 0) -> Any:
    assert depth < 60, "the model nests deeper than a flow can"
    if isinstance(item, (str, int, float, bool, type(None), bytes)):
        return item
    if isinstance(item, (list, tuple)):
        return [tree(one, depth + 1) for one in item]
    if isinstance(item, dict):
        return {repr(key): tree(value, depth + 1) for key, value in item.items()}
    if type(item).__module__.startswith("runner."):
        names = [f.name for f in dataclasses.fields(item)] if dataclasses.is_dataclass(item) else _slots(item)
        return (type(item).__name__, {name: tree(getattr(item, name, None), depth + 1) for name in names})
    return type(item).__name__  # a compiled template, a regex: made from the fields compared


def _slots(item: Any) -> list[str]:
    names = [n for c in type(item).__mro__ for n in getattr(c, "__slots__", ())]
    return names + sorted(vars(item)) if hasattr(item, "__dict__") else names


@contextmanager
def mutants(folder: Path, cases: list[tuple[Path, str]]) -> Iterator[list[str]]:
    """Each mutated text as a file of its own beside the flow it came from; every flow file of
    the folder, in the order a folder is searched."""
    written = []
    for i, (name, text) in enumerate(cases):
        path = folder / name.parent / f"mutant-{i}-{name.name}"
        path.write_text(text, "utf-8", errors="surrogateescape")
        written.append(path)
    try:
        yield [str(folder)]
    finally:
        for path in written:
            path.unlink()


def test_a_folder_of_flows_is_parsed_by_the_helpers_and_loads_as_in_one_process(folder, taken):
    serial = outcome([str(folder)], ahead=False)
    assert serial[0] == "flows" and len(serial[1]) >= 8
    assert taken and not any(taken)
    taken.clear()
    assert outcome([str(folder)], ahead=True) == serial
    assert taken and all(taken)  # every file came from a helper: nothing was parsed twice


@settings(
    max_examples=60,
    derandomize=True,  # the same examples on every machine
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(mutated(), min_size=1, max_size=4))
def test_mutated_files_parsed_ahead_give_the_same_flows_or_the_same_problems(folder, taken, cases):
    with mutants(folder, cases) as paths:
        serial = outcome(paths, ahead=False)
        taken.clear()
        ahead = outcome(paths, ahead=True)
    event(f"{serial[0]}, {sum(taken)} of {len(taken)} files from helpers")
    assert ahead == serial
    assert any(taken)  # the untouched flows of the folder, at least, came from the helpers


def test_a_helper_that_dies_leaves_its_files_to_the_loader(folder, taken, monkeypatch):
    original = parse_ahead._parsed
    seen: list[Path] = []

    def dies_on_the_third(path: Path) -> bytes:  # runs in the helper
        seen.append(path)
        if len(seen) == 3:
            os._exit(1)
        return original(path)

    monkeypatch.setattr(parse_ahead, "_parsed", dies_on_the_third)
    serial = outcome([str(folder)], ahead=False)
    taken.clear()
    assert outcome([str(folder)], ahead=True) == serial
    assert any(taken) and not all(taken)  # the dead helper's last files were parsed here


def test_few_files_are_parsed_in_this_process(folder):
    with parse_ahead.FlowFiles([str(folder / "checkout-new-card.yaml")], ahead=True):
        assert multiprocessing.active_children() == []  # forking would cost more than it saves
    with parse_ahead.FlowFiles([str(folder)], ahead=True) as found:
        assert len(found.files) < parse_ahead.MIN_FILES
        assert multiprocessing.active_children() == []


def test_the_command_line_parses_ahead(cli, write, taken):
    for i in range(4):  # steps that are skipped: nothing is sent
        write(
            f"name: Flow {i}\nsteps:\n  - {{name: S, when: '{{{{ false }}}}', request: {{url: 'http://x.test/'}}}}\n",
            f"f{i}.yaml",
        )
    folder = write("name: Last\nsteps:\n  - {name: S, when: '{{ false }}', request: {url: 'http://x.test/'}}\n").parent
    assert cli("validate", folder).code == 0
    assert taken == [True] * 5
    taken.clear()
    result = cli("run", folder)
    assert result.code == 0 and "5 flows: 5 passed" in result.out, result.out
    assert taken == [True] * 5
    assert multiprocessing.active_children() == []  # the helpers are gone once loading is done


PARTS = ["a", "b", "to-a", "..", ".", "f.yaml", "to-f.yaml", "missing.yaml", "to-missing.yaml"]


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(PARTS), min_size=1, max_size=5), absolute=st.booleans())
def test_a_flow_file_is_known_by_the_path_resolve_gives(tmp_path, monkeypatch, parts, absolute):
    """The loader resolves each folder once; whatever the links, it must name a file as
    `Path.resolve()` does, or a flow could load twice, or a cycle of `use` go unseen."""
    from runner.flowfile.loader import FlowLoader

    root = tmp_path / "tree"
    if not root.exists():
        for folder in ("a", "b", "a/a", "a/b", "b/a"):
            (root / folder).mkdir(parents=True)
        for folder in (root, root / "a", root / "b", root / "a" / "a"):
            (folder / "f.yaml").write_text("steps: []\n")
            (folder / "to-a").symlink_to(root / "a")
            (folder / "to-f.yaml").symlink_to(folder / "f.yaml")
            (folder / "to-missing.yaml").symlink_to(folder / "nowhere.yaml")
    monkeypatch.chdir(root / "a")
    path = Path(root if absolute else ".", *parts)
    loader = FlowLoader()
    assert loader.resolved(path) == path.resolve()
    assert loader.resolved(path) == path.resolve()  # again, from the folders it has resolved


def test_what_loading_made_stays_collectable_and_what_was_frozen_stays_frozen(folder):
    import gc
    import weakref

    class Cycle:
        pass

    def load_with_a_cycle() -> weakref.ref[Cycle]:
        made = Cycle()
        made.me = made  # type: ignore[attr-defined]  # garbage only the cycle collector frees
        load_flows([str(folder)], runnable=False)
        return weakref.ref(made)

    gc.collect()
    gone = load_with_a_cycle()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None  # moved to the oldest generation, not out of the collector's reach

    kept = Cycle()
    kept.me = kept  # type: ignore[attr-defined]
    gc.freeze()  # someone else's: loading must not thaw it
    try:
        frozen = gc.get_freeze_count()
        load_flows([str(folder)], runnable=False)
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
