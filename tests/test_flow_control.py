"""retry, when, use/with, finally and matrix: passing and failing cases of each."""

from __future__ import annotations

import httpx
import pytest

from runner import RunOptions, load_flow, load_flows, run_flows
from runner.engine.results import Outcome

BASE = 'vars: {base: "{{ env.BASE }}"}\n'


def steps_of(result, index=0):
    return result.flows[index].steps


# -- retry ---------------------------------------------------------------------------------


def test_a_poll_succeeds_on_the_third_attempt(run_in_process):
    result = run_in_process(
        BASE
        + """
steps:
  - name: Wait until ready
    request: {url: "{{ base }}/count/a"}
    retry: {until: passed, attempts: 5, delay: 0}
    expect: {json: {$.ready: true}}
"""
    )
    step = steps_of(result)[0]
    assert step.passed
    assert step.attempts == 3
    assert step.response.json == {"count": 3, "ready": True}


def test_a_poll_that_never_succeeds_reports_its_attempts_and_last_failures(run_in_process):
    result = run_in_process(
        BASE
        + """
steps:
  - name: Wait forever
    request: {url: "{{ base }}/count/b?ready_at=100"}
    retry: {attempts: 4, delay: 0}
    expect: {json: {$.ready: true}}
"""
    )
    step = steps_of(result)[0]
    assert step.outcome is Outcome.FAILED
    assert step.attempts == 4
    assert [(a.subject, a.actual) for a in step.failed_assertions] == [("$.ready", False)]
    assert step.response.json["count"] == 4


def test_retry_until_a_condition(run_in_process):
    result = run_in_process(
        BASE
        + """
steps:
  - request: {url: "{{ base }}/count/c?ready_at=100"}
    retry: {until: "{{ response.json.count >= 2 }}", attempts: 5, delay: 0}
"""
    )
    assert steps_of(result)[0].attempts == 2
    assert result.passed


def test_a_condition_that_never_holds_fails_the_step(run_in_process):
    result = run_in_process(
        BASE
        + """
steps:
  - request: {url: "{{ base }}/count/d"}
    retry: {until: "response.json.count > 99", attempts: 2, delay: 0}
"""
    )
    step = steps_of(result)[0]
    assert step.outcome is Outcome.FAILED
    assert step.failed_assertions[-1].subject == "retry until response.json.count > 99"
    assert step.failed_assertions[-1].message == "did not hold after 2 attempts"


def test_the_delay_grows_by_the_backoff(run_in_process, monkeypatch):
    slept = []

    async def record(seconds):
        slept.append(seconds)

    monkeypatch.setattr("runner.engine.step_runner.sleep", record)
    run_in_process(
        BASE
        + """
steps:
  - request: {url: "{{ base }}/count/e?ready_at=100"}
    retry: {attempts: 4, delay: 0.1, backoff: 2}
    expect: {json: {$.ready: true}}
"""
    )
    assert slept == pytest.approx([0.1, 0.2, 0.4])


def connection_refused(calls):
    def handler(request):
        calls.append(request.method)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("switch", "sends"), [("", 1), (", transport_errors: true", 3)], ids=["not-retried", "retried-when-asked"]
)
def test_a_transport_error_is_retried_only_when_asked(write, switch, sends):
    flow = load_flow(
        write(f"""
steps:
  - request: {{method: POST, url: "http://api.test/orders", json: {{}}}}
    retry: {{attempts: 3, delay: 0{switch}}}
""")
    )
    calls = []
    result = run_flows([flow], RunOptions(transport=connection_refused(calls), env={}))
    step = result.flows[0].steps[0]
    assert calls == ["POST"] * sends
    assert step.attempts == sends
    assert step.outcome is Outcome.ERROR


# -- when ----------------------------------------------------------------------------------


def test_a_step_whose_when_is_false_is_skipped_and_its_flow_passes(run_in_process):
    result = run_in_process("""
vars: {base: "{{ env.BASE }}", guest: true}
steps:
  - name: Customer only
    when: "{{ not guest }}"
    request: {url: "{{ base }}/things"}
  - name: Everyone
    when: guest
    request: {url: "{{ base }}/things"}
""")
    assert [s.outcome for s in steps_of(result)] == [Outcome.SKIPPED, Outcome.PASSED]
    assert result.passed


def test_using_the_capture_of_a_skipped_step_names_both_steps(run_in_process):
    result = run_in_process(
        BASE
        + """
steps:
  - name: Create for customers
    when: false
    request: {method: POST, url: "{{ base }}/things", json: {name: x}}
    capture: {thing_id: $.data.id}
  - name: Read it
    request: {url: "{{ base }}/things/{{ thing_id }}"}
"""
    )
    read = steps_of(result)[1]
    assert read.outcome is Outcome.ERROR
    assert read.error == "`thing_id` was never captured: step 'Create for customers' was skipped (its `when` was false)"


# -- use / with ----------------------------------------------------------------------------

SUB = """
name: Create a thing
inputs:
  name: {required: true}
  price: {default: 5}
outputs: [thing_id, thing_price]
vars: {base: "{{ env.BASE }}"}
steps:
  - name: Create
    request: {method: POST, url: "{{ base }}/things", json: {name: "{{ name }}", price: "{{ price }}"}}
    expect: {status: 201}
    capture: {thing_id: $.data.id, thing_price: $.data.price}
"""


def test_a_used_flow_takes_inputs_and_gives_outputs(run_in_process, write):
    write(SUB, "lib/create.yaml")
    result = run_in_process(
        BASE
        + """
steps:
  - name: Make one
    use: lib/create.yaml
    with: {name: "{{ 'wid' ~ 'get' }}"}
  - name: Read it
    request: {url: "{{ base }}/things/{{ thing_id }}"}
    expect: {json: {$.data.name: widget, $.data.price: "{{ thing_price }}"}}
"""
    )
    use, read = steps_of(result)
    assert result.passed, use.children
    assert use.captures == {"thing_id": 1, "thing_price": 5}
    assert [c.step.name for c in use.children] == ["Create"]
    assert read.passed


def test_a_failing_used_flow_fails_the_calling_step(run_in_process, write):
    write(SUB.replace("status: 201", "status: 200"), "lib/create.yaml")
    result = run_in_process(
        BASE + "steps:\n  - {use: lib/create.yaml, with: {name: x}}\n  - request: {url: '{{ base }}/things'}\n"
    )
    use, after = steps_of(result)
    assert use.outcome is Outcome.FAILED
    assert use.children[0].outcome is Outcome.FAILED
    assert after.outcome is Outcome.NOT_RUN


def test_a_missing_required_input_is_a_located_load_error(write, cli):
    write(SUB, "lib/create.yaml")
    path = write(BASE + "steps:\n  - name: Make\n    use: lib/create.yaml\n    with: {nam: x}\n")
    result = cli("validate", path)
    assert result.code == 2
    assert f"{path}:4:10: error: `lib/create.yaml` needs the input `name`" in result.err
    assert f"{path}:5:12: error: `lib/create.yaml` has no input `nam`" in result.err
    assert "did you mean `name`?" in result.err


def test_a_cycle_of_use_is_a_load_error(write, cli, tmp_path):
    write("inputs: {x: {default: 1}}\nsteps:\n  - use: b.yaml\n", "a.yaml")
    write("inputs: {x: {default: 1}}\nsteps:\n  - use: a.yaml\n", "b.yaml")
    result = cli("validate", tmp_path / "a.yaml")
    assert result.code == 2
    assert "`use` makes a cycle: a.yaml → b.yaml → a.yaml" in result.err


def test_a_missing_used_file_and_an_uncaptured_output_are_load_errors(write, cli):
    path = write("outputs: [nope]\nsteps:\n  - use: missing.yaml\n")
    result = cli("validate", path)
    assert "1:11: error: output `nope` is never captured by this flow" in result.err
    assert "3:10: error: `use: missing.yaml`: no such flow file" in result.err


def test_problems_inside_a_used_flow_are_reported_in_its_file(write, cli):
    write(SUB.replace("expect: {status: 201}", "expect: {stauts: 201}"), "lib/create.yaml")
    path = write("steps:\n  - {use: lib/create.yaml, with: {name: x}}\n")
    result = cli("validate", path)
    assert "lib/create.yaml:10:14: error: unknown key `stauts`" in result.err
    assert "that flow does not load" in result.err


def test_a_sub_flow_is_not_run_on_its_own_from_a_folder(write, tmp_path):
    write(SUB, "lib/create.yaml")
    write(BASE + "steps:\n  - {use: lib/create.yaml, with: {name: x}}\n", "main.yaml")
    assert [f.name for f in load_flows([str(tmp_path)])] == ["main"]


def test_a_use_step_takes_no_expect(write, cli):
    write(SUB, "lib/create.yaml")
    path = write("steps:\n  - use: lib/create.yaml\n    with: {name: x}\n    expect: {status: 200}\n")
    assert "a `use` step takes no `expect`" in cli("validate", path).err


# -- finally -------------------------------------------------------------------------------


def test_finally_runs_after_a_failure_without_hiding_it(run_in_process):
    result = run_in_process(
        BASE
        + """
steps:
  - name: Create
    request: {method: POST, url: "{{ base }}/things", json: {name: x}}
    capture: {thing_id: $.data.id}
  - name: Fails
    request: {url: "{{ base }}/things/{{ thing_id }}"}
    expect: {status: 418}
  - name: Never
    request: {url: "{{ base }}/things"}
finally:
  - name: Delete it
    request: {method: DELETE, url: "{{ base }}/things/{{ thing_id }}"}
    expect: {status: 204}
  - name: Clean-up that fails
    request: {url: "{{ base }}/status/500"}
    expect: {status: 200}
  - name: Still runs
    request: {url: "{{ base }}/things"}
"""
    )
    flow = result.flows[0]
    assert [s.outcome for s in flow.steps] == [Outcome.PASSED, Outcome.FAILED, Outcome.NOT_RUN]
    assert [s.outcome for s in flow.finally_steps] == [Outcome.PASSED, Outcome.FAILED, Outcome.PASSED]
    assert flow.failed_step.step.name == "Fails"
    assert not flow.passed


def test_a_failing_finally_fails_a_passing_flow(run_in_process):
    result = run_in_process(
        BASE
        + "steps:\n  - request: {url: '{{ base }}/things'}\nfinally:\n  - request: {url: '{{ base }}/status/500'}\n    expect: {status: 200}\n"
    )
    assert not result.passed
    assert result.flows[0].failed_step.step.index == 0


# -- matrix --------------------------------------------------------------------------------

MATRIX = (
    BASE
    + """
name: Make things
matrix:
  - {thing: a, code: 201}
  - {thing: b, code: 201}
  - {thing: c, code: 418}
  - {thing: d, code: 201}
  - {thing: e, code: 201}
steps:
  - name: Create {{ thing }}
    request: {method: POST, url: "{{ base }}/things", json: {name: "{{ thing }}"}}
    expect: {that: "response.status == code", json: {$.data.name: "{{ thing }}"}}
"""
)


def test_a_matrix_of_five_rows_where_one_fails(run_in_process):
    result = run_in_process(MATRIX)
    assert [(f.name, f.passed) for f in result.flows] == [
        ("Make things [thing=a, code=201]", True),
        ("Make things [thing=b, code=201]", True),
        ("Make things [thing=c, code=418]", False),
        ("Make things [thing=d, code=201]", True),
        ("Make things [thing=e, code=201]", True),
    ]


def test_a_matrix_through_the_cli_names_each_row(write, cli, live_server):
    result = cli("run", "--jobs", "3", write(MATRIX), env={"BASE": live_server})
    assert result.code == 1
    assert "✗ Make things [thing=c, code=418]" in result.out
    assert "5 flows: 4 passed, 1 failed" in result.out


@pytest.mark.parametrize(
    ("name", "text"),
    [("rows.csv", "thing,code\na,201\nb,201\n"), ("rows.yaml", "- {thing: a, code: 201}\n- {thing: b, code: 201}\n")],
    ids=["csv", "yaml"],
)
def test_matrix_rows_from_a_file(run_in_process, write, name, text):
    write(text, name)
    result = run_in_process(
        MATRIX.split("matrix:")[0] + f"matrix: {{file: {name}}}\nsteps:" + MATRIX.split("steps:")[1]
    )
    assert [(f.row, f.passed) for f in result.flows] == [
        ({"thing": "a", "code": 201}, True),
        ({"thing": "b", "code": 201}, True),
    ]


def test_rows_with_different_variables_are_a_load_error(write, cli):
    path = write(BASE + "matrix:\n  - {a: 1}\n  - {b: 2}\nsteps:\n  - request: {url: '{{ base }}/x'}\n")
    assert "matrix row 2 sets b, the first row a" in cli("validate", path).err


def test_a_missing_matrix_file_is_a_load_error(write, cli):
    assert (
        "cannot read the matrix file `nope.csv`"
        in cli("validate", write(BASE + "matrix: {file: nope.csv}\nsteps:\n  - request: {url: '{{ base }}/x'}\n")).err
    )


def test_a_var_from_the_command_line_wins_over_the_row(run_in_process):
    result = run_in_process(MATRIX, vars={"code": 201})
    assert all(f.passed for f in result.flows)


# -- scheduling ----------------------------------------------------------------------------


def test_fail_fast_starts_no_new_flow_after_a_failure(write, cli, live_server, tmp_path):
    write(BASE + "steps:\n  - request: {url: '{{ base }}/status/500'}\n    expect: {status: 200}\n", "a.yaml")
    for name in ("b.yaml", "c.yaml"):
        write(BASE + "steps:\n  - request: {url: '{{ base }}/things'}\n", name)
    result = cli("run", "--fail-fast", tmp_path, env={"BASE": live_server})
    assert result.code == 1
    assert "3 flows: 0 passed, 1 failed, 2 not started" in result.out


def test_validate_checks_flow_control_without_sending(write, cli):
    write(SUB, "lib/create.yaml")
    path = write(
        BASE
        + """
matrix: [{n: 1}]
steps:
  - use: lib/create.yaml
    with: {name: "{{ n }}"}
    when: "{{ n > 0 }}"
  - request: {url: "{{ base }}/things/{{ thing_id }}"}
    retry: {until: "{{ response.status == 200 }}", attempts: 2}
finally:
  - request: {url: "{{ base }}/things/{{ thing_id }}"}
"""
    )
    result = cli("validate", path)
    assert result.code == 0, result.err


def test_a_poll_that_never_succeeds_exits_1_with_its_attempts(write, cli, live_server):
    path = write(
        BASE
        + "steps:\n  - name: Wait\n    request: {url: '{{ base }}/count/cli-never?ready_at=100'}\n    retry: {attempts: 3, delay: 0}\n    expect: {json: {$.ready: true}}\n"
    )
    result = cli("run", path, env={"BASE": live_server})
    assert result.code == 1
    assert "(3 attempts)" in result.out
    assert "✗ $.ready" in result.out


def test_naming_a_sub_flow_to_run_is_a_usage_problem_but_it_validates(write, cli):
    path = write(SUB, "lib/create.yaml")
    result = cli("run", path)
    assert result.code == 2
    assert "is a sub-flow: it needs the input name" in result.err
    assert cli("validate", path).code == 0
    assert "(sub-flow, run through `use`)" in cli("list", path).out


def test_an_input_default_may_be_a_template(run_in_process, write):
    write(SUB.replace("price: {default: 5}", 'price: {default: "{{ 2 * 4 }}"}'), "lib/create.yaml")
    result = run_in_process(BASE + "steps:\n  - {use: lib/create.yaml, with: {name: x}}\n")
    assert steps_of(result)[0].captures == {"thing_id": 1, "thing_price": 8}
