"""The `apiflow` command end to end against the test API on a real socket."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from runner import __version__

TWO_STEPS = """
name: Things
tags: [smoke]
vars:
  base: "{{ env.BASE_URL }}"
  label: from-flow
steps:
  - name: Create
    request: {method: POST, url: "{{ base }}/things", json: {name: "{{ label }}"}}
    expect: {status: 201}
    capture: {thing_id: $.data.id}
  - name: Read
    request: {url: "{{ base }}/things/{{ thing_id }}"}
    expect: {json: {$.data.name: "{{ label }}"}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_passing_flow_exits_0_with_a_line_per_step(write, cli, live_server):
    result = cli("run", write(TWO_STEPS), env={"BASE_URL": live_server})
    assert result.code == 0, result.output
    assert "✓ Things" in result.out
    assert "  ✓ Create  201" in result.out
    assert "  ✓ Read    200" in result.out
    assert "1 flow: 1 passed, 0 failed · 2 steps: 2 passed, 0 failed, 0 not run" in result.out


def test_a_failing_flow_exits_1(write, cli, live_server):
    result = cli("run", write(TWO_STEPS.replace("status: 201", "status: 200")), env={"BASE_URL": live_server})
    assert result.code == 1
    assert "✗ status  (" in result.out
    assert "· Read    not run" in result.out


def test_an_unreachable_host_fails_the_step_in_one_line_after_earlier_steps(write, cli, live_server):
    flow = TWO_STEPS.replace('url: "{{ base }}/things/{{ thing_id }}"', f'url: "http://127.0.0.1:{free_port()}/x"')
    result = cli("run", write(flow), env={"BASE_URL": live_server})
    assert result.code == 1
    assert "  ✓ Create  201" in result.out
    errors = [line for line in result.out.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "cannot connect to 127.0.0.1:" in errors[0]
    assert "connection refused" in errors[0]


def test_a_timeout_fails_the_step_in_one_line(write, cli, live_server):
    flow = TWO_STEPS.replace(
        'url: "{{ base }}/things/{{ thing_id }}"', 'url: "{{ base }}/slow?seconds=2", timeout: 0.2'
    )
    result = cli("run", write(flow), env={"BASE_URL": live_server})
    assert result.code == 1
    assert "  ✓ Create  201" in result.out
    assert "error: no complete response from 127.0.0.1:" in result.out and "within 0.2 s" in result.out


def test_a_non_json_body_fails_a_json_assertion_with_the_reason(write, cli, live_server):
    flow = TWO_STEPS.replace('url: "{{ base }}/things/{{ thing_id }}"', 'url: "{{ base }}/text"')
    result = cli("run", write(flow), env={"BASE_URL": live_server})
    assert result.code == 1
    assert "  ✓ Create  201" in result.out
    assert "why:      the response body is not JSON (text/plain; charset=utf-8, 23 bytes)" in result.out
    assert "< hello, this is not JSON" in result.out  # the excerpt, redacted, is the response's own line
    assert 'expected: "from-flow"' in result.out  # the template, rendered


@pytest.mark.parametrize(
    ("args", "env_file", "environment", "expected"),
    [
        ([], None, {}, "from-flow"),
        ([], None, {"LABEL": "from-env"}, "from-env"),
        ([], "LABEL=from-file\n", {"LABEL": "from-env"}, "from-file"),
        (["--var", "label=from-cli"], "LABEL=from-file\n", {"LABEL": "from-env"}, "from-cli"),
    ],
    ids=["flow-default", "process-env", "env-file-over-env", "var-over-all"],
)
def test_variable_precedence(write, cli, live_server, tmp_path, args, env_file, environment, expected):
    flow = write(TWO_STEPS.replace("label: from-flow", "label: \"{{ env.LABEL | default('from-flow') }}\""))
    extra = []
    if env_file:
        (tmp_path / ".env").write_text(env_file)
        extra = ["--env-file", str(tmp_path / ".env")]
    result = cli("run", "-v", *args, *extra, flow, env={"BASE_URL": live_server, **environment})
    assert result.code == 0, result.output
    assert f'{{"name":"{expected}"}}' in result.out


def test_tag_selects_flows(write, cli, live_server, tmp_path):
    write(TWO_STEPS, "a.yaml")
    write(TWO_STEPS.replace("tags: [smoke]", "tags: [slow]").replace("name: Things", "name: Other"), "b.yaml")
    result = cli("run", "--tag", "slow", tmp_path, env={"BASE_URL": live_server})
    assert "Other" in result.out
    assert "Things" not in result.out
    assert cli("run", "--tag", "nope", tmp_path).code == 2


def test_jobs_run_several_flows(write, cli, live_server, tmp_path):
    for i in range(6):
        write(TWO_STEPS.replace("name: Things", f"name: Flow {i}"), f"f{i}.yaml")
    result = cli("run", "--jobs", "3", tmp_path, env={"BASE_URL": live_server})
    assert result.code == 0
    assert "6 flows: 6 passed, 0 failed · 12 steps: 12 passed" in result.out


def test_quiet_shows_only_the_summary(write, cli, live_server):
    result = cli("run", "-q", write(TWO_STEPS), env={"BASE_URL": live_server})
    assert result.out.strip().startswith("1 flow: 1 passed")


def test_verbose_shows_headers_and_bodies(write, cli, live_server):
    result = cli("run", "-v", write(TWO_STEPS), env={"BASE_URL": live_server})
    assert "> content-type: application/json" in result.out
    assert "< x-request-id: req-" in result.out


def test_no_color_when_not_a_tty_or_when_no_color_is_set(write, cli, live_server):
    result = cli("run", write(TWO_STEPS), env={"BASE_URL": live_server, "NO_COLOR": "1"})
    assert "\x1b[" not in result.out


def test_list_shows_flows_steps_and_lines(write, cli):
    result = cli("list", write(TWO_STEPS))
    assert result.code == 0
    assert "Things  [smoke]" in result.out
    assert "  1. Create  (line 7)" in result.out
    assert "  2. Read  (line 11)" in result.out


def test_validate_a_good_flow(write, cli):
    result = cli("validate", write(TWO_STEPS))
    assert result.code == 0
    assert "✓ 1 flow valid (2 steps): checked YAML, the flow schema" in result.out


def test_validate_accepts_names_given_with_var(write, cli):
    flow = write("steps:\n  - request: {url: '{{ host }}/x'}\n")
    assert cli("validate", flow).code == 2
    assert cli("validate", "--var", "host=http://x", flow).code == 0


def test_schema_prints_the_flow_json_schema(cli):
    result = cli("schema")
    schema = json.loads(result.out)
    assert schema["title"] == "apiflow flow"
    assert "steps" in schema["required"]


def test_version(cli):
    result = cli("--version")
    assert result.out.strip() == f"apiflow {__version__}"


def test_the_real_command_runs_in_a_subprocess(write, live_server):
    flow = write(TWO_STEPS)
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", str(flow)],
        capture_output=True,
        text=True,
        env={"BASE_URL": live_server, "PATH": "", "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "✓ Things" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "runner", "validate", str(flow) + ".missing"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
