"""What a new user trips on (issue 9): each item through the CLI where the item is about the CLI."""

from __future__ import annotations

import pytest

BASE = 'vars: {base: "{{ env.BASE_URL }}"}\n'
CREATE = '  - id: first\n    name: Create\n    request: {method: POST, url: "{{ base }}/things", json: {name: a}}\n'


# 1. steps.<id> is checked like every other name
def test_validate_finds_a_misspelt_step_id_with_did_you_mean(write, cli):
    path = write(BASE + "steps:\n" + CREATE + '  - request: {url: "{{ base }}/x/{{ steps.frist.response.status }}"}\n')
    result = cli("validate", path)
    assert result.code == 2
    assert f"{path}:6:20: error: `steps.frist`: no earlier step has the id `frist`" in result.err
    assert "did you mean `first`?" in result.err


def test_a_run_time_lookup_names_what_was_missing_in_plain_words(write, cli, live_server):
    path = write(
        BASE
        + "steps:\n"
        + CREATE
        + '  - request: {url: "{{ base }}/things/{{ steps.first.response.json.data.idd }}"}\n'
    )
    result = cli("run", path, env={"BASE_URL": live_server})
    assert result.code == 1
    assert "error: no `idd` in the mapping (it has: id, name, tags, price); did you mean `id`?" in result.out
    assert "'dict object'" not in result.out


# 2. header names are case-insensitive in templates
def test_response_headers_read_in_any_case(write, cli, live_server):
    steps = CREATE + "    expect:\n      that:\n"
    steps += "        - \"{{ response.headers['X-Request-Id'] == response.headers['x-request-id'] }}\"\n"
    steps += "        - \"{{ 'json' in response.headers['Content-Type'] }}\"\n"
    steps += "  - request: {url: \"{{ base }}/things\"}\n    expect: {that: \"{{ steps.first.response.headers['X-REQUEST-ID'].startswith('req-') }}\"}\n"
    result = cli("run", write(BASE + "steps:\n" + steps), env={"BASE_URL": live_server})
    assert result.code == 0, result.output


# 3. a matrix run's title shows what the run used
def test_a_matrix_title_shows_the_value_var_gave(write, cli, live_server):
    path = write(BASE + 'matrix: [{count: 2}]\nsteps:\n  - request: {url: "{{ base }}/things"}\n')
    result = cli("run", "--var", "count=5", path, env={"BASE_URL": live_server})
    assert "[count=5]" in result.out and "count=2" not in result.out


# 4. a name guarded by default or is defined is not undefined; a --var nobody reads is warned of
@pytest.mark.parametrize("template", ["{{ n | default(0) }}", "{{ n if n is defined else 0 }}", "{{ n | d(1) }}"])
def test_a_guarded_name_is_not_undefined(write, cli, live_server, template):
    path = write(BASE + f'steps:\n  - request: {{url: "{{{{ base }}}}/things", params: {{n: "{template}"}}}}\n')
    assert cli("validate", path).code == 0
    assert cli("run", path, env={"BASE_URL": live_server}).code == 0


def test_a_var_no_flow_reads_is_warned_of(write, cli, live_server):
    path = write(
        'vars: {base: "{{ env.BASE_URL }}", label: x}\nsteps:\n  - request: {url: "{{ base }}/things?l={{ label }}"}\n'
    )
    result = cli("run", "--var", "lable=y", path, env={"BASE_URL": live_server})
    assert result.code == 0
    assert "warning: --var lable: no flow reads `lable`; did you mean `label`?" in result.err


# 5. a matrix in a used flow is refused, located
def test_a_matrix_in_a_used_flow_is_refused_at_the_use_step(write, cli):
    write("matrix: [{a: 1}]\nsteps:\n  - request: {url: 'http://x.test/'}\n", "lib.yaml")
    path = write("steps:\n  - use: lib.yaml\n")
    result = cli("validate", path)
    assert result.code == 2
    assert f"{path}:2:10: error: `lib.yaml` has a matrix, which a `use` step cannot run" in result.err


# 6. the failure's variables line lists what expectations and captures read too
def test_the_variables_line_lists_what_the_checks_read(write, cli, live_server):
    text = 'vars: {base: "{{ env.BASE_URL }}", wanted: zzz}\nsteps:\n' + CREATE
    path = write(text + '    expect: {json: {$.data.name: "{{ wanted }}"}}\n')
    result = cli("run", path, env={"BASE_URL": live_server})
    assert result.code == 1
    assert 'variables: base = "' in result.out and 'wanted = "zzz"' in result.out


# 9. x- keys are accepted and ignored
def test_x_keys_hold_anchors_at_the_top_and_in_steps(write, cli, live_server):
    text = (
        BASE
        + 'x-common: &get {url: "{{ base }}/things"}\nsteps:\n  - name: Get\n    x-note: anything\n    request: *get\n'
    )
    result = cli("run", write(text), env={"BASE_URL": live_server})
    assert result.code == 0, result.output


# 12. unquoted templates and tabs get their own messages; validate says what it checked
@pytest.mark.parametrize(
    ("line", "where", "message"),
    [
        ("      url: {{ base }}/get\n", "4:12", "an unquoted template: YAML reads `{{` as the start of a mapping"),
        ("      url: {{ base }}\n", "4:12", "an unquoted template"),
        ("\turl: x\n", "4:1", "a tab in the indentation: YAML indents with spaces only"),
    ],
    ids=["template-then-text", "template-alone", "tab"],
)
def test_common_yaml_mistakes_are_named(write, cli, line, where, message):
    path = write("name: t\nsteps:\n  - request:\n" + line)
    result = cli("validate", path)
    assert result.code == 2
    assert result.err.startswith(f"{path}:{where}: error: {message}"), result.err
    if "template" in message:
        assert 'must be quoted, or YAML reads a mapping: url: "{{ base }}/get"' in result.err


def test_validate_says_what_it_checked(write, cli):
    ok = cli("validate", write("steps:\n  - request: {url: 'http://x.test/'}\n"))
    assert ok.out.startswith("✓ 1 flow valid (1 step): checked YAML, the flow schema, templates, JSONPaths")
    bad = cli("validate", write("steps: []\n", "bad.yaml"))
    assert "1 problem found by checking YAML, the flow schema" in bad.err and "no request was sent" in bad.err


# 13. counts read as English; a missing secret says which variable to set, and where
def test_one_step_and_one_flow_are_singular(write, cli, live_server):
    result = cli(
        "run", write(BASE + 'steps:\n  - request: {url: "{{ base }}/things"}\n'), env={"BASE_URL": live_server}
    )
    assert "1 flow: 1 passed, 0 failed · 1 step: 1 passed" in result.out


def test_a_missing_secret_says_which_variable_to_set(write, cli):
    path = write("steps:\n  - request: {url: 'http://x.test/', headers: {A: \"{{ secret('NOPE_TOKEN') }}\"}}\n")
    result = cli("run", path)
    assert result.code == 1
    assert (
        "secret('NOPE_TOKEN'): the environment variable NOPE_TOKEN is not set (export it, or give it in --env-file)"
        in result.out
    )
    assert "MissingSecretError" not in result.out


# 7. a folder scan finds flows, not workflows, packages or data
def test_a_folder_scan_passes_by_what_is_not_a_flow(write, cli, live_server, tmp_path):
    flow = BASE + 'steps:\n  - request: {url: "{{ base }}/things"}\n'
    write(flow, "flows/a.yaml")
    write(flow, "flows/skip-me.yaml")
    write("name: CI\non: push\njobs: {}\n", ".github/workflows/ci.yml")
    write(flow, "node_modules/pkg/flow.yaml")
    write(flow, ".venv/lib/flow.yaml")
    write("home = /usr\n", "env/pyvenv.cfg")
    write(flow, "env/lib/flow.yaml")
    write("services: {web: {image: nginx}}\n", "docker-compose.yml")
    write("- {card: 1}\n", "flows/rows.yaml")
    result = cli("run", "--exclude", "flows/skip-*", tmp_path, env={"BASE_URL": live_server})
    assert result.code == 0, result.output
    assert "1 flow: 1 passed" in result.out and "flows/a.yaml" in result.out
    listed = cli("list", "--exclude", "skip-me.yaml", tmp_path)
    assert listed.out.count(".yaml") == 1


# 15. a flow that does not load still gets every report
def test_every_report_is_written_when_the_flows_do_not_load(write, cli, tmp_path):
    import json
    from importlib import resources

    import jsonschema

    path = write("steps:\n  - request: {url: 'http://x.test/{{ nope }}'}\n")
    out = {k: tmp_path / f"r.{k}" for k in ("json", "html", "xml")}
    result = cli("run", "--report", out["json"], "--html", out["html"], "--junit", out["xml"], path)
    assert result.code == 2
    report = json.loads(out["json"].read_text())
    jsonschema.validate(report, json.loads(resources.files("runner").joinpath("report/report.schema.json").read_text()))
    assert report["passed"] is False and report["flows"] == []
    assert report["problems"][0]["location"] == f"{path}:2:20"
    assert "`nope` is not defined" in out["html"].read_text()
    assert "<error" in out["xml"].read_text()


# 8. several flows per file, each reported under its own name
def test_a_file_may_hold_several_flows(write, cli, live_server):
    one = 'name: First\nvars: {base: "{{ env.BASE_URL }}"}\nsteps:\n  - request: {url: "{{ base }}/things"}\n'
    two = (
        'vars: {base: "{{ env.BASE_URL }}"}\nsteps:\n  - request: {url: "{{ base }}/nope"}\n    expect: {status: 200}\n'
    )
    path = write(one + "---\n" + two + "---\n")
    result = cli("run", path, env={"BASE_URL": live_server})
    assert result.code == 1
    assert "✓ First" in result.out and "✗ flow #2" in result.out
    assert "2 flows: 1 passed, 1 failed" in result.out
    assert f"{path}:8:5" in result.out  # the second flow's lines are the file's lines
    assert cli("validate", path).out.startswith("✓ 2 flows valid")


def test_a_problem_in_the_second_flow_of_a_file_is_located(write, cli):
    path = write(
        "steps:\n  - request: {url: 'http://x.test/'}\n---\nsteps:\n  - request: {url: 'http://x.test/{{ nope }}'}\n"
    )
    result = cli("validate", path)
    assert result.err.startswith(f"{path}:5:20: error: `nope` is not defined")


def test_use_of_a_file_of_several_flows_is_refused(write, cli):
    write(
        "steps:\n  - request: {url: 'http://x.test/'}\n---\nsteps:\n  - request: {url: 'http://x.test/'}\n", "lib.yaml"
    )
    result = cli("validate", write("steps:\n  - use: lib.yaml\n"))
    assert "`use: lib.yaml`: that file holds 2 flows" in result.err
