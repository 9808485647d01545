"""The hand-written client the benchmark compares apiflow with: the same eight requests and
checks as bench/flow.yaml, on one httpx.AsyncClient that reuses its connection.

    python bench/by_hand.py BASE_URL FLOWS
"""

from __future__ import annotations

import asyncio
import sys

import httpx


async def one_flow(client: httpx.AsyncClient, base: str) -> None:
    headers = {"Accept": "application/json", "X-Auth-Token": "bench-token"}
    r = await client.post(f"{base}/carts", json={"line_items": [{"product_id": 1, "quantity": 1}]}, headers=headers)
    assert r.status_code == 201 and isinstance(r.json()["data"]["id"], int)
    cart = r.json()["data"]["id"]
    r = await client.post(f"{base}/checkouts/{cart}/billing-address", json={"email": "a@b.c"}, headers=headers)
    assert r.status_code == 201
    r = await client.post(f"{base}/checkouts/{cart}/consignments", json=[{"line_items": []}], headers=headers)
    assert r.status_code == 201
    consignment = r.json()["data"]["items"][0]["id"]
    r = await client.put(
        f"{base}/checkouts/{cart}/consignments/{consignment}", json={"shipping_option_id": "x"}, headers=headers
    )
    assert r.status_code == 200
    r = await client.post(f"{base}/checkouts/{cart}/orders", headers=headers)
    assert r.status_code == 201
    order = r.json()["data"]["id"]
    r = await client.get(f"{base}/payments/methods", params={"order_id": order}, headers=headers)
    assert r.status_code == 200 and len(r.json()["data"]["items"]) == 1
    method = r.json()["data"]["items"][0]["sku"]
    r = await client.post(f"{base}/payments/access_tokens", json={"order": {"id": order}}, headers=headers)
    assert r.status_code == 201
    pat = r.json()["data"]["token"]
    r = await client.post(
        f"{base}/payments",
        json={"payment": {"payment_method_id": method}},
        headers={**headers, "Authorization": f"PAT {pat}"},
    )
    assert r.status_code == 201


async def main(base: str, flows: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(flows):
            await one_flow(client, base)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
