"""Reports: JUnit (checked against tests/junit.xsd), the JSON transcript (against its shipped
schema), the HTML page (looked at in headless Chromium), replay commands, seeds, redaction."""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from tests.server import ISSUED_TOKEN, USER_PASSWORD

XSD = Path(__file__).parent / "junit.xsd"
CARD = "4111111111111111"
API_KEY = "api-key-7d1e0f55aa"

PASSING = """
name: Passing
vars: {base: "{{ env.BASE_URL }}"}
steps:
  - name: List things
    request: {url: "{{ base }}/things"}
    expect: {status: 200}
"""
FAILING = """
name: Failing
vars: {base: "{{ env.BASE_URL }}"}
steps:
  - name: Create a widget
    request: {method: POST, url: "{{ base }}/things", json: {name: widget}}
    expect: {json: {$.data.name: gadget}}
"""


def erroring(port: int) -> str:
    return f"""
name: Erroring
steps:
  - name: Call a host that is down
    request: {{url: "http://127.0.0.1:{port}/nothing"}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def three_flows(write, tmp_path):
    write(PASSING, "flows/passing.yaml")
    write(FAILING, "flows/failing.yaml")
    write(erroring(free_port()), "flows/erroring.yaml")
    return tmp_path / "flows"


def run_with_reports(cli, live_server, tmp_path, *paths, extra=(), env=None):
    out = {name: tmp_path / f"out.{name}" for name in ("json", "xml", "html")}
    args = [
        "run",
        "--seed",
        "11",
        "--report",
        out["json"],
        "--junit",
        out["xml"],
        "--html",
        out["html"],
        *extra,
        *paths,
    ]
    result = cli(*args, env={"BASE_URL": live_server, "NO_COLOR": "1", **(env or {})})
    return result, {k: v.read_text() for k, v in out.items()}


def test_junit_validates_and_tells_failures_from_errors(cli, live_server, tmp_path, three_flows):
    result, reports = run_with_reports(cli, live_server, tmp_path, three_flows)
    assert result.code == 1
    xmlschema.XMLSchema(XSD).validate(reports["xml"])
    assert set(re.findall(r'<testcase name="([^"]+)"', reports["xml"])) == {"Passing", "Failing", "Erroring"}
    assert re.search(
        r'<testcase name="Failing"[^>]*>\s*<failure message="step \'Create a widget\': \$\.data\.name eq: expected \'gadget\', got \'widget\'"',
        reports["xml"],
    )
    assert re.search(
        r'<testcase name="Erroring"[^>]*>\s*<error message="step \'Call a host that is down\': cannot connect to 127\.0\.0\.1:\d+: connection refused"',
        reports["xml"],
    )
    assert re.search(r'<testcase name="Passing"[^>]*/>', reports["xml"])
    assert '<testsuites name="apiflow" tests="3" failures="1" errors="1" skipped="0"' in reports["xml"]


def test_a_flow_that_does_not_load_is_a_junit_error(cli, write, tmp_path):
    path = write("steps:\n  - request: {url: '{{ nope }}'}\n")
    junit = tmp_path / "load.xml"
    result = cli("run", "--junit", junit, path)
    assert result.code == 2
    xmlschema.XMLSchema(XSD).validate(str(junit))
    assert '<error message="1 problem: `nope` is not defined"' in junit.read_text()


def test_the_json_report_validates_against_its_shipped_schema(cli, live_server, tmp_path, three_flows):
    _, reports = run_with_reports(cli, live_server, tmp_path, three_flows)
    report = json.loads(reports["json"])
    schema = json.loads(resources.files("runner").joinpath("report/report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(report)
    assert report["seed"] == 11
    assert report["summary"]["flows"] == {"total": 3, "passed": 1, "failed": 2, "not_started": 0}
    failing = next(f for f in report["flows"] if f["name"] == "Failing")
    step = failing["steps"][0]
    assert step["request"]["method"] == "POST"
    assert json.loads(step["request"]["body"]["text"]) == {"name": "widget"}
    assert step["response"]["status"] == 201
    assert step["assertions"][0] == {
        "subject": "$.data.name",
        "op": "eq",
        "expected": "gadget",
        "actual": "widget",
        "passed": False,
        "message": "",
        "location": f"{three_flows / 'failing.yaml'}:6:34",
    }
    assert step["curl"].startswith(f"curl -X POST {live_server}/things")


def test_the_report_records_variables_and_their_precedence(cli, live_server, tmp_path, write):
    path = write(PASSING)
    env_file = write("TOKEN_FROM_FILE=abc123\n", ".env")
    _, reports = run_with_reports(cli, live_server, tmp_path, path, extra=["--var", "label=x", "--env-file", env_file])
    variables = json.loads(reports["json"])["variables"]
    assert variables["command_line"] == {"label": "x"}
    assert variables["env_file"] == {"path": str(env_file), "names": ["TOKEN_FROM_FILE"]}
    assert variables["precedence"].startswith("command line (--var) > env file")
    assert "abc123" not in reports["json"]


SEEDED = """
name: Generated data
vars: {base: "{{ env.BASE_URL }}"}
steps:
  - name: Send generated data
    request:
      method: POST
      url: "{{ base }}/echo"
      json:
        id: "{{ uuid() }}"
        n: "{{ random_int(1, 1000000) }}"
        at: "{{ now() }}"
        later: "{{ now(3600) }}"
        who: {name: "{{ fake.name() }}", email: "{{ fake.email() }}", phone: "{{ fake.phone() }}"}
        address: "{{ fake.address() }}"
"""


def test_the_same_seed_sends_byte_identical_bodies(cli, live_server, tmp_path, write):
    path = write(SEEDED)
    bodies = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.json"
        assert cli("run", "--seed", "42", "--report", out, path, env={"BASE_URL": live_server}).code == 0
        bodies.append(json.loads(out.read_text())["flows"][0]["steps"][0]["request"]["body"]["text"])
    assert bodies[0] == bodies[1]
    sent = json.loads(bodies[0])
    assert sent["at"] == "2030-01-01T00:00:00+00:00"
    assert sent["who"]["email"].endswith("@example.com")
    assert set(sent["address"]) >= {"first_name", "address1", "city", "country_code", "postal_code"}
    out = tmp_path / "c.json"
    cli("run", "--seed", "43", "--report", out, path, env={"BASE_URL": live_server})
    assert json.loads(out.read_text())["flows"][0]["steps"][0]["request"]["body"]["text"] != bodies[0]


def test_the_seed_is_always_printed_and_recorded(cli, live_server, tmp_path, write):
    out = tmp_path / "r.json"
    result = cli("run", "--report", out, write(PASSING), env={"BASE_URL": live_server})
    seed = int(re.search(r"seed (\d+)", result.out)[1])
    assert json.loads(out.read_text())["seed"] == seed


def test_the_html_report_shows_the_failure_in_a_browser(cli, live_server, tmp_path, three_flows):
    from playwright.sync_api import sync_playwright

    _, reports = run_with_reports(cli, live_server, tmp_path, three_flows)
    assert "http://" not in re.sub(
        r"<pre>.*?</pre>|<td>.*?</td>|<p[^>]*>.*?</p>|<summary>.*?</summary>", "", reports["html"], flags=re.S
    ), "the page must fetch nothing"
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed: `make test` installs it"
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags)
        page = browser.new_page()
        page.goto((tmp_path / "out.html").as_uri())
        assert page.title() == "apiflow report: failed"
        assert page.locator("#summary").inner_text().startswith("3 flows: 1 passed, 2 failed")
        assert page.get_by_text("Create a widget", exact=False).first.is_visible()
        assert page.get_by_role("cell", name='"gadget"', exact=True).is_visible()
        assert page.get_by_role("cell", name='"widget"', exact=True).is_visible()
        assert page.get_by_text("connection refused", exact=False).first.is_visible()
        assert not page.get_by_text("List things", exact=False).first.is_visible()  # passing flows stay folded
        browser.close()


READS_WELL = """
name: Reads well
vars: {base: "{{ env.BASE_URL }}"}
steps:
  - name: A picture
    request: {url: "{{ base }}/png"}
  - name: Compare things
    request: {url: "{{ base }}/echo?a=1"}
    expect:
      json:
        $.nope: 1
        $.query: {eq: {a: "2", b: "3"}}
  - name: Never reached
    request: {url: "{{ base }}/things"}
"""


def test_the_html_report_reads_as_well_as_the_console(cli, live_server, tmp_path, write):
    from playwright.sync_api import sync_playwright

    result, reports = run_with_reports(cli, live_server, tmp_path, write(READS_WELL), extra=["-v"])
    html = reports["html"]
    assert "\x00" not in html
    assert "&lt;binary: 272 bytes, sha256" in html  # not the raw bytes
    assert "<binary: 272 bytes, sha256" in result.out
    assert "expected: " not in html.split("<body>")[1].split("Replay")[0]  # the column says it
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto((tmp_path / "out.html").as_uri())
        meta = page.locator("header .muted").inner_text()
        assert re.search(r"· \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", meta), meta  # not an ISO string
        assert page.get_by_role("cell", name="(nothing)", exact=True).is_visible()  # $.nope, as the console says
        assert page.get_by_text("differs at:").is_visible()
        assert page.get_by_text('$.query.a: expected "2", actual "1"').is_visible()
        assert page.get_by_text('$.query.b: expected "3", actual (nothing)').is_visible()
        never = page.locator(".step.line", has_text="Never reached")
        assert never.inner_text().strip() == "· Never reached · not run"  # a line: no fold, no "0 ms"
        browser.close()
    data = json.loads(reports["json"])
    checks = data["flows"][0]["steps"][1]["assertions"]
    assert checks[0]["absent"] is True and checks[0]["actual"] is None
    assert checks[1]["diff"] == [
        {"path": "$.query.a", "expected": "2", "actual": "1"},
        {"path": "$.query.b", "expected": "3"},
    ]
    assert base64.b64decode(data["flows"][0]["steps"][0]["response"]["body"]["base64"]).startswith(b"\x89PNG")
    jsonschema.validate(data, json.loads(resources.files("runner").joinpath("report/report.schema.json").read_text()))


def test_no_secret_appears_in_any_report(cli, live_server, tmp_path, write):
    path = write(
        """
        name: Secrets everywhere
        vars: {base: "{{ env.BASE_URL }}"}
        http:
          headers: {X-Api-Key: "{{ secret('API_KEY') }}"}
        steps:
          - name: Log in
            request: {method: POST, url: "{{ base }}/login", json: {user: ann, password: "{{ secret('PASSWORD') }}"}}
            capture: {pat_id: $.access_token}
          - name: Pay, and fail to show everything
            request:
              method: POST
              url: "{{ base }}/echo?key={{ secret('API_KEY') }}"
              headers: {Authorization: "PAT {{ pat_id }}"}
              json: {payment: {instrument: {type: card, number: "CARD", verification_value: "737"}}}
            expect: {status: 500}
        """.replace("CARD", CARD)
    )
    result, reports = run_with_reports(
        cli, live_server, tmp_path, path, extra=["-v"], env={"API_KEY": API_KEY, "PASSWORD": USER_PASSWORD}
    )
    assert result.code == 1
    curl = json.loads(reports["json"])["flows"][0]["steps"][1]["curl"]
    assert "${PAT_ID}" in curl
    assert "${API_KEY}" in curl
    assert "${CARD_NUMBER}" in curl
    assert "replay: curl" in result.out
    everything = {"console": result.output, "curl": curl, **reports}
    for secret in (API_KEY, USER_PASSWORD, ISSUED_TOKEN, CARD, '"737"'):
        leaks = [name for name, text in everything.items() if secret in text]
        assert leaks == [], f"{secret} leaked into {leaks}"


def test_the_schema_command_prints_the_report_schema(cli):
    schema = json.loads(cli("schema", "--report").out)
    assert schema["title"] == "apiflow run report, version 1"


def test_a_report_in_a_missing_folder_is_refused_before_the_run(cli, write, tmp_path):
    result = cli("run", "--report", tmp_path / "nope" / "r.json", write(PASSING))
    assert result.code == 2
    assert "the folder" in result.err and "does not exist" in result.err


def test_the_progress_line_counts_runs_on_a_terminal():
    import io

    from runner.report.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(total=3, stream=stream)
    progress.advance(True)
    progress.advance(False)
    assert stream.getvalue().endswith("[2/3] 1 passed, 1 failed")
    quiet = io.StringIO()
    Progress(total=3, stream=quiet).advance(True)
    assert quiet.getvalue() == ""


def test_a_summary_table_follows_several_flows(cli, live_server, three_flows):
    out = cli("run", three_flows, env={"BASE_URL": live_server}).out
    assert re.search(r"^\s+flows\s+steps$", out, re.M)
    assert re.search(r"^passed\s+1\s+1$", out, re.M)
    assert re.search(r"^failed\s+2\s+2$", out, re.M)


def test_each_run_of_a_seeded_run_draws_its_own_data(run_in_process):
    text = """
matrix: [{n: 1}, {n: 2}]
steps:
  - request: {method: POST, url: "{{ env.BASE }}/echo", json: {id: "{{ uuid() }}"}}
    capture: {id: $.json.id}
"""
    ids = [f.steps[0].captures["id"] for f in run_in_process(text).flows]
    assert ids[0] != ids[1]  # two rows do not create the same "unique" resource
    assert ids == [f.steps[0].captures["id"] for f in run_in_process(text).flows]  # and --seed repeats them
