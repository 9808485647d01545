"""Every response the sandbox gives along the flow, success and error, validates against
BigCommerce's own OpenAPI files (trimmed copies in flows/bigcommerce/openapi), checked by tests/openapi.py.

Where a file and the live API disagree, the reference (bigcommerce-headless-checkout.md) decides:
- errors a file lists with no body (GET /carts/{id} 404) or does not list (401 on the API host,
  422 from checkouts) are checked against the v3 error envelope, carts.v3.yml ErrorResponse (§2.3),
  and v2 errors against the documented array of {status, message} (§2.4);
- `redirect_urls` inside the cart's `data` is not in Cart_Full but is how the live API answers
  (§3.1, §8.1); Cart_Full allows extra properties, so it validates;
- the billing-address `phone` pattern in checkouts.v3.yml is not enforced live and the sandbox
  echoes what it is sent (§3.4, §8.12), so these scenarios send an E.164 number;
- process-payment success is 201 with a `data` envelope, as the file says since Jan 2026 (§3.12).
"""

from __future__ import annotations

import re

import pytest

from tests.openapi import conformance_errors, find_operation
from tests.sandbox_shopper import ADDRESS, NEW_CARD, Shopper

# Every endpoint of the flow, as (method, OpenAPI path template).
FLOW_ENDPOINTS = {
    ("GET", "/catalog/products"),
    ("POST", "/carts"),
    ("GET", "/carts/{cartId}"),
    ("POST", "/carts/{cartId}/redirect_urls"),
    ("GET", "/checkouts/{checkoutId}"),
    ("POST", "/checkouts/{checkoutId}/billing-address"),
    ("POST", "/checkouts/{checkoutId}/consignments"),
    ("PUT", "/checkouts/{checkoutId}/consignments/{consignmentId}"),
    ("POST", "/checkouts/{checkoutId}/orders"),
    ("GET", "/orders/{order_id}"),
    ("GET", "/payments/methods"),
    ("POST", "/payments/access_tokens"),
    ("POST", "/payments"),
}


def every_scenario(shopper: Shopper) -> None:
    """Walk the flow's happy paths and each documented misuse, recording every response."""
    shopper.get("/catalog/products", params={"include": "variants"})
    cart_id, order_id = shopper.checkout_to_order()
    shopper.get(f"/carts/{cart_id}")
    shopper.post(f"/carts/{cart_id}/redirect_urls", json={})
    shopper.get(f"/checkouts/{cart_id}?include=consignments.available_shipping_options")
    shopper.order(order_id)
    shopper.get("/payments/methods", params={"order_id": order_id})
    shopper.pay(shopper.access_token(order_id), {**NEW_CARD, "number": "4000000000000002"})  # declined
    token = shopper.access_token(order_id)
    shopper.pay(token)  # success
    shopper.pay(token)  # reused PAT
    shopper.post("/payments/access_tokens", json={"order": {"id": order_id}})  # paid order: 30101
    _, stored_order = shopper.checkout_to_order(customer_id=1)
    methods = shopper.get("/payments/methods", params={"order_id": stored_order}).json()["data"]
    shopper.pay(
        shopper.access_token(stored_order),
        {"type": "stored_card", "token": methods[0]["stored_instruments"][0]["token"], "verification_value": "123"},
    )
    misuse(shopper, cart_id)


def misuse(shopper: Shopper, gone_cart: str) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    shopper.post("/carts", json={"line_items": [{"product_id": 111, "quantity": 1}]}, headers={})  # 401
    shopper.get("/catalog/products", headers={"X-Auth-Token": "wrong"})  # 401
    shopper.post("/carts", json={"line_items": [{"product_id": 112, "quantity": 1}]})  # 422 variant
    shopper.post("/carts", json={"line_items": [{"product_id": 9999, "quantity": 1}]})  # 404 product
    shopper.get(f"/carts/{gone_cart}")  # 404: deleted after payment
    shopper.post(f"/carts/{unknown}/redirect_urls", json={})
    shopper.get(f"/checkouts/{unknown}")
    shopper.post(f"/checkouts/{unknown}/billing-address", json=ADDRESS)
    cart = shopper.create_cart()
    shopper.post(f"/checkouts/{cart['id']}/billing-address", json={"first_name": "no email"})
    shopper.post(f"/checkouts/{cart['id']}/billing-address", json={**ADDRESS, "version": 99})  # 409
    shopper.post(f"/checkouts/{cart['id']}/consignments", json={"address": ADDRESS})  # not an array
    shopper.put(f"/checkouts/{cart['id']}/consignments/nope", json={"shipping_option_id": "x"})
    shopper.post(f"/checkouts/{cart['id']}/orders")  # no shipping yet
    shopper.order(424242)
    shopper.get("/payments/methods")  # neither order_id nor checkout_id
    shopper.get("/payments/methods", params={"order_id": 424242})
    shopper.post("/payments/access_tokens", json={"order": {"id": 424242}})
    shopper.post("/payments/access_tokens", json={})
    shopper.client.post("/stores/sandbox/payments", json={}, headers={"Accept": "application/vnd.bc.v1+json"})


@pytest.fixture(scope="module")
def recorded() -> list[tuple[str, str, int, object]]:
    shopper = Shopper()
    every_scenario(shopper)
    return shopper.client.seen


def test_every_response_validates_against_the_openapi_files(recorded):
    failures = {}
    for method, path, status, body in recorded:
        errors = conformance_errors(method, path, status, body)
        if errors:
            failures[f"{method} {path} -> {status}"] = errors[:3]
    assert failures == {}


def test_every_endpoint_of_the_flow_is_covered_with_success_and_error(recorded):
    covered: dict[tuple[str, str], set[str]] = {}
    for method, path, status, _ in recorded:
        op = find_operation(method, path)
        covered.setdefault((method, op.template), set()).add("success" if status < 400 else "error")
    missing = {e: {"success", "error"} - covered.get(e, set()) for e in FLOW_ENDPOINTS}
    assert {e: m for e, m in missing.items() if m} == {}


def test_the_validator_rejects_a_wrong_body():
    errors = conformance_errors("POST", "/stores/x/payments", 201, {"data": {"id": 1, "status": "done"}})
    assert any(re.search("not of type 'string'", e) for e in errors)
    assert any("is not one of" in e for e in errors)
