"""Flows run against the test API in-process: every request, expect and capture key."""

from __future__ import annotations

from pathlib import Path

from runner.engine.results import Outcome

CREATE = """
    - id: create
      name: Create a thing
      request:
        method: POST
        url: "{{ env.BASE }}/things"
        json: {name: widget, tags: [a, b], price: "{{ price }}"}
"""


def flow(steps: str, top: str = "") -> str:
    return f'{top}\nvars:\n  price: "{{{{ 2 + 1 }}}}"\nsteps:{steps}'


def outcome(result, index=0):
    return result.flows[0].steps[index]


def test_a_passing_flow_carries_captures_to_later_steps(run_in_process):
    result = run_in_process(
        flow(
            CREATE
            + """
      expect: {status: 201}
      capture:
        thing_id: $.data.id
        request_id: {header: X-Request-Id}
    - name: Read it back
      request: {url: "{{ env.BASE }}/things/{{ thing_id }}"}
      expect:
        json: {$.data.id: "{{ thing_id }}", $.data.price: 3}
        that: ["response.headers['content-type'] == 'application/json'", "request_id == 'req-' ~ thing_id"]
"""
        )
    )
    assert result.passed, result.flows[0].steps
    assert outcome(result).captures == {"thing_id": 1, "request_id": "req-1"}


def test_a_single_expression_keeps_its_native_type(run_in_process):
    result = run_in_process(
        flow(
            CREATE
            + "      capture: {price: $.data.price, tags: {jsonpath: '$.data.tags[*]', all: true}, first: '$.data.tags[*]'}\n"
        )
    )
    assert outcome(result).captures == {"price": 3, "tags": ["a", "b"], "first": "a"}


def test_text_with_several_expressions_renders_to_a_string(run_in_process):
    result = run_in_process(
        flow(
            """
    - request:
        method: POST
        url: "{{ env.BASE }}/echo"
        json: {label: "{{ price }} of {{ price }}", flag: "{{ price > 2 }}", items: "{{ [1, 2] }}"}
      capture: {label: $.json.label, flag: $.json.flag, items: $.json.items}
"""
        )
    )
    assert outcome(result).captures == {"label": "3 of 3", "flag": True, "items": [1, 2]}


def test_params_headers_and_http_defaults_are_sent(run_in_process):
    result = run_in_process(
        flow(
            """
    - request:
        method: GET
        url: "{{ env.BASE }}/echo"
        params: {q: "{{ price }}", many: [x, y], on: true}
        headers: {X-Step: step, X-Shared: from-step}
      capture: {echo: $}
""",
            top="http:\n  headers: {X-Shared: from-flow, X-Flow: flow}\n  params: {page: 2}\n",
        )
    )
    echo = outcome(result).captures["echo"]
    assert echo["query_list"] == [["page", "2"], ["q", "3"], ["many", "x"], ["many", "y"], ["on", "true"]]
    assert echo["headers"]["x-step"] == "step"
    assert echo["headers"]["x-shared"] == "from-step"
    assert echo["headers"]["x-flow"] == "flow"


def test_a_form_body_is_url_encoded(run_in_process):
    result = run_in_process(
        flow(
            '\n    - request: {method: POST, url: "{{ env.BASE }}/echo", form: {a: "1", b: two}}\n      capture: {form: $.form}\n'
        )
    )
    assert outcome(result).captures["form"] == {"a": "1", "b": "two"}


def test_a_raw_body_is_sent_as_is(run_in_process):
    result = run_in_process(
        flow(
            '\n    - request: {method: PUT, url: "{{ env.BASE }}/echo", body: "raw {{ price }}", headers: {Content-Type: text/plain}}\n      capture: {text: $.text, method: $.method}\n'
        )
    )
    assert outcome(result).captures == {"text": "raw 3", "method": "PUT"}


def test_cookies_are_kept_across_steps(run_in_process):
    result = run_in_process(
        flow(
            """
    - request: {url: "{{ env.BASE }}/cookie/set"}
    - request: {url: "{{ env.BASE }}/cookie/check"}
      expect: {json: {$.session: sess-cookie-value-123}}
"""
        )
    )
    assert result.passed


def test_earlier_responses_are_in_scope_by_step_id(run_in_process):
    result = run_in_process(
        flow(
            CREATE
            + """
    - request: {url: "{{ env.BASE }}/things/{{ steps.create.response.json.data.id }}"}
      expect:
        status: [200, 203]
        that: "steps.create.response.status == 201"
"""
        )
    )
    assert result.passed


def test_every_operator_passes_on_matching_values(run_in_process):
    result = run_in_process(
        flow(
            CREATE
            + """
      expect:
        status: 2xx
        headers:
          Content-Type: {contains: json, matches: "^application/"}
          X-Request-Id: {exists: true, ne: nope}
          X-Missing: {exists: false}
        json:
          $.data.name: {eq: widget, ne: gadget, in: [widget, gadget], not_in: [x], type: string, len: 6}
          $.data.price: {gt: 2, ge: 3, lt: 4, le: 3, type: integer}
          $.data.tags: {contains: a, len: {gt: 1, le: 2}, type: array}
          $.data: {type: object, contains: tags}
          $.meta: {eq: {}}
          $.data.nothing: {exists: false}
        time_ms: {lt: 5000}
        schema:
          type: object
          required: [data]
          properties: {data: {type: object, required: [id, name]}}
"""
        )
    )
    assert result.passed, [a for a in outcome(result).assertions if not a.passed]
    assert len(outcome(result).assertions) == 27


def test_every_failed_assertion_is_collected(run_in_process):
    result = run_in_process(
        flow(
            CREATE
            + """
      expect:
        status: 200
        headers: {Content-Type: {contains: xml}}
        json:
          $.data.name: gadget
          $.data.price: {gt: 10, type: string}
          $.data.tags: {len: 3}
          $.data.missing: {exists: true}
        schema: {type: object, required: [errors]}
        that: ["response.json.data.price > 100"]
"""
        )
    )
    step = outcome(result)
    assert step.outcome is Outcome.FAILED
    failed = [(a.subject, a.op) for a in step.failed_assertions]
    assert failed == [
        ("status", "eq"),
        ("header Content-Type", "contains"),
        ("$.data.name", "eq"),
        ("$.data.price", "gt"),
        ("$.data.price", "type"),
        ("$.data.tags", "len"),
        ("$.data.missing", "exists"),
        ("schema", "valid"),
        ("that response.json.data.price > 100", "true"),
    ]
    assert step.failed_assertions[0].actual == 201
    assert step.failed_assertions[2].expected == "gadget"
    assert step.failed_assertions[2].actual == "widget"
    assert step.failed_assertions[2].span.line == 15


def test_json_equality_does_not_confuse_types(run_in_process):
    result = run_in_process(flow(CREATE + "      expect: {json: {$.data.price: '3'}}\n"))
    assert not result.passed
    result = run_in_process(flow(CREATE + "      expect: {json: {$.data.price: 3.0}}\n"))
    assert result.passed


def test_a_capture_that_matches_nothing_fails_naming_the_keys_there(run_in_process):
    result = run_in_process(flow(CREATE + "      capture: {thing_id: $.data.idd}\n"))
    failure = outcome(result).failed_assertions[0]
    assert failure.subject == "capture thing_id"
    assert "$.data.idd matched nothing" in failure.message
    assert "keys: id, name, tags, price" in failure.message


def test_a_missing_header_capture_fails_listing_the_headers(run_in_process):
    result = run_in_process(flow(CREATE + "      capture: {rid: {header: X-Nope}}\n"))
    assert (
        "no X-Nope header (it has: content-length, content-type, x-request-id)"
        in outcome(result).failed_assertions[0].message
    )


def test_a_value_capture_evaluates_a_template_on_the_response(run_in_process):
    result = run_in_process(flow(CREATE + "      capture: {total: {value: '{{ response.json.data.price * 100 }}'}}\n"))
    assert outcome(result).captures == {"total": 300}


def test_a_failed_step_ends_its_flow_and_later_steps_are_not_run(run_in_process):
    result = run_in_process(
        flow(CREATE + "      expect: {status: 418}\n    - request: {url: '{{ env.BASE }}/things'}\n")
    )
    assert [s.outcome for s in result.flows[0].steps] == [Outcome.FAILED, Outcome.NOT_RUN]


def test_the_failed_step_records_the_variables_it_read(run_in_process):
    result = run_in_process(flow(CREATE + "      expect: {status: 418}\n"))
    assert outcome(result).variables == {"price": 3}


def test_a_var_override_wins_over_the_flow_default(run_in_process):
    result = run_in_process(flow(CREATE + "      capture: {price: $.data.price}\n"), vars={"price": 7})
    assert outcome(result).captures["price"] == 7


def test_a_missing_secret_fails_the_flow_before_any_request(run_in_process):
    result = run_in_process("vars:\n  token: \"{{ secret('NOPE_TOKEN') }}\"\nsteps:\n  - request: {url: 'http://x/'}\n")
    flow_result = result.flows[0]
    assert not flow_result.passed
    assert "the environment variable NOPE_TOKEN is not set" in flow_result.error
    assert flow_result.error_span.line == 2
    assert flow_result.steps[0].outcome is Outcome.NOT_RUN


def test_a_template_error_at_run_time_fails_the_step_with_its_line(run_in_process):
    result = run_in_process(flow('\n    - request: {url: "{{ env.BASE }}/things/{{ price / 0 }}"}\n'))
    step = outcome(result)
    assert step.outcome is Outcome.ERROR
    assert "ZeroDivisionError" in step.error
    assert step.error_span.line == 4


def test_the_seed_makes_generated_data_repeat(run_in_process):
    text = flow(
        "\n    - request: {method: POST, url: '{{ env.BASE }}/echo', json: {id: '{{ uuid() }}', n: '{{ random_int(1, 10**9) }}', t: '{{ now() }}'}}\n      capture: {body: $.json}\n"
    )
    first = outcome(run_in_process(text)).captures["body"]
    second = outcome(run_in_process(text)).captures["body"]
    assert first == second
    assert first["t"] == "2030-01-01T00:00:00+00:00"
    assert len(first["id"]) == 36


def test_a_relative_url_is_an_error_on_the_step(run_in_process):
    result = run_in_process(flow("\n    - request: {url: '/things'}\n"))
    assert "the url `/things` is not an absolute http(s) URL" in outcome(result).error


def test_a_schema_file_next_to_the_flow_is_used(run_in_process, write):
    write('{"type": "object", "required": ["nope"]}', "schemas/thing.json")
    result = run_in_process(flow(CREATE + "      expect: {schema: schemas/thing.json}\n"))
    failure = outcome(result).failed_assertions[0]
    assert failure.subject == "schema"
    assert "'nope' is a required property" in failure.actual


def test_a_query_in_the_url_is_kept_alongside_params(run_in_process):
    result = run_in_process(
        flow(
            "\n    - request: {url: '{{ env.BASE }}/echo?a=1&b=2', params: {c: 3}}\n      capture: {query: $.query_list}\n",
            top="http:\n  params: {d: 4}\n",
        )
    )
    assert outcome(result).captures["query"] == [["a", "1"], ["b", "2"], ["d", "4"], ["c", "3"]]


def test_redirects_are_followed_only_when_asked(run_in_process):
    text = "\n    - request: {url: '{{ env.BASE }}/redirect'}\n      expect: {status: %s}\n"
    assert run_in_process(flow(text % 302)).passed
    assert run_in_process(flow(text % 200, top="http: {follow_redirects: true}\n")).passed


def test_tls_verification_is_on_unless_turned_off():
    import ssl

    from runner.engine.transport import Pools, client_options, verified_tls

    assert verified_tls().verify_mode == ssl.CERT_REQUIRED
    assert verified_tls().check_hostname
    pools = Pools()
    assert client_options(pools, verify=True)["transport"]._verify is True
    secure, insecure = pools.pool(verify=True), pools.pool(verify=False)
    assert secure._tls().verify_mode == ssl.CERT_REQUIRED and secure._tls().check_hostname
    assert insecure._tls().verify_mode == ssl.CERT_NONE


def test_tls_verification_is_kept_when_proxies_are_set(monkeypatch):
    import ssl

    from runner.engine.transport import Pools, client_options

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert client_options(Pools(), verify=True)["verify"].verify_mode == ssl.CERT_REQUIRED
    assert client_options(Pools(), verify=False)["verify"] is False


def test_results_and_models_print_short(run_in_process):
    # asyncio and loggers print finished tasks' results; a full dataclass repr of a flow (every
    # step, the file's text) made 200 concurrent checkouts take 2 GB and five times as long.
    result = run_in_process(flow(CREATE))
    flow_result = result.flows[0]
    for value in (
        flow_result,
        flow_result.flow,
        flow_result.steps[0],
        flow_result.steps[0].step,
        flow_result.flow.source,
    ):
        assert len(repr(value)) < 200, repr(value)[:300]
    assert repr(flow_result.steps[0]) == "StepResult('Create a thing', passed)"


def test_without_keep_exchanges_a_passed_step_keeps_only_its_status(run_in_process):
    flow = """
vars: {base: "{{ env.BASE }}"}
steps:
  - name: Passes
    request: {method: POST, url: "{{ base }}/things", json: {name: a}}
    expect: {status: 201}
  - name: Fails
    request: {url: "{{ base }}/things"}
    expect: {status: 299}
"""
    result = run_in_process(flow, keep_exchanges=False)
    passed, failed = result.flows[0].steps
    assert passed.request is None and passed.response is not None
    assert (passed.response.status, passed.response.body, passed.response.headers) == (201, b"", [])
    assert failed.request is not None and failed.response is not None and failed.response.body  # kept in full
    full = run_in_process(flow).flows[0].steps[0]
    assert full.request is not None and full.response is not None and full.response.body


def test_only_responses_that_set_a_cookie_are_offered_to_the_jar(monkeypatch):
    """Speed (issue 10): httpx offers every response to the jar at a cost; apiflow's jar takes
    those with Set-Cookie only, and keeps their cookies. If httpx moves its jar, this fails."""
    import http.cookiejar

    import httpx

    from runner.engine.cookies import lean_cookies

    offered = []
    real = http.cookiejar.CookieJar.extract_cookies
    monkeypatch.setattr(http.cookiejar.CookieJar, "extract_cookies", lambda jar, *a: offered.append(1) or real(jar, *a))

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Set-Cookie": "session=s-123; Path=/"} if request.url.path == "/login" else {}
        return httpx.Response(200, headers=headers, json={"cookie": request.headers.get("cookie")})

    client = httpx.Client(transport=httpx.MockTransport(answer))
    lean_cookies(client)
    client.get("http://api.test/a")
    client.get("http://api.test/login")
    seen = client.get("http://api.test/b").json()["cookie"]
    assert len(offered) == 1 and seen == "session=s-123" and client.cookies["session"] == "s-123"


def test_a_finished_exchange_is_freed_without_the_cycle_collector(run_in_process, monkeypatch):
    """Speed (issue 10): httpx's response and its stream refer to each other; once a step has
    read its response, nothing of the exchange may wait for Python's cycle collector (a
    collection every few dozen requests, walking every object alive in every flow in flight)."""
    import gc
    import weakref

    import httpx

    from runner.engine import http_exchange

    seen: list[weakref.ref[httpx.Response]] = []
    real = http_exchange._received

    def received(response: httpx.Response, *args: object) -> object:
        seen.extend(weakref.ref(one) for one in (response, *response.history))
        return real(response, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(http_exchange, "_received", received)
    text = """
vars: {base: "{{ env.BASE }}"}
http: {follow_redirects: true}
steps:
  - request: {method: POST, url: "{{ base }}/things", json: {name: a}}
    expect: {status: 201}
  - request: {url: "{{ base }}/redirect"}
    expect: {status: 200}
"""
    gc.disable()
    try:
        result = run_in_process(text)
        assert result.passed and len(seen) == 3  # two responses, one of them after a redirect
        del result
        assert [ref() for ref in seen] == [None, None, None]
    finally:
        gc.enable()


def test_an_exchange_that_needs_no_client_layer_goes_straight_to_the_transport(run_in_process, monkeypatch):
    """Speed (issue 10): a request that follows no redirect and answers no auth challenge is
    sent on the client's transport directly; the others go through `client.send`. Either way
    the cookies, the response and the checks are the same."""
    import httpx

    through_client: list[str] = []
    real = httpx.AsyncClient.send

    async def send(self: httpx.AsyncClient, request: httpx.Request, **options: object) -> httpx.Response:
        through_client.append(request.url.path)
        return await real(self, request, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    text = """
vars: {base: "{{ env.BASE }}"}
steps:
  - request: {url: "{{ base }}/cookie/set"}
  - request: {url: "{{ base }}/cookie/check"}
    expect: {json: {$.session: sess-cookie-value-123}}
  - request: {url: "{{ base }}/redirect", follow_redirects: true}
    expect: {status: 200}
  - request: {url: "{{ base }}/digest-auth/bob/pw", auth: {digest: {username: bob, password: pw}}}
    expect: {status: 200, json: {$.user: bob}}
  - request: {url: "{{ base }}/basic-auth/bob/pw", auth: {basic: {username: bob, password: pw}}}
    expect: {status: 200, json: {$.user: bob}}
"""
    result = run_in_process(text)
    assert result.passed, [s.error or s.assertions for s in result.flows[0].steps]
    assert through_client == ["/redirect", "/digest-auth/bob/pw"]


def test_behind_a_proxy_every_exchange_goes_through_the_client(monkeypatch):
    from runner.engine.run import RunOptions, _client
    from runner.engine.transport import Pools
    from runner.flowfile.loader import load_flows

    flow = load_flows([str(Path(__file__).parent.parent / "flows" / "bigcommerce")])[0]
    assert _client(flow, RunOptions(), Pools())[1] is not None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert _client(flow, RunOptions(), Pools())[1] is None
