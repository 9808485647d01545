"""Bad input of every kind ends in exit 2 and a located, one-paragraph error, never a traceback."""

from __future__ import annotations

import pytest

STEP = "steps:\n  - request: {url: 'http://x.test/'}\n"

# (id, flow text, expected "line:col", a fragment of the message)
CASES = [
    ("yaml-syntax", "steps: [\n", "2:1", "invalid YAML"),
    ("yaml-indentation", "name: x\n  steps: 1\n", "2:8", "mapping values are not allowed"),
    ("empty-file", "", "1:1", "got an empty file"),
    ("list-not-mapping", "- request: {url: x}\n", "1:1", "must be a mapping with `steps:`, got a array"),
    ("scalar-file", "hello\n", "1:1", "got a string"),
    ("duplicate-key", "name: a\nname: b\n" + STEP, "2:1", "duplicate key `name` (first defined at line 1)"),
    ("python-tag", "name: !!python/object/apply:os.system [ls]\n" + STEP, "1:7", "YAML tag"),
    ("custom-tag", "name: !include other.yaml\n" + STEP, "1:7", "YAML tag `!include`"),
    (
        "merge-key",
        "steps:\n  - <<: {name: x}\n    request: {url: 'http://x/'}\n",
        "2:5",
        "YAML merge keys (<<) are not supported",
    ),
    ("unknown-top-key", "stpes: []\n" + STEP, "1:1", "did you mean `steps`?"),
    (
        "unknown-step-key",
        "steps:\n  - request: {url: 'http://x/'}\n    exepct: {status: 200}\n",
        "3:5",
        "did you mean `expect`?",
    ),
    ("unknown-request-key", "steps:\n  - request: {url: 'http://x/', jsn: {}}\n", "2:33", "did you mean `json`?"),
    ("steps-not-list", "steps: {a: 1}\n", "1:8", "expected a list of steps"),
    ("steps-empty", "steps: []\n", "1:8", "got an empty list"),
    (
        "status-wrong-type",
        "steps:\n  - request: {url: 'http://x/'}\n    expect: {status: two hundred}\n",
        "3:22",
        "is not a status class such as 2xx",
    ),
    ("missing-request", "steps:\n  - name: nothing\n", "2:5", "a step has neither `request` nor `use`"),
    ("missing-url", "steps:\n  - request: {method: GET}\n", "2:14", "missing the required key `url`"),
    ("bad-method", "steps:\n  - request: {method: FETCH, url: 'http://x/'}\n", "2:23", "`FETCH` is not one of GET"),
    (
        "unknown-operator",
        "steps:\n  - request: {url: 'http://x/'}\n    expect:\n      json: {$.a: {gtt: 1}}\n",
        "4:20",
        "did you mean `gt`?",
    ),
    ("template-syntax", "steps:\n  - request: {url: 'http://x/{{ a + }}'}\n", "2:20", "template syntax error"),
    (
        "template-undefined",
        "steps:\n  - request: {url: 'http://x/{{ user_id }}'}\n",
        "2:20",
        "`user_id` is not defined",
    ),
    (
        "template-typo-hint",
        "vars: {user_id: 1}\nsteps:\n  - request: {url: 'http://x/{{ user_idd }}'}\n",
        "3:20",
        "did you mean `user_id`?",
    ),
    (
        "capture-used-before",
        "steps:\n  - request: {url: 'http://x/{{ token }}'}\n  - request: {url: 'http://x/'}\n    capture: {token: $.t}\n",
        "2:20",
        "`token` is not defined",
    ),
    (
        "jsonpath-expect",
        "steps:\n  - request: {url: 'http://x/'}\n    expect:\n      json: {'$.data[': 1}\n",
        "4:14",
        "invalid JSONPath `$.data[`",
    ),
    (
        "jsonpath-capture",
        "steps:\n  - request: {url: 'http://x/'}\n    capture: {id: 'data.id'}\n",
        "3:19",
        "a JSONPath starts with `$`",
    ),
    (
        "capture-two-sources",
        "steps:\n  - request: {url: 'http://x/'}\n    capture: {id: {jsonpath: $.a, header: X}}\n",
        "3:15",
        "exactly one of jsonpath, header, cookie, css, xpath, regex, value",
    ),
    (
        "capture-bad-name",
        "steps:\n  - request: {url: 'http://x/'}\n    capture: {order-id: $.a}\n",
        "3:15",
        "`order-id` is not a name",
    ),
    ("two-bodies", "steps:\n  - request: {url: 'http://x/', json: {}, body: x}\n", "2:43", "has `json` and `body`"),
    (
        "bad-regex",
        "steps:\n  - request: {url: 'http://x/'}\n    expect:\n      json: {$.a: {matches: '(a'}}\n",
        "4:29",
        "invalid regular expression",
    ),
    (
        "duplicate-step-id",
        "steps:\n  - {id: a, request: {url: 'http://x/'}}\n  - {id: a, request: {url: 'http://x/'}}\n",
        "3:10",
        "two steps have the id `a`",
    ),
    (
        "missing-schema-file",
        "steps:\n  - request: {url: 'http://x/'}\n    expect: {schema: nope.json}\n",
        "3:22",
        "cannot read the JSON Schema file `nope.json`",
    ),
    ("negative-timeout", "http: {timeout: -1}\n" + STEP, "1:17", "greater than 0"),
    (
        "that-syntax",
        "steps:\n  - request: {url: 'http://x/'}\n    expect: {that: ['response.status ==']}\n",
        "3:21",
        "template syntax error",
    ),
    ("wrong-type-tags", "tags: smoke\n" + STEP, "1:7", "expected a list of tags"),
]


@pytest.mark.parametrize(("text", "where", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_flow_is_reported_with_its_location(write, cli, text, where, message):
    path = write(text)
    result = cli("validate", path)
    assert result.code == 2
    assert f"{path}:{where}: error:" in result.err
    assert message in result.err
    assert "Traceback" not in result.output


def test_the_run_command_refuses_a_flow_that_does_not_load(write, cli):
    path = write("steps:\n  - request: {url: 'http://x/{{ nope }}'}\n")
    result = cli("run", path)
    assert result.code == 2
    assert "`nope` is not defined" in result.err
    assert "nothing was run" in result.err


def test_three_problems_in_one_file_are_reported_together(write, cli):
    path = write(
        """
        steps:
          - name: one
            request: {url: "http://x/{{ a + }}"}
            exepct: {status: 200}
            capture:
              x: $.data[
        """
    )
    result = cli("validate", path)
    assert result.code == 2
    assert [line.split(": error")[0] for line in result.err.splitlines() if ": error:" in line] == [
        f"{path}:3:20",
        f"{path}:4:5",
        f"{path}:6:10",
    ]
    assert "3 problems found" in result.err


def test_the_offending_line_is_quoted_with_a_caret(write, cli):
    path = write("steps:\n  - request: {url: 'http://x/'}\n    exepct: {}\n")
    lines = cli("validate", path).err.splitlines()
    quoted = lines.index("   3 |     exepct: {}")
    assert lines[quoted + 1] == "           ^"


def test_a_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("validate", tmp_path / "nope.yaml")
    assert result.code == 2
    assert "nope.yaml: no such file or folder" in result.err


def test_a_file_that_is_not_utf8_is_reported(write, cli, tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    result = cli("validate", path)
    assert result.code == 2
    assert "it is not UTF-8 text" in result.err


def test_an_alias_bomb_fails_fast(write, cli):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    path = write("\n".join(lines) + "\n" + STEP)
    result = cli("validate", path)
    assert result.code == 2
    assert result.err.startswith(f"{path}:5:1: error:")  # a4, whose expansion crosses the bound
    assert "expands to more than 100,000 values" in result.err
    assert "Traceback" not in result.output


def test_problems_in_several_files_are_all_reported(write, cli, tmp_path):
    write("steps: []\n", "a.yaml")
    write("steps:\n  - request: {url: 'http://x/{{ b }}'}\n", "b.yaml")
    result = cli("validate", tmp_path)
    assert result.code == 2
    assert "a.yaml:1:8" in result.err
    assert "b.yaml:2:20" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "Missing argument 'PATHS...'"),
        (["run", "--jobs", "0", "x.yaml"], "--jobs"),
        (["run", "--var", "novalue", "x.yaml"], "expected NAME=VALUE"),
        (["run", "--bogus", "x.yaml"], "No such option '--bogus'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["run", "-v", "-q", "x.yaml"], "cannot be used together"),
    ],
    ids=["no-paths", "jobs-zero", "var-without-value", "unknown-option", "unknown-command", "verbose-and-quiet"],
)
def test_a_wrong_command_line_is_a_usage_error(cli, args, message):
    result = cli(*args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.output


def test_a_missing_env_file_is_a_usage_error(write, cli):
    path = write(STEP)
    result = cli("run", "--env-file", "/nonexistent/.env", path)
    assert result.code == 2
    assert "--env-file /nonexistent/.env: cannot read it" in result.err
