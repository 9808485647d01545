"""Hostile flow files: every one is a located problem (exit 2, file:line:col), never a crash.

Each case here once ended in exit 3 (an internal error) or hung; see issue 8 §2.
"""

from __future__ import annotations

import os
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

STEP = "steps:\n  - name: s\n    request: {url: 'http://127.0.0.1:9/x'}\n"


def _nested_block_list(levels: int) -> str:
    return "vars:\n  a:\n" + "".join("  " * (i + 2) + "-\n" for i in range(levels))


# (id, flow text, expected "line:col" of the first problem, a fragment of the message)
CASES = [
    ("nul", "name: t\x00\n" + STEP, "1:8", "control character (U+0000, NUL)"),
    ("bel", STEP + "\x07\n", "4:1", "(U+0007, BEL)"),
    ("esc", "name: \x1b[31mred\n" + STEP, "1:7", "(U+001B, ESC)"),
    ("form-feed", "\x0c" + STEP, "1:1", "(U+000C, form feed)"),
    ("del", "name: t\x7f\n" + STEP, "1:8", "(U+007F, DEL)"),
    ("450-brackets", "vars: {a: " + "[" * 450 + "]" * 450 + "}\n" + STEP, "1:110", "nests deeper than 100 levels"),
    ("600-level-block-list", _nested_block_list(600) + STEP, "102:203", "nests deeper than 100 levels"),
    ("self-alias", "vars: &v {a: *v}\n" + STEP, "1:7", "nests deeper than 100 levels"),
    (
        "2000-parentheses",
        'vars: {a: "{{ ' + "(" * 2000 + "1" + ")" * 2000 + ' }}"}\n' + STEP,
        "1:11",
        "nests too deeply to compile",
    ),
    ("5000-term-sum", 'vars: {a: "{{ ' + "+".join(["1"] * 5000) + ' }}"}\n' + STEP, "1:11", "too deeply to compile"),
    ("huge-template", 'vars: {a: "{{ 1 }}' + "x" * 100_001 + '"}\n' + STEP, "1:11", "the limit is 100,000"),
    ("int-tag", "vars: {a: !!int one}\n" + STEP, "1:11", "`one` is not a valid int"),
    ("float-tag", "vars: {a: !!float one}\n" + STEP, "1:11", "`one` is not a valid float"),
    ("bool-tag", "vars: {a: !!bool maybe}\n" + STEP, "1:11", "`maybe` is not a valid bool"),
    ("5000-digit-int", "vars: {a: " + "9" * 5000 + "}\n" + STEP, "1:11", "an integer of 5,000 digits"),
    (
        "huge-regex-repeat",
        STEP + "    expect: {json: {$.a: {matches: 'a{99999999999}'}}}\n",
        "4:36",
        "invalid regular expression",
    ),
    ("nan-timeout", STEP.replace("request: {", "request: {timeout: .nan, "), "3:24", "expected a finite number"),
    ("inf-timeout", STEP.replace("request: {", "request: {timeout: .inf, "), "3:24", "expected a finite number"),
    ("huge-timeout", STEP.replace("request: {", "request: {timeout: 1e9, "), "3:24", "above the maximum 86400"),
    # libyaml refuses the escape itself (1:10); PyYAML's pure parser takes it, and we refuse the value (1:7)
    ("lone-surrogate", 'name: "\\ud800"\n' + STEP, "1:", "\\ud800"),
    (
        "unresolvable-ref",
        STEP + "    expect: {schema: {$ref: '#/nope'}}\n",
        "4:22",
        "a `$ref` that leads nowhere: #/nope",
    ),
    ("remote-ref", STEP + "    expect: {schema: {$ref: 'http://x.test/s.json'}}\n", "4:22", "leads nowhere"),
    ("1000-segment-capture", STEP + "    capture: {x: '$" + ".a" * 1000 + "'}\n", "4:18", "more than 100 segments"),
    ("long-use-path", "steps:\n  - use: " + "a" * 300 + ".yaml\n", "2:10", "the path is longer than the system allows"),
    ("nul-in-use-path", 'steps:\n  - use: "a\\0.yaml"\n', "2:10", "the path holds a NUL character"),
    ("dev-zero-schema", STEP + "    expect: {schema: /dev/zero}\n", "4:22", "not a regular file"),
    ("dev-zero-matrix", "matrix: {file: /dev/zero}\n" + STEP, "1:16", "not a regular file"),
]


@pytest.mark.parametrize(("text", "where", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_flow_is_a_located_problem(write, cli, text, where, message):
    path = write(text)
    for command in ("validate", "run"):
        result = cli(command, path)
        assert result.code == 2, result.output
        first = result.err.splitlines()[0]
        assert first.startswith(f"{path}:{where}"), first
        assert message in result.err
        assert "Traceback" not in result.output and "internal error" not in result.output


def test_a_chain_of_150_used_flows_is_a_located_problem(write, cli, tmp_path):
    for i in range(150):
        last = i == 149
        step = STEP if last else f"steps:\n  - use: f{i + 1}.yaml\n"
        write(f"name: f{i}\n" + step, f"f{i}.yaml")
    result = cli("validate", tmp_path / "f0.yaml")
    assert result.code == 2
    assert "`use` goes more than 32 flows deep here" in result.err
    assert "f31.yaml:3:10: error" in result.err


def test_timeout_written_as_1e3_is_a_number(write, cli):
    path = write(STEP.replace("request: {", "request: {timeout: 1e3, "))
    result = cli("validate", path)
    assert result.code == 0, result.output


def test_a_plain_large_flow_is_not_called_an_alias_bomb(write, cli):
    path = write("vars:\n  a: [" + "1, " * 100_001 + "]\n" + STEP)
    assert 0 < os.path.getsize(path) < 1024 * 1024
    result = cli("validate", path)
    assert result.code == 2
    assert "holds more than 100,000 values" in result.err
    assert "alias bomb" not in result.err


def test_a_20_mb_flow_is_refused_at_once(cli, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(STEP + "#" + "x" * 20_000_000 + "\n", "utf-8")
    result = cli("validate", path)
    assert result.code == 2
    # Refused on its size, before it is read or parsed (the bench of issue 8 times it by hand).
    assert "is 20,000," in result.err and "the limit is 1,048,576" in result.err


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("card,outcome\n4111,ok\n4000\n", "row 3 has 1 cells, the header 2"),
        ("card\n" + "9" * (129 * 1024) + "\n", "field larger than field limit"),
    ],
    ids=["short-row", "cell-over-128-KiB"],
)
def test_a_broken_matrix_csv_is_a_located_problem(write, cli, csv, message):
    write(csv, "rows.csv")
    path = write("matrix: {file: rows.csv}\n" + STEP)
    result = cli("validate", path)
    assert result.code == 2
    assert result.err.startswith(f"{path}:1:16: error: the matrix file `rows.csv` does not parse")
    assert message in result.err


def test_a_byte_order_mark_is_not_part_of_a_matrix_column_name(write, cli, tmp_path):
    (tmp_path / "rows.csv").write_bytes("\ufeffcard\n4111\n".encode())
    path = write("matrix: {file: rows.csv}\nsteps:\n  - request: {url: 'http://x.test/{{ card }}'}\n")
    result = cli("list", path)
    assert result.code == 0, result.output
    assert "(1 matrix rows)" in result.out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipes_are_never_opened(write, cli, tmp_path):
    os.mkfifo(tmp_path / "x.yaml")  # opening it would block for ever
    os.mkfifo(tmp_path / "rows.csv")
    path = write("matrix: {file: rows.csv}\n" + STEP, "flow.yaml")
    result = cli("validate", tmp_path)  # the folder scan passes the pipe by
    assert result.code == 2
    assert f"{path}:1:16: error: cannot read the matrix file `rows.csv`: it is not a regular file" in result.err
    assert cli("validate", tmp_path / "x.yaml").err.startswith(
        f"error: {tmp_path / 'x.yaml'}: it is not a regular file"
    )


@pytest.mark.parametrize("name", ["a" * 300 + ".yaml", "a\0.yaml"], ids=["over-255-characters", "nul"])
def test_a_path_the_system_refuses_is_a_usage_error(cli, name):
    result = cli("validate", name)
    assert result.code == 2
    assert "Traceback" not in result.output and "internal error" not in result.output


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("rows.yaml", "- a: " + "[" * 150 + "]" * 150 + "\n", "nests deeper than 100 levels"),
        ("schema.json", "[" * 100_000 + "]" * 100_000, "nests deeper than 100 levels"),
        ("schema.yaml", "a:\n" + "".join("  " * (i + 1) + "-\n" for i in range(300)), "nests deeper than 100 levels"),
    ],
    ids=["matrix-yaml", "schema-json-100k", "schema-yaml"],
)
def test_a_deeply_nested_data_file_is_a_located_problem(write, cli, name, text, message):
    write(text, name)
    use = "matrix: {file: rows.yaml}\n" + STEP if name == "rows.yaml" else STEP + f"    expect: {{schema: {name}}}\n"
    path = write(use)
    result = cli("validate", path)
    assert result.code == 2
    assert result.err.startswith(f"{path}:"), result.err
    assert message in result.err and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("request_line", "message"),
    [
        ("{url: 'http://127.0.0.1:99999/x'}", "has the port 99999; a port is 1 to 65535"),
        ("{method: POST, url: 'http://127.0.0.1:9/x', json: {a: \"{{ 'nan' | float }}\"}}", "Out of range float"),
    ],
    ids=["port-99999", "nan-in-a-json-body"],
)
def test_values_validate_accepts_fail_the_step_at_run_time(write, cli, request_line, message):
    path = write(f"steps:\n  - name: s\n    request: {request_line}\n")
    assert cli("validate", path).code == 0
    result = cli("run", path)
    assert result.code == 1
    assert f"{path}:3:14: error:" in result.out and message in result.out


@settings(max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 300), measured=st.integers(0, 300), limit=st.integers(1, 200))
def test_a_file_read_whole_or_refused_past_the_limit_whatever_stat_said(tmp_path, size, measured, limit):
    """The file may have grown (or shrunk) between its stat and its read: what is read is all
    of it, or it is refused as over the limit; never a text cut at what stat said."""
    from types import SimpleNamespace

    from runner.flowfile import files as fs

    path = tmp_path / "grows.yaml"
    path.write_bytes(b"x" * size)
    stat = SimpleNamespace(st_size=min(measured, limit), st_mode=0o100644)  # what stat said, within the limit
    with mock.patch.object(fs, "_regular_file", return_value=stat):
        if size > limit:
            with pytest.raises(fs.UnreadableFileError, match="over"):
                fs.read_text(path, limit=limit)
        else:
            assert fs.read_text(path, limit=limit) == "x" * size
