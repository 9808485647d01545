"""The pytest plugin (issue 13), through pytester: each test is a pytest run in a project of its
own, with the plugin loaded from its `pytest11` entry point as a user's pytest would."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner import pytest_plugin

pytest_plugins = ["pytester"]

ECHO = """
name: Echo
tags: [smoke]
steps:
  - name: Ask
    request: {url: "{{ env.BASE }}/echo", params: {v: "{{ v | default(1) }}"}}
    expect: {status: 200, json: {$.query.v: "1"}}
"""
CARDS = """
name: Cards
tags: [payments]
matrix:
  - {label: visa, card: "4111111111111111"}
  - {label: amex, card: "378282246310005"}
steps:
  - name: Pay
    request: {url: "{{ env.BASE }}/echo", params: {card: "{{ card }}"}}
    expect: {status: 201}
"""
SUB = """
name: Needs an input
inputs: {id: {required: true}}
steps:
  - request: {url: "{{ env.BASE }}/things/{{ id }}"}
"""


@pytest.fixture
def project(pytester: pytest.Pytester, live_server: str, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BASE", live_server)
    pytester.makefile(".yaml", **{"flows/echo": ECHO, "flows/cards": CARDS, "flows/lib/sub": SUB})
    pytester.makefile(".yaml", **{"flows/not-a-flow": "jobs: {build: {runs-on: ubuntu}}\n"})
    return pytester


def test_collection_one_item_per_run_matrix_rows_by_value_no_sub_flows(project):
    result = project.runpytest("flows", "--collect-only", "-q")
    lines = [line for line in result.outlines if "::" in line]
    assert lines == ["flows/cards.yaml::Cards[visa]", "flows/cards.yaml::Cards[amex]", "flows/echo.yaml::Echo"]


def test_a_failure_is_apiflows_block_redacted_and_passes_print_nothing(project):
    result = project.runpytest("flows", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert "✗ Cards [label=visa, card=[REDACTED]]" in text and "expected: 201" in text
    assert "4111111111111111" not in text and "Traceback" not in text and "runner/" not in text
    junit = (project.path / "junit.xml").read_text()
    assert "4111111111111111" not in junit and "[REDACTED]" in junit
    assert "✓" not in text  # a passing flow shows nothing of its own


def test_tags_are_registered_markers_and_k_selects_by_name(project):
    smoke = project.runpytest("flows", "--strict-markers", "-m", "smoke")
    smoke.assert_outcomes(passed=1, deselected=2)
    by_name = project.runpytest("flows", "-k", "amex")
    by_name.assert_outcomes(failed=1, deselected=2)


def test_last_failed_and_exitfirst(project):
    # In subprocesses: the cache is written when a session ends, as a user's pytest writes it.
    project.runpytest_subprocess("flows")
    again = project.runpytest_subprocess("flows", "--lf")
    again.assert_outcomes(failed=2)
    first = project.runpytest_subprocess("flows", "-x")
    first.assert_outcomes(failed=1)


def test_a_flow_that_does_not_load_is_one_located_collection_error(project):
    project.makefile(
        ".yaml", **{"flows/broken": "name: Broken\nsteps:\n  - request: {url: 'http://x/'}\n    exepct: {}\n"}
    )
    result = project.runpytest("flows")
    text = result.stdout.str()
    assert "broken.yaml:4:5: error: unknown key `exepct` in step 1" in text
    assert "did you mean `expect`" in text and "Traceback" not in text
    assert "1 error" in text.splitlines()[-1]


def test_apiflow_var_and_seed(project):
    project.makefile(
        ".yaml",
        **{
            "flows/var": "name: Var\nsteps:\n  - request: {url: '{{ env.BASE }}/echo', params: {v: '{{ v }}'}}\n    expect: {json: {$.query.v: '2'}}\n"
        },
    )
    result = project.runpytest("flows/var.yaml", "--apiflow-var", "v=2", "--apiflow-seed", "42")
    result.assert_outcomes(passed=1)
    assert "apiflow: seed 42" in result.stdout.str()


def test_the_fixture_runs_a_flow_from_python(project):
    project.makepyfile(
        test_python="""
        def test_it(apiflow):
            result = apiflow.run("flows/echo.yaml", vars={"v": 1})
            assert result.passed
            step = result.flows[0].steps[0]
            assert step.response.status == 200 and step.response.json["query"]["v"] == "1"
        """
    )
    project.runpytest("test_python.py").assert_outcomes(passed=1)


def test_xdist_spreads_the_items(project):
    result = project.runpytest_subprocess("flows", "-n", "2")  # xdist's workers are processes anyway
    result.assert_outcomes(passed=1, failed=2)


def test_the_sandbox_option_sets_the_bc_variables(pytester, monkeypatch):
    import shutil

    shutil.copytree(Path(__file__).resolve().parent.parent / "flows" / "bigcommerce", pytester.path / "bigcommerce")
    for name in ("BC_API_URL", "BC_PAYMENTS_URL", "BC_STORE_HASH", "BC_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = pytester.runpytest("bigcommerce/checkout-stored-card.yaml", "--apiflow-sandbox")
    result.assert_outcomes(passed=1)


def test_the_supported_pytest_range_holds_and_the_readme_says_it():
    low, high = pytest_plugin.SUPPORTED_PYTEST
    assert low <= tuple(int(p) for p in pytest.__version__.split(".")[:2]) < high
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"pytest {low[0]}.{low[1]} to {high[0] - 1}.x" in readme


def test_apiflow_never_imports_pytest(tmp_path):
    import subprocess
    import sys

    code = "import sys, runner.cli, runner.run_command; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "False", out.stderr


def test_the_plugin_imports_no_pytest_internals():
    source = Path(pytest_plugin.__file__).read_text()
    assert "import _pytest" not in source and "from _pytest" not in source


def test_github_actions_annotations_and_summary(cli, write, live_server, tmp_path, monkeypatch):
    write(CARDS, "flows/cards.yaml")
    write(ECHO, "flows/echo.yaml")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(tmp_path)
    result = cli("run", "flows", env={"BASE": live_server, "GITHUB_ACTIONS": "true"})
    assert result.code == 1
    errors = [line for line in result.out.splitlines() if line.startswith("::error ")]
    assert errors == [
        "::error file=flows/cards.yaml,line=7,col=5,title=Cards [label=visa%2C card=[REDACTED]] / Pay::"
        "status: expected 201, got 200",
        "::error file=flows/cards.yaml,line=7,col=5,title=Cards [label=amex%2C card=[REDACTED]] / Pay::"
        "status: expected 201, got 200",
    ]
    text = summary.read_text()
    assert "### ❌ apiflow: 1 of 3 flows passed" in text and "`flows/cards.yaml:7`" in text
    assert "4111111111111111" not in text + result.output


def test_no_annotations_outside_github_actions(cli, write, live_server, tmp_path, monkeypatch):
    write(CARDS, "flows/cards.yaml")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    result = cli("run", tmp_path / "flows", env={"BASE": live_server})
    assert result.code == 1 and "::error" not in result.output and not summary.exists()


def test_a_multi_line_message_is_escaped_for_github():
    from runner.report.github import _data, _property

    assert _data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert _property("a: b, c") == "a%3A b%2C c"
