"""Safe YAML with positions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.flowfile.source import SourceFile
from runner.flowfile.yaml_source import parse_yaml

ROOT = Path(__file__).resolve().parents[1]


def parse(text):
    doc, problems = parse_yaml(SourceFile("f.yaml", text))
    return doc, problems


def test_positions_of_keys_and_values_are_kept():
    doc, _ = parse("a:\n  b: [1, {c: x}]\n")
    assert (doc.key_span(("a", "b")).line, doc.key_span(("a", "b")).column) == (2, 3)
    assert (doc.span(("a", "b", 1, "c")).line, doc.span(("a", "b", 1, "c")).column) == (2, 14)


def test_only_true_and_false_are_booleans():
    doc, _ = parse("a: yes\nb: off\nc: NO\nd: true\ne: False\n")
    assert doc.data == {"a": "yes", "b": "off", "c": "NO", "d": True, "e": False}


def test_keys_stay_as_written():
    doc, _ = parse("on: 1\n200: ok\nnull: x\n")
    assert doc.data == {"on": 1, "200": "ok", "null": "x"}


def test_dates_stay_text():
    doc, _ = parse("d: 2030-01-01\n")
    assert doc.data == {"d": "2030-01-01"}


def test_aliases_within_the_bound_are_expanded():
    doc, problems = parse("a: &x {k: v}\nb: *x\n")
    assert not problems
    assert doc.data == {"a": {"k": "v"}, "b": {"k": "v"}}


def _both_loaders(text, monkeypatch):
    import runner.flowfile.yaml_source as ys

    fast = ys.parse_yaml_documents(SourceFile("f.yaml", text))
    monkeypatch.setattr(ys, "_FAST", None)
    pure = ys.parse_yaml_documents(SourceFile("f.yaml", text))
    monkeypatch.undo()
    return fast, pure


@pytest.mark.parametrize(
    "name",
    sorted(
        str(p.relative_to(ROOT)) for p in [*ROOT.glob("flows/bigcommerce/**/*.yaml"), *ROOT.glob("tests/flows/*.yaml")]
    ),
)
def test_libyaml_and_the_pure_loader_give_the_same_data_and_places(name, monkeypatch):
    import runner.flowfile.yaml_source as ys

    assert ys._FAST is not None, "PyYAML is built with libyaml here; the fast path is the one in use"
    fast, pure = _both_loaders((ROOT / name).read_text(), monkeypatch)
    assert [(d.data, places(d), p) for d, p in fast] == [(d.data, places(d), p) for d, p in pure]


def places(doc):
    """Every value's and key's place, as a person reads it."""
    return {path: (doc.span(path), doc.key_span(path)) for path in doc.values}


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 150 + "]" * 150,
        "a: &v {b: *v}",
        "a: !!int one",
        "a: 1e3\nb: on\nc: true",
        "a: 1\na: 2",
        "- a\n--- \n- b",
    ],
    ids=["deep", "self-alias", "bad-tag", "yaml-1.2-scalars", "duplicate", "two-documents"],
)
def test_both_loaders_apply_the_same_rules(text, monkeypatch):
    fast, pure = _both_loaders(text, monkeypatch)
    assert [d.data for d, _ in fast] == [d.data for d, _ in pure]
    assert [[p.message for p in problems] for _, problems in fast] == [
        [p.message for p in problems] for _, problems in pure
    ]


PLAIN_WORDS = ["", "~", "null", "Null", "NULL", "true", "False", "yes", "on", "1", "-1", "+1", "0x1F", "0o17", "1_000",
               "1.5", "1e3", "-.inf", ".NaN", "2030-01-01", "<<", "=", "a b", "POST", "{{ x }}", "1:2"]  # fmt: skip


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.one_of(st.sampled_from(PLAIN_WORDS), st.text(alphabet="0123456789+-._:eExXoOinfaNTtruFlsyY~ ", max_size=12)))
def test_a_plain_scalar_gets_the_tag_its_text_resolves_to_every_time(text):
    """Speed (issue 10): the tags of plain scalars are remembered by text. Whatever the text, the
    tag is the one YAML's resolvers (set to YAML 1.2's booleans and floats) give, met first or again."""
    import yaml

    from runner.flowfile import yaml_source

    class Reference(yaml.SafeLoader):
        pass

    yaml_source._yaml_1_2(Reference)
    expected = Reference("").resolve(yaml.ScalarNode, text, (True, False))
    for loader in (yaml_source._Loader, yaml_source._FAST):
        if loader is not None:
            made = loader(SourceFile("f.yaml", ""))
            assert [made.resolve(yaml.ScalarNode, text, (True, False)) for _ in range(2)] == [expected] * 2
            assert made.resolve(yaml.ScalarNode, text, (False, True)) == "tag:yaml.org,2002:str"  # quoted


def test_the_remembered_tags_are_bounded(monkeypatch):
    from runner.flowfile import yaml_source

    monkeypatch.setattr(yaml_source, "_PLAIN_TAGS", {})
    doc, _ = parse("".join(f"k{i}: {i}\n" for i in range(yaml_source._PLAIN_TAG_COUNT + 100)) + "long: " + "x" * 65)
    assert doc.data["k4100"] == 4100 and doc.data["long"] == "x" * 65
    assert len(yaml_source._PLAIN_TAGS) == yaml_source._PLAIN_TAG_COUNT and "x" * 65 not in yaml_source._PLAIN_TAGS
