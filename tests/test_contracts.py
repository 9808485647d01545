"""OpenAPI contracts (issue 12): every response checked against the description its flow names
(or `--openapi`), each mismatch a failed check located at the step; opt-out per step; a
response no operation describes is listed, not failed; a broken description stops the run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.server import serve

DATA = Path(__file__).resolve().parent / "data" / "openapi"
PET = {"id": 7, "name": "Rex", "tag": None}


def create_app() -> Starlette:
    """`/api/v1/pets/{id}?mode=...`: a pet as described, or one misbehaviour at a time."""

    async def pet(request: Request) -> Response:
        mode = request.query_params.get("mode", "ok")
        headers = {} if mode == "missing-header" else {"X-Rate-Limit": "100"}
        body: object = dict(PET)
        status = 200
        if mode == "wrong-type":
            body = {**PET, "id": "seven"}
        elif mode == "missing-field":
            body = {"id": 7}
        elif mode == "many-errors":
            body = {f"x{i}": i for i in range(3)} | {"id": "a", "name": 1, "tag": 2}
        elif mode == "undocumented-status":
            status = 503
        elif mode == "not-found":
            return JSONResponse({"title": "no pet"}, status_code=404, media_type="application/problem+json")
        if mode == "wrong-content-type":
            return Response("<pet/>", status_code=200, headers=headers, media_type="text/html")
        return JSONResponse(body, status_code=status, headers=headers)

    async def mine(request: Request) -> Response:
        return JSONResponse({"mine": True})

    async def other(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/api/v1/pets/mine", mine),
            Route("/api/v1/pets/{id}", pet),
            Route("/elsewhere", other),
        ]
    )


@pytest.fixture(scope="module")
def pets() -> Iterator[str]:
    with serve(create_app()) as url:
        yield url


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    for file in DATA.iterdir():
        shutil.copy(file, tmp_path / file.name)
    return tmp_path


def flow(*steps: str, spec: str | None = "pets.v30.yaml") -> str:
    lines = ["name: Pets", 'vars: {base: "{{ env.PETS }}"}']
    if spec:
        lines.append(f"openapi: {spec}")
    lines.append("steps:")
    return "\n".join(lines + [f"  - {s}" for s in steps]) + "\n"


def get(mode: str = "ok", path: str = "/api/v1/pets/7", extra: str = "") -> str:
    return f"{{name: Get {mode}, request: {{url: '{{{{ base }}}}{path}', params: {{mode: {mode}}}}}{extra}}}"


@pytest.fixture
def run(cli, write, pets, tmp_path):
    def go(text: str, *args: str):
        report = tmp_path / "r.json"
        path = write(text, "flow.yaml")
        result = cli("run", "--report", report, *args, path, env={"PETS": pets})
        steps = json.loads(report.read_text())["flows"][0]["steps"] if report.exists() else []
        return result, steps

    return go


@pytest.mark.parametrize("spec", ["pets.v30.yaml", "pets.v31.yaml"], ids=["openapi-3.0", "openapi-3.1"])
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("wrong-type", "GET /pets/{petId} → 200: $.id: 'seven' is not of type 'integer' (schema rule `type`)"),
        ("missing-field", "GET /pets/{petId} → 200: $: 'name' is a required property (schema rule `required`)"),
        ("undocumented-status", "GET /pets/{petId}: status 503 is not documented"),
        ("wrong-content-type", "GET /pets/{petId} → 200: content type text/html is not declared (application/json)"),
        ("missing-header", "GET /pets/{petId} → 200: the required header X-Rate-Limit is missing"),
    ],
)
def test_each_misbehaviour_is_a_failed_check_located_at_the_step(run, specs, spec, mode, message):
    result, steps = run(flow(get(mode), spec=spec))
    assert result.code == 1, result.output
    assert message in result.out
    assert "flow.yaml:5:5" in result.out  # the step's line
    failed = [a for a in steps[0]["assertions"] if not a["passed"]]
    assert failed and failed[0]["subject"] == "openapi GET /pets/{petId}"
    assert message in failed[0]["message"]


@pytest.mark.parametrize("spec", ["pets.v30.yaml", "pets.v31.yaml"])
def test_a_conforming_response_passes_and_says_it_was_checked(run, specs, spec):
    result, steps = run(flow(get("ok"), spec=spec))
    assert result.code == 0, result.output
    checked = [a for a in steps[0]["assertions"] if a["subject"].startswith("openapi")]
    assert [(a["subject"], a["passed"]) for a in checked] == [("openapi GET /pets/{petId}", True)]


def test_problem_json_is_checked_as_json_and_says_so(run, specs):
    result, steps = run(flow(get("not-found")))
    assert result.code == 0, result.output
    check = next(a for a in steps[0]["assertions"] if a["subject"].startswith("openapi"))
    assert "application/problem+json was checked as application/json" in check["message"]


def test_many_errors_of_one_body_are_all_listed(run, specs):
    _, steps = run(flow(get("many-errors")))
    messages = [a["message"] for a in steps[0]["assertions"] if not a["passed"]]
    assert any("$.id: 'a' is not of type 'integer'" in m for m in messages)
    assert any("$.name: 1 is not of type 'string'" in m for m in messages)
    assert any("$.tag: 2 is not of type 'string'" in m for m in messages)


def test_the_most_specific_path_wins(run, specs):
    result, steps = run(flow(get("ok", "/api/v1/pets/mine")))
    assert result.code == 0, result.output
    assert any(a["subject"] == "openapi GET /pets/mine" for a in steps[0]["assertions"])


def test_a_step_opts_out(run, specs):
    result, steps = run(flow(get("undocumented-status", extra=", expect: {status: 503, openapi: false}")))
    assert result.code == 0, result.output
    assert not any(a["subject"].startswith("openapi") for a in steps[0]["assertions"])


def test_a_response_on_an_undescribed_path_is_listed_not_failed(run, specs):
    result, steps = run(flow(get("ok", "/elsewhere")))
    assert result.code == 0, result.output
    listed = next(a for a in steps[0]["assertions"] if a["subject"] == "openapi")
    assert listed["actual"] == "not described" and "matches GET /elsewhere" in listed["message"]


def test_openapi_on_the_command_line_checks_every_flow(run, specs):
    result, _ = run(flow(get("wrong-type"), spec=None))
    assert result.code == 0  # no description: nothing to check
    result, _ = run(flow(get("wrong-type"), spec=None), "--openapi", str(specs / "pets.v31.yaml"))
    assert result.code == 1 and "'seven' is not of type 'integer'" in result.out
    # ...and `openapi: false` wins over it
    result, _ = run(
        flow(get("wrong-type", extra=", expect: {openapi: false}"), spec=None),
        "--openapi",
        str(specs / "pets.v31.yaml"),
    )
    assert result.code == 0, result.output


@pytest.mark.parametrize(
    ("spec", "where", "message"),
    [
        ("broken-ref.yaml", "broken-ref.yaml:11:", "`$ref: #/components/schemas/Missing` does not resolve"),
        ("broken-yaml.yaml", "broken-yaml.yaml:", "invalid YAML"),
        ("swagger2.yaml", "swagger2.yaml:1:1", "Swagger 2.0 is not supported"),
        ("missing.yaml", "flow.yaml:3:10", "`file: missing.yaml`: no such file"),
    ],
)
def test_a_broken_description_is_a_located_load_error(cli, write, specs, spec, where, message):
    path = write(flow(get("ok"), spec=spec), "flow.yaml")
    for command in ("validate", "run"):
        result = cli(command, path, env={"PETS": "http://127.0.0.1:9"})
        assert result.code == 2, result.output
        assert where in result.err and message in result.err
        assert "Traceback" not in result.output


def test_a_description_is_loaded_once_per_run(cli, write, pets, specs, monkeypatch):
    from runner.contracts import contracts

    loads: list[str] = []
    real = contracts.load_description

    def counted(path, shown=None):  # type: ignore[no-untyped-def]
        loads.append(str(path))
        return real(path, shown)

    monkeypatch.setattr(contracts, "load_description", counted)
    for i in range(4):
        write(flow(get("ok")), f"flow-{i}.yaml")
    result = cli("run", specs, "--exclude", "*.v3*", env={"PETS": pets})
    assert result.code == 0, result.output
    assert len(loads) == 1


def test_flows_without_openapi_do_not_import_the_validator(tmp_path):
    import subprocess
    import sys

    (tmp_path / "f.yaml").write_text("name: X\nsteps:\n  - request: {url: 'http://127.0.0.1:9/'}\n")
    code = (
        "import sys; from runner.cli import main\n"
        "try: main(['run', '-q', sys.argv[1]])\n"
        "except SystemExit: pass\n"
        "print('openapi_schema_validator' in sys.modules, 'runner.contracts.check' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "f.yaml")], check=False, capture_output=True, text=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_coverage_text_and_json_with_and_without_a_report(cli, write, pets, specs, tmp_path):
    write(flow(get("ok"), get("not-found", extra=", expect: {status: 404}")), "flows/pets.yaml")
    (tmp_path / "flows" / "pets.v30.yaml").write_text((DATA / "pets.v30.yaml").read_text())
    flows = tmp_path / "flows"
    text = cli("coverage", flows)
    assert text.code == 0, text.output
    assert "GET /pets/{petId}" in text.out and "sent: 1 of 2 operations (50%)" in text.out
    report = tmp_path / "run.json"
    assert cli("run", "--report", report, flows, env={"PETS": pets}).code == 0
    data = json.loads(cli("coverage", flows, "--report", report, "--json").out)
    rows = {(r["operation"], r["status"]): (r["sent"], r["received"]) for r in data["operations"]}
    assert rows[("GET /pets/{petId}", "200")] == (True, True)
    assert rows[("GET /pets/{petId}", "404")] == (True, True)
    assert rows[("GET /pets/mine", "200")] == (False, False)
    assert data["sent_percent"] == 50.0 and data["received_percent"] == round(200 / 3, 1)
    under = cli("coverage", flows, "--report", report, "--fail-under", "90")
    assert under.code == 1 and "coverage 66.7% is under --fail-under 90%" in under.err


def test_coverage_with_openapi_on_the_command_line_and_without_any(cli, write, specs):
    path = write(flow("{name: Mine, request: {url: 'https://pets.example.com/api/v1/pets/mine'}}", spec=None))
    result = cli("coverage", "--openapi", specs / "pets.v31.yaml", path)
    assert result.code == 0 and "sent: 1 of 1 operations (100%)" in result.out  # `mine` as a {petId}
    result = cli("coverage", "--openapi", specs / "pets.v30.yaml", path)
    assert "sent: 1 of 2 operations (50%)" in result.out  # a literal host is left out
    result = cli("coverage", path)
    assert result.code == 2 and "no OpenAPI description" in result.err


def test_static_paths_resolve_vars_made_of_vars():
    from runner.contracts.coverage import static_path
    from runner.flowfile.loader import load_flow

    flow = load_flow(Path(__file__).resolve().parent.parent / "flows" / "bigcommerce" / "checkout-new-card.yaml")
    assert static_path("{{ api }}/v3/carts/{{ checkout_id }}", flow) == "/stores/x/v3/carts/x"
    assert static_path("{{ payments }}/payments", flow) == "/stores/x/payments"
    assert static_path("https://h.example/a/{{ id }}?q=1", flow) == "/a/x"


def test_reports_and_the_console_say_what_was_checked(run, specs):
    result, steps = run(flow(get("ok"), get("ok", "/elsewhere"), get("ok", extra=", expect: {openapi: false}")))
    assert result.code == 0, result.output
    assert [s["openapi"] for s in steps] == ["GET /pets/{petId}", "not described", None]
    assert "openapi: 1 response checked against their operations (0 failed), 1 not described" in result.out
