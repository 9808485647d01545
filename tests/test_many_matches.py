"""A JSONPath that can match several values (issue 11): `count`, `all` and `any`, and never a
silent first match for a plain value or operator map."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.flowfile.jsonpaths import compile_jsonpath

ITEMS = "[{id: 1, price: 5, author: alice}, {id: 3, price: 7, author: bob}, {id: 4, price: 0, author: alice}]"


def flow(expect: str) -> str:
    return (
        "name: Many\nsteps:\n  - name: Echo\n"
        f"    request: {{method: POST, url: '{{{{ env.BASE }}}}/echo', json: {{items: {ITEMS}}}}}\n"
        f"    expect: {{json: {{{expect}}}}}\n"
    )


@pytest.fixture
def check(cli, write, live_server, tmp_path):
    def run(expect: str):
        report = tmp_path / "r.json"
        result = cli("run", "--report", report, write(flow(expect)), env={"BASE": live_server})
        assert result.code in (0, 1), result.output
        data = json.loads(report.read_text()) if report.exists() else None
        return result, data

    return run


@pytest.mark.parametrize(
    ("expect", "passes"),
    [
        ("'$.json.items[*]': {count: 3}", True),
        ("'$.json.items[*]': {count: 2}", False),
        ("'$.json.items[*]': {count: {gt: 2}}", True),
        ("'$.json.items[*].price': {all: {ge: 0}}", True),
        ("'$.json.items[*].price': {all: {gt: 0}}", False),
        ("'$.json.items[*].id': {any: 3}", True),
        ("'$.json.items[*].id': {any: 2}", False),
        ("'$.json.items[*].id': {any: {gt: 3}}", True),
        ("'$.json.items[?(@.author == \"alice\")].id': {count: 2}", True),
        ("'$.json.items[?(@.author == \"bob\")].id': 3", True),  # one match: checked as one value
        ("'$.json.items[0].id': 1", True),  # a definite path keeps its meaning
        ("'$.json.nothing[*]': {count: 0}", True),
    ],
)
def test_count_all_any(check, expect, passes):
    result, _ = check(expect)
    assert (result.code == 0) is passes, result.output


def test_a_plain_value_on_several_matches_fails_and_names_count_all_any(check):
    result, report = check("'$.json.items[?(@.author == \"alice\")].id': {len: 2}")
    assert result.code == 1
    assert "the path matched 2 values" in result.out and "`count`, `all` or `any`" in result.out
    failed = report["flows"][0]["steps"][0]["assertions"][0]
    assert failed["passed"] is False and failed["actual"] == [1, 4]


def test_all_over_no_match_fails_and_says_so(check):
    result, _ = check("'$.json.nothing[*]': {all: {gt: 0}}")
    assert result.code == 1
    assert "`all` needs at least one match, and there is none" in result.out


def test_all_names_the_first_failing_match(check):
    result, _ = check("'$.json.items[*].price': {all: {gt: 0}}")
    assert "1 of 3 matches fail, the first is match 3" in result.out


def test_count_outside_a_jsonpath_is_a_load_error(cli, write):
    text = "name: X\nsteps:\n  - request: {url: 'http://x.test/'}\n    expect: {headers: {X-Id: {count: 1}}}\n"
    result = cli("validate", write(text))
    assert result.code == 2 and "`count` checks the matches of a JSONPath, not one value" in result.err


SEGMENTS = st.sampled_from(["a", "b", "0", "*", "[0]", "[*]", "[1:2]", "..c", "[?(@.x == 1)]", "['a','b']"])


@settings(max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SEGMENTS, min_size=1, max_size=6))
def test_a_definite_path_never_finds_more_than_one_value(segments):
    text = "$" + "".join(s if s.startswith(("[", "..")) else f".{s}" for s in segments)
    try:
        path = compile_jsonpath(text)
    except Exception:
        return
    documents = [
        {"a": {"a": 1, "b": [1, 2]}, "b": [{"a": 1}, {"a": 2}], "c": 3, "0": [1, 2]},
        [{"a": [1, 2], "x": 1, "c": {"c": 1}}, {"a": 2, "x": 1}],
    ]
    if path.definite:
        for document in documents:
            assert len(path.find(document)) <= 1, text


@pytest.mark.parametrize(
    ("key", "value", "passes"),
    [
        ("'$.json.items[?(@.id == {{ wanted }})].price'", "7", True),
        ("'$.json.items[?(@.id == {{ wanted }})].price'", "5", False),
        ("'$.json.items[?(@.author == \"{{ who }}\")].id'", "{count: 2}", True),
        ("'$.json.items[{{ wanted - 2 }}].author'", "bob", True),
    ],
)
def test_a_jsonpath_key_may_hold_templates(cli, write, live_server, key, value, passes):
    text = flow(f"{key}: {value}").replace("name: Many\n", "name: Many\nvars: {wanted: 3, who: alice}\n")
    result = cli("run", write(text), env={"BASE": live_server})
    assert (result.code == 0) is passes, result.output


def test_a_templated_jsonpath_is_checked_at_load(cli, write):
    bad = flow("'$.json.items[?(@.id == {{ wanted }})': 1").replace("name: Many\n", "name: Many\nvars: {wanted: 3}\n")
    result = cli("validate", write(bad))
    assert result.code == 2 and "invalid JSONPath" in result.err and "(its templates aside)" in result.err
    unknown = flow("'$.json.items[{{ nope }}].id': 1")
    result = cli("validate", write(unknown, "unknown.yaml"))
    assert result.code == 2 and "`nope`" in result.err


def test_a_rendered_jsonpath_that_does_not_parse_fails_the_step(cli, write, live_server):
    text = flow("'$.json.items[{{ part }}].id': 1").replace("name: Many\n", "name: Many\nvars: {part: '?('}\n")
    result = cli("run", write(text), env={"BASE": live_server})
    assert result.code == 1 and "the rendered JSONPath `$.json.items[?(].id` does not parse" in result.out
