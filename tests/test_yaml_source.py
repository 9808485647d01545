"""Safe YAML with positions."""

from __future__ import annotations

from runner.source import SourceFile
from runner.yaml_source import parse_yaml


def parse(text):
    doc, problems = parse_yaml(SourceFile("f.yaml", text))
    return doc, problems


def test_positions_of_keys_and_values_are_kept():
    doc, _ = parse("a:\n  b: [1, {c: x}]\n")
    assert (doc.keys[("a", "b")].line, doc.keys[("a", "b")].column) == (2, 3)
    assert (doc.values[("a", "b", 1, "c")].line, doc.values[("a", "b", 1, "c")].column) == (2, 14)


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
