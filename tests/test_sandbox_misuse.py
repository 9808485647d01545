"""The sandbox answers misuse as BigCommerce would: a 4xx in the API's error shape, never a 500
(issue 8 §7). Hand-picked cases from the issue, then generated bodies and query strings for every
route of the flow."""

from __future__ import annotations

import socket
import subprocess
import sys
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox_shopper import ADDRESS, API, PAYMENTS, Shopper

V3_SHAPE = {"status", "title", "type"}


@pytest.fixture(scope="module")
def shopper() -> Shopper:
    return Shopper()


@pytest.fixture(scope="module")
def cart(shopper: Shopper) -> dict:
    created = shopper.create_cart()
    assert shopper.post(f"/checkouts/{created['id']}/billing-address", json=ADDRESS).status_code == 200
    return created


def _cart_body(**extra: object) -> dict:
    return {"line_items": [{"product_id": 111, "quantity": 1}], **extra}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"channel_id": "abc"}, "channel_id"),
        ({"channel_id": [1]}, "channel_id"),
        ({"currency": "USD"}, "currency"),
        ({"currency": {"code": 7}}, "currency"),
    ],
    ids=["channel-text", "channel-list", "currency-string", "currency-code-number"],
)
def test_a_wrong_cart_field_is_a_422_naming_it(shopper, extra, field):
    response = shopper.post("/carts", json=_cart_body(**extra))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.json()) >= V3_SHAPE and field in response.json()["errors"]


def test_a_currency_the_store_does_not_sell_in_is_a_400(shopper):
    response = shopper.post("/carts", json=_cart_body(currency={"code": "EUR"}))
    assert response.status_code == 400
    assert "EUR" in response.json()["title"]


def test_json_nested_100000_deep_is_a_400(shopper):
    response = shopper.client.post(
        "/stores/sandbox/v3/carts",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**API, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["title"] == "The request body is not valid JSON"


@pytest.mark.parametrize("query", ["limit=abc", "page=1.5", "limit=-1", "page=99999999999999"])
def test_a_wrong_paging_parameter_is_a_422(shopper, query):
    response = shopper.get(f"/catalog/products?{query}")
    assert response.status_code == 422
    assert set(response.json()["errors"]) <= {"limit", "page"}


@pytest.mark.parametrize(
    "order_id", ["²", "9" * 5000, "1e3", "-1"], ids=["superscript-two", "5000-digits", "float", "negative"]
)
def test_an_order_id_that_is_not_a_number_is_a_v2_404(shopper, order_id):
    response = shopper.client.get(f"/stores/sandbox/v2/orders/{order_id}", headers=API)
    assert response.status_code == 404
    assert response.json() == [{"status": 404, "message": "The requested resource was not found."}]


@pytest.mark.parametrize("item_id", [["x"], {"id": "x"}, 7, None], ids=["list", "object", "number", "null"])
def test_a_consignment_item_id_of_the_wrong_type_is_a_422(shopper, cart, item_id):
    body = [{"address": ADDRESS, "line_items": [{"item_id": item_id, "quantity": 1}]}]
    response = shopper.post(f"/checkouts/{cart['id']}/consignments", json=body)
    assert response.status_code == 422


def test_nan_in_a_body_is_not_json(shopper):
    response = shopper.client.post(
        "/stores/sandbox/v3/payments/access_tokens",
        content=b'{"order": {"id": Infinity}}',
        headers={**API, "Content-Type": "application/json"},
    )
    assert response.status_code == 400


# Generated misuse: any JSON where the flow sends a body, any text where it sends a query.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["line_items", "product_id", "quantity", "variant_id", "customer_id", "channel_id", "currency", "locale",
     "email", "country_code", "address", "item_id", "shipping_option_id", "order", "id", "payment", "instrument",
     "payment_method_id", "type", "number", "token", "expiry_month", "expiry_year", "verification_value", "version"]
)  # fmt: skip
BODIES = st.recursive(
    JSON, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=5), max_leaves=16
)
QUERIES = st.dictionaries(
    st.sampled_from(["include", "limit", "page", "id", "order_id", "checkout_id"]), st.text(max_size=12), max_size=3
)
ROUTES = st.sampled_from(
    [
        ("POST", "/v3/carts"),
        ("GET", "/v3/carts/{cart}"),
        ("POST", "/v3/carts/{cart}/redirect_urls"),
        ("GET", "/v3/checkouts/{cart}"),
        ("POST", "/v3/checkouts/{cart}/billing-address"),
        ("POST", "/v3/checkouts/{cart}/consignments"),
        ("PUT", "/v3/checkouts/{cart}/consignments/{text}"),
        ("POST", "/v3/checkouts/{cart}/orders"),
        ("GET", "/v2/orders/{text}"),
        ("GET", "/v3/catalog/products"),
        ("GET", "/v3/payments/methods"),
        ("POST", "/v3/payments/access_tokens"),
        ("POST", "/payments"),
    ]
)


@settings(
    max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=ROUTES, body=BODIES, query=QUERIES, text=st.text(min_size=1, max_size=30))
def test_no_misuse_gets_a_500(shopper, cart, route, body, query, text):
    method, template = route
    path = template.format(cart=cart["id"], text=quote(text, safe=""))
    headers = {**(PAYMENTS if path == "/payments" else API), "Authorization": "PAT x"}
    response = shopper.client.request(
        method, f"/stores/sandbox{path}", params=query, json=body if method != "GET" else None, headers=headers
    )
    assert response.status_code < 500, (method, path, body, response.text)
    if response.status_code >= 400 and response.content:
        shape = response.json()
        assert isinstance(shape, list) or set(shape) >= V3_SHAPE, shape


def test_sandbox_port_0_prints_the_real_port():
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "sandbox", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("BigCommerce sandbox at http://127.0.0.1:") and not first.rstrip().endswith(":0")
        port = int(first.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it listens on the port it printed
    finally:
        process.terminate()
        process.communicate(timeout=10)  # reads and closes stdout


def test_a_port_in_use_is_a_usage_error_naming_it(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("sandbox", "--port", str(port))
    assert result.code == 2
    assert f"port {port}" in result.err and "in use" in result.err


def test_a_bug_of_the_sandbox_is_a_500_in_bigcommerce_shape_not_a_traceback(monkeypatch, capsys):
    def broken(self, body):
        raise RuntimeError("boom")

    monkeypatch.setattr("runner.sandbox.store.Store.create_cart", broken)
    response = Shopper().post("/carts", json=_cart_body())
    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"
    assert capsys.readouterr().err.strip() == "sandbox: POST /stores/sandbox/v3/carts: RuntimeError: boom"


def test_the_sandbox_socket_says_tcp_so_that_nagle_is_turned_off():
    # asyncio sets TCP_NODELAY only on sockets made with IPPROTO_TCP; without it every POST to
    # `apiflow sandbox` waited 40 ms for a delayed ACK (0.14 s became 3.8 s for flows/bigcommerce).
    from runner.sandbox.serve import bind

    listening = bind("127.0.0.1", 0)
    try:
        assert listening.proto == socket.IPPROTO_TCP
    finally:
        listening.close()
