"""Plain JSONPaths (`$.data.items[0].id`) are followed without jsonpath-ng, with its results.

Generated paths and documents are checked against jsonpath-ng itself: the same matches, the same
refusals, the same `definite`, the same explanation of a miss.
"""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext.parser import parse

from runner.flowfile.jsonpaths import JsonPath, JsonPathSyntaxError, _parsed, compile_jsonpath
from runner.limits import MAX_JSONPATH_SEGMENTS

NAMES = st.sampled_from(["a", "b", "data", "id", "_x", "items", "where", "true", "null", "false", "wherenot", "A1"])
INDEXES = st.integers(min_value=-4, max_value=4)
SEGMENTS = st.lists(st.one_of(NAMES.map(lambda n: f".{n}"), INDEXES.map(lambda i: f"[{i}]")), min_size=1, max_size=6)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3))
KEYS = st.sampled_from(["a", "b", "data", "id", "_x", "items", "where", "true", "null", "A1", "0"])
DOCUMENTS = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=25
)


def jsonpath_ng_finds(text: str, data: object) -> list[object]:
    return [m.value for m in parse(text).find(data)]


def along(segments: list[str], draw: st.DrawFn) -> object:
    """A document that holds the path's segments, each with some chance, so most paths get far
    (and meet a text, a number or a list of the wrong length on the way)."""
    value: object = draw(DOCUMENTS)
    for segment in reversed(segments):
        if not draw(st.integers(0, 5)):
            continue  # a miss here: whatever DOCUMENTS drew
        if segment.startswith("."):
            value = {**draw(st.dictionaries(KEYS, LEAVES, max_size=2)), segment[1:]: value}
        else:
            index = int(segment[1:-1])
            items = draw(st.lists(LEAVES, max_size=4))
            if -len(items) <= index < len(items):
                items[index] = value
            value = draw(st.sampled_from([items, tuple(items), "".join(map(str, items))]))
    return value


@settings(max_examples=600, derandomize=True)
@given(segments=SEGMENTS, data=st.data())
def test_a_plain_path_finds_what_jsonpath_ng_finds(segments, data):
    text = "$" + "".join(segments)
    document = data.draw(st.composite(lambda draw: along(segments, draw))())
    try:
        expected = jsonpath_ng_finds(text, document)
    except Exception:  # jsonpath-ng refuses it (`$.where`): so must we
        expected = None
    try:
        path = compile_jsonpath(text)
    except JsonPathSyntaxError:
        assert expected is None
        return
    assert expected is not None
    found = path.find(document)
    assert found == expected and all(a is b for a, b in zip(found, expected, strict=True))
    assert path.definite == JsonPath(text, _parsed(text)).definite
    if not found:
        assert path.explain_miss(document) == JsonPath(text, _parsed(text)).explain_miss(document)


@settings(max_examples=300, derandomize=True)
@given(text=st.text(alphabet="$.[]-0123456789abwhere_ @'*?", max_size=14), data=DOCUMENTS)
def test_any_text_is_read_as_jsonpath_ng_reads_it(text, data):
    """Paths that only look plain (`$.a[01]`, `$. a`, `$.where`...) get jsonpath-ng's answer."""
    try:
        expected: list[object] | None = jsonpath_ng_finds(text, data)
    except Exception:
        expected = None
    try:
        found: list[object] | None = compile_jsonpath(text).find(data)
    except JsonPathSyntaxError:
        found = None
    if expected is not None and found is None:  # refused by our own rules: `$` first, depth
        assert not text.strip().startswith("$")
        return
    assert found == expected


def test_a_plain_path_is_still_bounded_in_segments():
    long = "$" + ".a" * MAX_JSONPATH_SEGMENTS
    try:
        compile_jsonpath(long)
    except JsonPathSyntaxError as err:
        assert str(MAX_JSONPATH_SEGMENTS) in str(err)
    else:
        raise AssertionError("a path past the segment limit was accepted")
    assert compile_jsonpath("$" + ".a" * (MAX_JSONPATH_SEGMENTS - 2)).find({}) == []


def test_a_flow_of_plain_paths_never_imports_jsonpath_ng(tmp_path):
    flow = tmp_path / "f.yaml"
    flow.write_text(
        "name: F\nsteps:\n  - name: S\n    request: {url: 'http://127.0.0.1:9/'}\n"
        "    expect: {json: {'$.data.items[0].id': 1}}\n    capture: {x: '$.data[-1]'}\n"
    )
    code = (
        "import sys; from runner.flowfile.loader import load_flows; load_flows([sys.argv[1]]); "
        "print('jsonpath_ng' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code, str(flow)], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
    flow.write_text(flow.read_text().replace("$.data[-1]", "$.data[?(@.id > 1)].id"))
    shown = subprocess.run([sys.executable, "-c", code, str(flow)], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "True"
