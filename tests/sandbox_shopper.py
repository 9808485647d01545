"""A scripted shopper for the sandbox tests: each step of the headless checkout as a method,
in-process through the ASGI app, recording every response for the conformance test."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from runner.sandbox import ACCESS_TOKEN, create_app

API = {"X-Auth-Token": ACCESS_TOKEN, "Accept": "application/json"}
PAYMENTS = {"Accept": "application/vnd.bc.v1+json"}
ADDRESS = {
    "first_name": "Jane", "last_name": "Doe", "email": "jane.doe@example.com", "company": "",
    "address1": "555 Main Street", "address2": "", "city": "Austin", "state_or_province": "TX",
    "state_or_province_code": "TX", "country_code": "US", "postal_code": "78701", "phone": "+15555555555",
}  # fmt: skip
NEW_CARD = {
    "type": "card",
    "number": "4111111111111111",
    "cardholder_name": "Jane Doe",
    "expiry_month": 12,
    "expiry_year": 2030,
    "verification_value": "123",
}


class SyncASGITransport(httpx.BaseTransport):
    """httpx's ASGITransport, driven synchronously: each request runs in its own event loop."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def exchange() -> httpx.Response:
            request.stream = httpx.ByteStream(request.read())
            response = await self.inner.handle_async_request(request)
            return httpx.Response(response.status_code, headers=response.headers, content=await response.aread())

        return asyncio.run(exchange())


class RecordingClient(httpx.Client):
    """An in-process client of an ASGI app that keeps every (method, path, status, body) it saw."""

    def __init__(self, app: Any) -> None:
        super().__init__(transport=SyncASGITransport(app), base_url="http://sandbox.test")
        self.seen: list[tuple[str, str, int, Any]] = []

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        body = response.json() if response.content else None
        self.seen.append((method.upper(), response.request.url.path, response.status_code, body))
        return response


class Shopper:
    def __init__(self, client: RecordingClient | None = None, store: str = "sandbox") -> None:
        self.client = client or RecordingClient(create_app())
        self.api = f"/stores/{store}/v3"
        self.store = store

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(self.api + path, headers=kwargs.pop("headers", API), **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(self.api + path, headers=kwargs.pop("headers", API), **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.put(self.api + path, headers=kwargs.pop("headers", API), **kwargs)

    def create_cart(
        self, product_id: int = 111, quantity: int = 1, customer_id: int = 0, **item: Any
    ) -> dict[str, Any]:
        body = {"customer_id": customer_id, "line_items": [{"product_id": product_id, "quantity": quantity, **item}]}
        response = self.post("/carts?include=redirect_urls", json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    def checkout_to_order(self, customer_id: int = 0, option: int = 1) -> tuple[str, int]:
        """Cart → billing → consignment → shipping option → order: (cart id, order id)."""
        cart = self.create_cart(customer_id=customer_id)
        cart_id, item_id = cart["id"], cart["line_items"]["physical_items"][0]["id"]
        assert self.post(f"/checkouts/{cart_id}/billing-address", json=ADDRESS).status_code == 200
        response = self.post(
            f"/checkouts/{cart_id}/consignments?include=consignments.available_shipping_options",
            json=[{"address": ADDRESS, "line_items": [{"item_id": item_id, "quantity": 1}]}],
        )
        assert response.status_code == 200, response.text
        consignment = response.json()["data"]["consignments"][0]
        chosen = consignment["available_shipping_options"][option]["id"]
        assert (
            self.put(
                f"/checkouts/{cart_id}/consignments/{consignment['id']}", json={"shipping_option_id": chosen}
            ).status_code
            == 200
        )
        response = self.post(f"/checkouts/{cart_id}/orders")
        assert response.status_code == 200, response.text
        return cart_id, response.json()["data"]["id"]

    def access_token(self, order_id: int) -> str:
        response = self.post("/payments/access_tokens", json={"order": {"id": order_id}})
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    def pay(self, token: str, instrument: dict[str, Any] | None = None, **extra: Any) -> httpx.Response:
        body = {"payment": {"instrument": instrument or NEW_CARD, "payment_method_id": "stripe.card", **extra}}
        headers = {**PAYMENTS, "Authorization": f"PAT {token}"}
        return self.client.post(f"/stores/{self.store}/payments", json=body, headers=headers)

    def order(self, order_id: int) -> httpx.Response:
        return self.client.get(f"/stores/{self.store}/v2/orders/{order_id}", headers=API)
