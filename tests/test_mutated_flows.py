"""The repository's own flows, mutated by hypothesis, never crash apiflow (issue 8 §2).

Each example takes one flow of flows/bigcommerce (in a copy of the folder, so `use:` still
resolves), applies a few mutations of the kinds people and fuzzers make (cut text, pasted junk,
control characters, template and YAML syntax, a moved line, a wrong indentation, a value swapped
for another), then runs `apiflow validate` and `apiflow run` on it against the sandbox. Whatever
the mutation, the exit is 0, 1 or 2; exit 2 starts with `file:line:col: error:`; no traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runner.cli import main
from runner.sandbox.serve import environment, serve_in_thread

SOURCE = Path(__file__).resolve().parents[1] / "flows" / "bigcommerce"
EXAMPLES = SOURCE.parent / "examples"  # beyond JSON: auth, multipart, files, css, xpath, bytes...
LOCATED = re.compile(r"^\S[^\n]*?:\d+:\d+: error: ")

# What gets pasted: YAML and template syntax, control characters, odd Unicode, big numbers.
SNIPPETS = st.sampled_from(
    ["{{", "}}", "{%", "%}", "{{ x }}", "{{ 9 ** 9 ** 9 }}", "&a", "*a", "!!int", "!!python/object", "<<: *a",
     "- ", ": ", ":", "#", "'", '"', "\\", "\t", "\x00", "\x07", "\x1b", "\x7f", "\ufeff", "\u202e", "ü", "𝕏",
     "[", "]", "{", "}", "---", "...", "$", "$..", "$[?(@.a)]", ".nan", "1e999", "9" * 50, "~", "null", "yes",
     "use: lib/cart-to-order.yaml", "steps:", "request:", "expect:", "capture:", "retry: {attempts: 0}",
     "when: ", "matrix: {file: /dev/zero}", "schema: {$ref: '#/x'}", "timeout: -1", "\n", "\n  ", "\n    - ",
     "{file: /dev/zero}", "{file: ../../etc}", "css: {'a[': x}", "xpath: {'//[': 1}", "{regex: '('}", "group: 9",
     "{count: -1}", "{all: {}}", "auth: {digest: {}}", "sleep: 1e9", "'{{ 999 }}'", "multipart: {}", "attr: "]
)  # fmt: skip
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def mutated(draw: st.DrawFn, source: Path = SOURCE) -> tuple[Path, str]:
    name = draw(st.sampled_from(sorted(p.relative_to(source) for p in source.rglob("*.yaml"))))
    text = (source / name).read_text("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["cut", "paste", "junk", "line", "indent", "value"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind in ("paste", "junk"):
            text = text[:at] + draw(SNIPPETS if kind == "paste" else TEXT) + text[at:]
        elif kind == "line":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines.insert(j, lines.pop(i) if draw(st.booleans()) else lines[i])
            text = "\n".join(lines)
        elif kind == "indent":
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = " " * draw(st.integers(0, 9)) + lines[i].lstrip()
            text = "\n".join(lines)
        else:
            values = [m for m in re.finditer(r"(?<=: )[^\s{}\[\],#][^\n,}\]]*", text)]
            if values:
                target = draw(st.sampled_from(values))
                replacement = draw(st.one_of(SNIPPETS, TEXT, st.integers().map(str)))
                text = text[: target.start()] + replacement + text[target.end() :]
    return name, text


@pytest.fixture(scope="module")
def flows_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of flows/bigcommerce, and the BC_* variables pointing at a sandbox for the module."""
    folder = tmp_path_factory.mktemp("mutated") / "bigcommerce"
    shutil.copytree(SOURCE, folder)
    with serve_in_thread() as url, mock.patch.dict(os.environ, environment(url)):
        yield folder


@pytest.fixture(scope="module")
def examples_copy(tmp_path_factory: pytest.TempPathFactory, live_server: str) -> Iterator[Path]:
    """A copy of flows/examples, with EXAMPLES_URL pointing at the test API."""
    folder = tmp_path_factory.mktemp("mutated") / "examples"
    shutil.copytree(EXAMPLES, folder)
    with mock.patch.dict(os.environ, {"EXAMPLES_URL": live_server}):
        yield folder


def _apiflow(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@settings(
    max_examples=250,
    derandomize=True,  # seeded: the same examples on every machine, so CI is repeatable
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutated())
def test_a_mutated_flow_is_a_result_or_a_located_problem_never_a_crash(flows_copy, case):
    _check_mutated(flows_copy, *case)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutated(EXAMPLES))
def test_a_mutated_example_beyond_json_is_a_result_or_a_located_problem(examples_copy, case):
    _check_mutated(examples_copy, *case)


def _check_mutated(folder: Path, name: Path, text: str) -> None:
    path = folder / name
    original = path.read_text("utf-8")
    path.write_text(text, "utf-8", errors="surrogateescape")
    try:
        for command in ("validate", "run"):
            code, out, err = _apiflow(command, "-q", str(path)) if command == "run" else _apiflow(command, str(path))
            event(f"{command} exit {code}")  # --hypothesis-show-statistics shows the mix
            assert code in (0, 1, 2), (command, code, out, err)
            assert "Traceback" not in out + err and "internal error" not in out + err, (command, out, err)
            if code == 2:
                assert LOCATED.match(err), (command, err)
            if code == 2 and command == "validate":
                break  # run would report the same problems
    finally:
        path.write_text(original, "utf-8")
