"""The BigCommerce sandbox behaves as the reference describes, success and misuse alike."""

from __future__ import annotations

import pytest

from tests.sandbox_shopper import ADDRESS, API, NEW_CARD, PAYMENTS, Shopper


@pytest.fixture
def shopper() -> Shopper:
    return Shopper()


def test_a_new_card_checkout_ends_awaiting_fulfillment_and_deletes_the_cart(shopper):
    cart_id, order_id = shopper.checkout_to_order()
    before = shopper.order(order_id).json()
    assert (before["status_id"], before["status"]) == (0, "Incomplete")
    response = shopper.pay(shopper.access_token(order_id))
    assert response.status_code == 201
    assert response.json()["data"]["status"] == "success"
    after = shopper.order(order_id).json()
    assert (after["status_id"], after["status"], after["payment_status"]) == (11, "Awaiting Fulfillment", "captured")
    assert after["cart_id"] == cart_id
    assert shopper.get(f"/carts/{cart_id}").status_code == 404


def test_a_stored_card_from_the_accepted_methods_pays(shopper):
    _, order_id = shopper.checkout_to_order(customer_id=1)
    methods = shopper.get("/payments/methods", params={"order_id": order_id}).json()["data"]
    stored = methods[0]["stored_instruments"][0]
    assert len(stored["token"]) == 64
    response = shopper.pay(
        shopper.access_token(order_id), {"type": "stored_card", "token": stored["token"], "verification_value": "123"}
    )
    assert response.status_code == 201
    assert shopper.order(order_id).json()["status_id"] == 11


def test_a_guest_has_no_stored_instruments(shopper):
    _, order_id = shopper.checkout_to_order()
    assert shopper.get("/payments/methods", params={"order_id": order_id}).json()["data"][0]["stored_instruments"] == []


def test_a_cart_carries_redirect_urls_only_when_asked(shopper):
    with_urls = shopper.create_cart()
    assert with_urls["redirect_urls"]["checkout_url"].startswith("https://")
    without = shopper.post("/carts", json={"line_items": [{"product_id": 111, "quantity": 1}]}).json()["data"]
    assert "redirect_urls" not in without


def test_the_catalogue_lists_products_with_variants(shopper):
    products = shopper.get(
        "/catalog/products", params={"include": "variants", "is_visible": "true", "availability": "available"}
    ).json()["data"]
    assert [p["id"] for p in products] == [111, 112, 113]
    assert len(products[1]["variants"]) == 3


def test_shipping_options_appear_only_with_the_include(shopper):
    cart = shopper.create_cart()
    item = cart["line_items"]["physical_items"][0]["id"]
    data = shopper.post(
        f"/checkouts/{cart['id']}/consignments",
        json=[{"address": ADDRESS, "line_items": [{"item_id": item, "quantity": 1}]}],
    ).json()["data"]
    assert "available_shipping_options" not in data["consignments"][0]


def test_the_shipping_option_sets_the_totals(shopper):
    cart_id, _ = shopper.checkout_to_order(option=2)  # Ship by Weight: 8.00
    data = shopper.get(f"/checkouts/{cart_id}").json()["data"]
    assert data["consignments"][0]["selected_shipping_option"]["cost"] == 8
    assert data["grand_total"] == 25 + 8


def test_every_management_response_has_rate_limit_headers(shopper):
    for response in (
        shopper.get("/catalog/products"),
        shopper.get("/carts/nope"),
        shopper.post("/carts", json={}, headers={}),
    ):
        assert int(response.headers["X-Rate-Limit-Requests-Quota"]) > 0
        assert int(response.headers["X-Rate-Limit-Requests-Left"]) >= 0
        assert response.headers["X-Rate-Limit-Time-Window-Ms"] == "30000"


def test_over_quota_is_a_429_with_an_empty_body():
    from runner.sandbox import create_app
    from tests.sandbox_shopper import RecordingClient

    client = RecordingClient(create_app(quota=2))
    codes = [client.get("/stores/s/v3/catalog/products", headers=API).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    last = client.get("/stores/s/v3/catalog/products", headers=API)
    assert last.content == b""
    assert int(last.headers["X-Retry-After"]) >= 1


def test_stores_are_separate(shopper):
    cart = shopper.create_cart()
    other = Shopper(shopper.client, store="another")
    assert other.get(f"/carts/{cart['id']}").status_code == 404


# -- misuse: BigCommerce's documented answers ------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "title"),
    [
        ({"Accept": "application/json"}, "Missing X-Auth-Token header"),
        ({"X-Auth-Token": "wrong"}, "Invalid X-Auth-Token header"),
    ],
    ids=["missing", "wrong"],
)
def test_the_api_host_needs_the_access_token(shopper, headers, title):
    response = shopper.post("/carts", json={"line_items": [{"product_id": 111, "quantity": 1}]}, headers=headers)
    assert response.status_code == 401
    assert response.json()["title"] == title
    assert response.headers["content-type"].startswith("application/problem+json")


def test_orders_v2_errors_are_an_array(shopper):
    response = shopper.order(99999)
    assert response.status_code == 404
    assert response.json() == [{"status": 404, "message": "The requested resource was not found."}]


def test_an_unknown_checkout_is_404(shopper):
    response = shopper.post("/checkouts/00000000-0000-4000-8000-000000000000/billing-address", json=ADDRESS)
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_a_product_with_options_needs_a_variant(shopper):
    response = shopper.post("/carts", json={"line_items": [{"product_id": 112, "quantity": 1}]})
    assert response.status_code == 422
    assert response.json()["errors"] == {"variant": "This product has options, variant ID is required"}


def test_a_hidden_product_cannot_be_bought(shopper):
    assert shopper.post("/carts", json={"line_items": [{"product_id": 114, "quantity": 1}]}).status_code == 422


def test_billing_needs_email_and_country(shopper):
    cart = shopper.create_cart()
    response = shopper.post(f"/checkouts/{cart['id']}/billing-address", json={"first_name": "J"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"email", "country_code"}


def test_consignments_are_posted_as_an_array(shopper):
    cart = shopper.create_cart()
    item = cart["line_items"]["physical_items"][0]["id"]
    response = shopper.post(
        f"/checkouts/{cart['id']}/consignments",
        json={"address": ADDRESS, "line_items": [{"item_id": item, "quantity": 1}]},
    )
    assert response.status_code == 422


def test_the_shipping_option_is_set_in_its_own_request(shopper):
    cart = shopper.create_cart()
    item = cart["line_items"]["physical_items"][0]["id"]
    data = shopper.post(
        f"/checkouts/{cart['id']}/consignments?include=consignments.available_shipping_options",
        json=[{"address": ADDRESS, "line_items": [{"item_id": item, "quantity": 1}]}],
    ).json()["data"]
    consignment = data["consignments"][0]
    option = consignment["available_shipping_options"][0]["id"]
    mixed = shopper.put(
        f"/checkouts/{cart['id']}/consignments/{consignment['id']}",
        json={"shipping_option_id": option, "address": ADDRESS},
    )
    assert mixed.status_code == 422
    unknown = shopper.put(
        f"/checkouts/{cart['id']}/consignments/{consignment['id']}", json={"shipping_option_id": "nope"}
    )
    assert unknown.status_code == 422


def test_an_order_needs_a_shipping_option_first(shopper):
    cart = shopper.create_cart()
    shopper.post(f"/checkouts/{cart['id']}/billing-address", json=ADDRESS)
    response = shopper.post(f"/checkouts/{cart['id']}/orders")
    assert response.status_code == 422


def test_a_checkout_keeps_its_one_unpaid_order(shopper):
    cart_id, order_id = shopper.checkout_to_order()
    assert shopper.post(f"/checkouts/{cart_id}/orders").json()["data"]["id"] == order_id


def test_a_declined_card_is_422_with_its_code(shopper):
    _, order_id = shopper.checkout_to_order()
    response = shopper.pay(shopper.access_token(order_id), {**NEW_CARD, "number": "4000000000000002"})
    assert response.status_code == 422
    assert response.json()["code"] == 30104
    assert shopper.order(order_id).json()["status_id"] == 0


def test_an_expired_card_is_refused(shopper):
    _, order_id = shopper.checkout_to_order()
    response = shopper.pay(shopper.access_token(order_id), {**NEW_CARD, "expiry_year": 2001})
    assert (response.status_code, response.json()["code"]) == (422, 30103)


def test_a_pat_is_used_once(shopper):
    _, order_id = shopper.checkout_to_order()
    token = shopper.access_token(order_id)
    assert shopper.pay(token, {**NEW_CARD, "number": "4000000000000002"}).status_code == 422
    reused = shopper.pay(token)
    assert reused.status_code == 401
    assert "already been used" in reused.json()["detail"]


def test_an_order_is_paid_once(shopper):
    _, order_id = shopper.checkout_to_order()
    first, second = shopper.access_token(order_id), shopper.access_token(order_id)
    assert shopper.pay(first).status_code == 201
    again = shopper.pay(second)
    assert (again.status_code, again.json()["code"]) == (422, 30101)
    refused = shopper.post("/payments/access_tokens", json={"order": {"id": order_id}})
    assert (refused.status_code, refused.json()["code"]) == (422, 30101)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Accept": "application/vnd.bc.v1+json"}, 401),
        ({"Accept": "application/vnd.bc.v1+json", "Authorization": "Bearer x"}, 401),
        ({"Accept": "application/vnd.bc.v1+json", "Authorization": "PAT  two-spaces"}, 401),
        ({"Accept": "application/vnd.bc.v1+json", "Authorization": "PAT not-a-token"}, 401),
        ({"Accept": "application/json", "Authorization": "PAT x"}, 406),
    ],
    ids=["no-authorization", "wrong-scheme", "two-spaces", "unknown-token", "wrong-accept"],
)
def test_the_payments_host_needs_a_pat_and_its_accept(shopper, headers, status):
    response = shopper.client.post("/stores/sandbox/payments", json={"payment": {}}, headers=headers)
    assert response.status_code == status
    assert {"status", "title", "type"} <= set(response.json())


def test_an_unknown_order_has_no_token(shopper):
    response = shopper.post("/payments/access_tokens", json={"order": {"id": 424242}})
    assert (response.status_code, response.json()["code"]) == (404, 30003)


def test_a_stored_card_of_someone_else_is_not_found(shopper):
    _, order_id = shopper.checkout_to_order()  # a guest
    response = shopper.pay(
        shopper.access_token(order_id), {"type": "stored_card", "token": "0" * 64, "verification_value": "123"}
    )
    assert (response.status_code, response.json()["code"]) == (422, 30051)


def test_the_payments_host_wants_the_vendor_accept(shopper):
    assert PAYMENTS["Accept"] == "application/vnd.bc.v1+json"
