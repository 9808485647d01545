"""The sandbox's HTTP face: routes, authentication, rate-limit headers, error rendering.

Management API routes need `X-Auth-Token`; every answer from them carries BigCommerce's
`X-Rate-Limit-*` headers, and a store over its quota gets 429 with an empty body. The payments
route authenticates with `Authorization: PAT <token>` instead (see payments.py).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runner.sandbox import catalog, views
from runner.sandbox.errors import BigCommerceError, Shape
from runner.sandbox.store import Sandbox, Store

Handler = Callable[[Store, Request, Any], tuple[int, Any]]
WINDOW_MS = 30_000
DEFAULT_QUOTA = 10_000  # sandbox stores get a generous plan; 200 checkouts at once fit in it


class RateWindow:
    """BigCommerce's quota per 30-second window, counted per store."""

    def __init__(self, quota: int) -> None:
        self.quota = quota
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.used = 0

    def take(self) -> dict[str, str]:
        with self.lock:
            elapsed_ms = (time.monotonic() - self.started) * 1000
            if elapsed_ms >= WINDOW_MS:
                self.started, self.used, elapsed_ms = time.monotonic(), 0, 0
            self.used += 1
            left = self.quota - self.used
        headers = {
            "X-Rate-Limit-Time-Window-Ms": str(WINDOW_MS),
            "X-Rate-Limit-Time-Reset-Ms": str(int(WINDOW_MS - elapsed_ms)),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(max(left, 0)),
        }
        if left < 0:
            headers["X-Retry-After"] = str(int((WINDOW_MS - elapsed_ms) / 1000) + 1)
        return headers


def _problem(problem: BigCommerceError, headers: dict[str, str] | None = None) -> Response:
    media = "application/json" if problem.shape == "v2" else "application/problem+json"
    return JSONResponse(problem.body(), status_code=problem.status, headers=headers, media_type=media)


async def _json_body(request: Request, shape: Shape) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    if "json" not in request.headers.get("content-type", ""):
        raise BigCommerceError(415, "Unsupported Media Type", shape=shape, detail="Send Content-Type: application/json")
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply for any parser
        raise BigCommerceError(400, "The request body is not valid JSON", shape=shape) from None


def _not_json(constant: str) -> Any:
    """NaN and Infinity: Python reads them, JSON (and BigCommerce) does not."""
    raise ValueError(f"{constant} is not JSON")


def _query_int(request: Request, name: str, default: int) -> int:
    """A whole-number query parameter; anything else is BigCommerce's 422 for that field."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise BigCommerceError(
            422, "Missing or incorrect required fields", errors={name: f"{name} must be a whole number"}
        )
    return int(raw)


def _internal_error(request: Request, bug: Exception, shape: Shape) -> Response:
    print(f"sandbox: {request.method} {request.url.path}: {type(bug).__name__}: {bug}", file=sys.stderr)
    return _problem(BigCommerceError(500, "Internal Server Error", shape=shape))


def create_app(*, access_token: str = catalog.ACCESS_TOKEN, quota: int = DEFAULT_QUOTA) -> Starlette:
    """A fresh sandbox: its own stores, seeded on first use of each store hash."""
    sandbox = Sandbox(access_token)
    windows: dict[str, RateWindow] = {}

    def api(handler: Handler, shape: Shape = "v3") -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            store_hash = request.path_params["store_hash"]
            limits = windows.setdefault(store_hash, RateWindow(quota)).take()
            if "X-Retry-After" in limits:
                return Response(status_code=429, headers=limits)
            if request.headers.get("x-auth-token") != sandbox.access_token:
                missing = "x-auth-token" not in request.headers
                title = "Missing X-Auth-Token header" if missing else "Invalid X-Auth-Token header"
                return _problem(BigCommerceError(401, title, shape=shape), limits)
            try:
                status, payload = handler(sandbox.store(store_hash), request, await _json_body(request, shape))
            except BigCommerceError as problem:
                return _problem(problem, limits)
            except Exception as bug:  # a bug of the sandbox: BigCommerce's 500, and one line in the log
                return _internal_error(request, bug, shape)
            if status == 204:
                return Response(status_code=204, headers=limits)
            return JSONResponse(payload, status_code=status, headers=limits)

        return endpoint

    async def pay(request: Request) -> Response:
        store = sandbox.store(request.path_params["store_hash"])
        try:
            body = await _json_body(request, "payments")
            payment = store.payments.pay(request.headers.get("authorization"), request.headers.get("accept"), body)
        except BigCommerceError as problem:
            return _problem(problem)
        except Exception as bug:
            return _internal_error(request, bug, "payments")
        data = {"id": payment.id, "status": payment.status, "transaction_type": payment.transaction_type}
        return JSONResponse({"data": data}, status_code=201)

    base = "/stores/{store_hash}"
    routes = [
        Route(f"{base}/v3/catalog/products", api(list_products), methods=["GET"]),
        Route(f"{base}/v3/carts", api(create_cart), methods=["POST"]),
        Route(f"{base}/v3/carts/{{cart_id}}", api(get_cart), methods=["GET"]),
        Route(f"{base}/v3/carts/{{cart_id}}", api(delete_cart), methods=["DELETE"]),
        Route(f"{base}/v3/carts/{{cart_id}}/redirect_urls", api(create_redirect_urls), methods=["POST"]),
        Route(f"{base}/v3/checkouts/{{cart_id}}", api(get_checkout), methods=["GET"]),
        Route(f"{base}/v3/checkouts/{{cart_id}}/billing-address", api(set_billing_address), methods=["POST"]),
        Route(f"{base}/v3/checkouts/{{cart_id}}/consignments", api(add_consignments), methods=["POST"]),
        Route(
            f"{base}/v3/checkouts/{{cart_id}}/consignments/{{consignment_id}}", api(update_consignment), methods=["PUT"]
        ),
        Route(f"{base}/v3/checkouts/{{cart_id}}/orders", api(create_order), methods=["POST"]),
        Route(f"{base}/v2/orders/{{order_id}}", api(get_order, shape="v2"), methods=["GET"]),
        Route(f"{base}/v3/payments/methods", api(payment_methods, shape="payments"), methods=["GET"]),
        Route(f"{base}/v3/payments/access_tokens", api(create_access_token, shape="payments"), methods=["POST"]),
        Route(f"{base}/payments", pay, methods=["POST"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        title = "The resource at that URL is not found." if status == 404 else "Method Not Allowed"
        return _problem(BigCommerceError(status, title))

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})


def _includes(request: Request) -> set[str]:
    return {part.strip() for value in request.query_params.getlist("include") for part in value.split(",")}


# -- handlers: (store, request, JSON body) -> (status, payload) ----------------------------


def list_products(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    query = request.query_params
    products = list(catalog.PRODUCTS)
    if "id" in query:
        products = [p for p in products if str(p.id) == query["id"]]
    if "is_visible" in query:
        products = [p for p in products if p.is_visible == (query["is_visible"].lower() in ("true", "1"))]
    if "availability" in query:
        products = [p for p in products if p.availability == query["availability"]]
    if "type" in query:
        products = [p for p in products if query["type"] == "physical"]
    limit = max(1, min(_query_int(request, "limit", 50), 250))
    page = max(1, _query_int(request, "page", 1))
    shown = products[(page - 1) * limit : page * limit]
    include_variants = "variants" in _includes(request)
    pages = max(1, -(-len(products) // limit))
    pagination = {
        "total": len(products),
        "count": len(shown),
        "per_page": limit,
        "current_page": page,
        "total_pages": pages,
        "links": {"current": f"?page={page}&limit={limit}"},
    }
    return 200, {
        "data": [views.product(p, include_variants=include_variants) for p in shown],
        "meta": {"pagination": pagination},
    }


def create_cart(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    cart = store.create_cart(body)
    return 201, {"data": views.cart(cart, include_redirect_urls="redirect_urls" in _includes(request)), "meta": {}}


def get_cart(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    cart = store.cart(request.path_params["cart_id"])
    return 200, {"data": views.cart(cart, include_redirect_urls="redirect_urls" in _includes(request)), "meta": {}}


def delete_cart(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    store.delete_cart(request.path_params["cart_id"])
    return 204, None


def create_redirect_urls(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    cart = store.cart(request.path_params["cart_id"])
    return 201, {"data": views.redirect_urls(cart), "meta": {}}


def _checkout(store: Store, request: Request, cart_id: str | None = None) -> dict[str, Any]:
    cart = store.cart(cart_id or request.path_params["cart_id"])
    include = "consignments.available_shipping_options" in _includes(request)
    return {"data": views.checkout(cart, include_options=include), "meta": {}}


def get_checkout(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    return 200, _checkout(store, request)


def set_billing_address(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    store.set_billing_address(request.path_params["cart_id"], body)
    return 200, _checkout(store, request)


def add_consignments(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    store.add_consignments(request.path_params["cart_id"], body)
    return 200, _checkout(store, request)


def update_consignment(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    store.update_consignment(request.path_params["cart_id"], request.path_params["consignment_id"], body)
    return 200, _checkout(store, request)


def create_order(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    order = store.create_order(request.path_params["cart_id"])
    return 200, {"data": {"id": order.id}, "meta": {}}


def get_order(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    raw = request.path_params["order_id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):  # not `²`, not 5,000 digits
        raise BigCommerceError(404, "The requested resource was not found.", shape="v2")
    api_base = f"{request.url.scheme}://{request.url.netloc}/stores/{store.hash}"
    return 200, views.order_v2(store.order(int(raw)), api_base)


def payment_methods(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    query = request.query_params
    return 200, {"data": store.payments.methods(query.get("order_id"), query.get("checkout_id")), "meta": {}}


def create_access_token(store: Store, request: Request, body: Any) -> tuple[int, Any]:
    return 201, {"data": {"id": store.payments.create_token(body)}, "meta": {}}
