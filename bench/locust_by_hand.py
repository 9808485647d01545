"""The plain Locust user the load bench compares `apiflow load` with: the same eight requests
and checks as bench/flow.yaml, on Locust's own HttpUser (requests' session)."""

from __future__ import annotations

import os

from locust import HttpUser, constant, task

TOKEN = os.environ.get("BENCH_TOKEN", "bench-token")


class ByHand(HttpUser):
    wait_time = constant(0)
    host = os.environ.get("BENCH_URL", "http://127.0.0.1:8000")

    @task
    def checkout(self) -> None:
        headers = {"Accept": "application/json", "X-Auth-Token": TOKEN}
        c = self.client
        r = c.post("/carts", json={"line_items": [{"product_id": 1, "quantity": 1}]}, headers=headers, name="cart")
        cart = r.json()["data"]["id"]
        c.post(f"/checkouts/{cart}/billing-address", json={"email": "a@b.c"}, headers=headers, name="billing")
        r = c.post(f"/checkouts/{cart}/consignments", json=[{"line_items": []}], headers=headers, name="consignment")
        consignment = r.json()["data"]["items"][0]["id"]
        c.put(f"/checkouts/{cart}/consignments/{consignment}", json={"shipping_option_id": "x"}, headers=headers,
              name="shipping")  # fmt: skip
        order = c.post(f"/checkouts/{cart}/orders", headers=headers, name="order").json()["data"]["id"]
        r = c.get("/payments/methods", params={"order_id": order}, headers=headers, name="methods")
        method = r.json()["data"]["items"][0]["sku"]
        pat = c.post("/payments/access_tokens", json={"order": {"id": order}}, headers=headers, name="token")
        c.post("/payments", json={"payment": {"payment_method_id": method}},
               headers={**headers, "Authorization": f"PAT {pat.json()['data']['token']}"}, name="pay")  # fmt: skip
