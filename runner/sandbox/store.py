"""The sandbox's state and rules: one `Store` per store hash, changed only under its lock.

Each public method of `Store` is one API operation: it checks the request as BigCommerce would,
changes the state, and returns the domain object for `views.py` to render, or raises
`BigCommerceError` with BigCommerce's error. The lock makes each operation atomic, so concurrent
requests (uvicorn, `--jobs`) never see half a change.
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner.sandbox import catalog
from runner.sandbox.catalog import Product, ShippingOption, Variant
from runner.sandbox.errors import BigCommerceError
from runner.sandbox.payments import PaymentRules

ADDRESS_FIELDS = (
    "first_name", "last_name", "email", "company", "address1", "address2", "city",
    "state_or_province", "state_or_province_code", "country_code", "postal_code", "phone",
)  # fmt: skip
# What an order needs of a shipping address, beyond what creating the consignment needs.
ORDER_ADDRESS_FIELDS = ("first_name", "last_name", "address1", "city", "country_code", "postal_code", "email")
INCOMPLETE, AWAITING_FULFILLMENT = 0, 11
STATUS_NAMES = {INCOMPLETE: "Incomplete", 1: "Pending", AWAITING_FULFILLMENT: "Awaiting Fulfillment"}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def short_id() -> str:
    """13 lowercase hex characters, like BigCommerce's address and consignment ids."""
    return secrets.token_hex(7)[:13]


@dataclass(slots=True)
class LineItem:
    id: str
    product: Product
    variant: Variant
    quantity: int

    @property
    def total(self) -> float:
        return round(self.variant.price * self.quantity, 2)


@dataclass(slots=True)
class Consignment:
    id: str
    address: dict[str, Any]
    line_item_ids: list[str]
    selected: ShippingOption | None = None


@dataclass(slots=True)
class Cart:
    """A cart, which is also the checkout of the same id."""

    id: str
    customer_id: int
    channel_id: int
    currency: str
    locale: str
    items: list[LineItem]
    redirect_token: str
    created: datetime = field(default_factory=now)
    updated: datetime = field(default_factory=now)
    version: int = 1
    email: str = ""
    billing: dict[str, Any] | None = None
    consignments: list[Consignment] = field(default_factory=list)
    order_id: int | None = None

    @property
    def subtotal(self) -> float:
        return round(sum(i.total for i in self.items), 2)

    @property
    def shipping(self) -> float:
        return round(sum(c.selected.cost for c in self.consignments if c.selected), 2)

    @property
    def grand_total(self) -> float:
        return round(self.subtotal + self.shipping, 2)

    def touch(self) -> None:
        self.updated = now()
        self.version += 1


@dataclass(slots=True)
class Order:
    id: int
    cart: Cart  # a snapshot: the order outlives the cart it came from
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    status_id: int = INCOMPLETE
    payment_status: str = ""
    payment_method: str = ""

    @property
    def status(self) -> str:
        return STATUS_NAMES[self.status_id]


class Store:
    """One store's carts, orders and payment state."""

    def __init__(self, store_hash: str) -> None:
        self.hash = store_hash
        self.lock = threading.Lock()
        self.carts: dict[str, Cart] = {}
        self.orders: dict[int, Order] = {}
        self.next_order_id = 100
        self.payments = PaymentRules(self)

    # -- carts ---------------------------------------------------------------------------

    def create_cart(self, body: Any) -> Cart:
        if not isinstance(body, dict):
            raise BigCommerceError(422, "The request body must be a JSON object")
        raw_items = body.get("line_items")
        if not isinstance(raw_items, list) or not raw_items:
            raise BigCommerceError(
                422, "Missing line_items in request body", errors={"line_items": "At least one line item is required"}
            )
        items = [self._line_item(raw, i) for i, raw in enumerate(raw_items)]
        customer_id = body.get("customer_id", 0)
        if not isinstance(customer_id, int) or customer_id not in (0, catalog.CUSTOMER.id):
            raise BigCommerceError(
                422, "Missing or incorrect required fields", errors={"customer_id": "Customer does not exist"}
            )
        cart = Cart(
            id=str(uuid.uuid4()),
            customer_id=customer_id,
            channel_id=_channel_id(body.get("channel_id", 1)),
            currency=_currency(body.get("currency")),
            locale=str(body.get("locale") or "en-US"),
            items=items,
            redirect_token=secrets.token_hex(32),
            email=catalog.CUSTOMER.email if customer_id else "",
        )
        with self.lock:
            self.carts[cart.id] = cart
        return cart

    def _line_item(self, raw: Any, index: int) -> LineItem:
        where = f"line_items.{index}"
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("product_id"), int)
            or isinstance(raw.get("product_id"), bool)
        ):
            raise BigCommerceError(
                422,
                "Missing or incorrect required fields",
                errors={f"{where}.product_id": "product_id is required and must be an integer"},
            )
        quantity = raw.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise BigCommerceError(
                422,
                "Missing or incorrect required fields",
                errors={f"{where}.quantity": "quantity must be a whole number of at least 1"},
            )
        product = catalog.product(raw["product_id"])
        if product is None:
            raise BigCommerceError(
                404, "Product not found", errors={f"{where}.product_id": f"Product {raw['product_id']} does not exist"}
            )
        if not product.purchasable:
            raise BigCommerceError(
                422,
                "This product is not available for purchase",
                errors={f"{where}.product_id": f"{product.name} cannot be purchased"},
            )
        variant = self._variant(product, raw.get("variant_id"))
        if quantity > product.inventory_level:
            raise BigCommerceError(
                409, f"You can only purchase a maximum of {product.inventory_level} of the {product.name} per order"
            )
        return LineItem(str(uuid.uuid4()), product, variant, quantity)

    @staticmethod
    def _variant(product: Product, variant_id: Any) -> Variant:
        if variant_id is None:
            if product.has_options:
                raise BigCommerceError(
                    422,
                    "Missing or incorrect required fields",
                    errors={"variant": "This product has options, variant ID is required"},
                )
            return product.variants[0]
        variant = next((v for v in product.variants if v.id == variant_id), None)
        if variant is None:
            raise BigCommerceError(
                422,
                "Missing or incorrect required fields",
                errors={"variant": f"Variant {variant_id} does not belong to product {product.id}"},
            )
        return variant

    def cart(self, cart_id: str) -> Cart:
        """The cart (or checkout) `cart_id`; a real 404 body has no title."""
        cart = self.carts.get(cart_id)
        if cart is None:
            raise BigCommerceError(404, "Cart not found")
        return cart

    def delete_cart(self, cart_id: str) -> None:
        with self.lock:
            self.cart(cart_id)
            del self.carts[cart_id]

    # -- checkout ------------------------------------------------------------------------

    def set_billing_address(self, cart_id: str, body: Any) -> Cart:
        address = self._address(body, required=("email", "country_code"))
        with self.lock:
            cart = self.cart(cart_id)
            self._check_version(cart, body)
            cart.billing = {"id": short_id(), **address}
            cart.email = address["email"]
            cart.touch()
            return cart

    def add_consignments(self, cart_id: str, body: Any) -> Cart:
        if not isinstance(body, list) or not body:
            raise BigCommerceError(
                422,
                "The request body must be an array of consignments",
                errors={"body": "Send a JSON array, even for one consignment"},
            )
        with self.lock:
            cart = self.cart(cart_id)
            new = [self._consignment(cart, raw, i) for i, raw in enumerate(body)]
            cart.consignments.extend(new)
            cart.touch()
            return cart

    def _consignment(self, cart: Cart, raw: Any, index: int) -> Consignment:
        if not isinstance(raw, dict):
            raise BigCommerceError(
                422, "Missing or incorrect required fields", errors={f"{index}": "Each consignment must be an object"}
            )
        address = self._address(
            raw.get("address", raw.get("shipping_address")), required=("email", "country_code"), name=f"{index}.address"
        )
        ids = self._consigned_items(cart, raw.get("line_items"), index)
        return Consignment(short_id(), address, ids)

    @staticmethod
    def _consigned_items(cart: Cart, raw: Any, index: int, changing: Consignment | None = None) -> list[str]:
        """The cart's item ids `raw` names; none may already be in another consignment."""
        if not isinstance(raw, list) or not raw:
            raise BigCommerceError(
                422, "Missing or incorrect required fields", errors={f"{index}.line_items": "line_items is required"}
            )
        known = {i.id: i for i in cart.items}
        taken = {item_id for c in cart.consignments if c is not changing for item_id in c.line_item_ids}
        ids = []
        for entry in raw:
            item_id = entry.get("item_id") if isinstance(entry, dict) else None
            if not isinstance(item_id, str) or item_id not in known:
                raise BigCommerceError(
                    422,
                    "Missing or incorrect required fields",
                    errors={f"{index}.line_items": f"{item_id} is not a line item of this cart"},
                )
            if item_id in taken:
                raise BigCommerceError(
                    422,
                    "Missing or incorrect required fields",
                    errors={f"{index}.line_items": f"{item_id} is already in a consignment"},
                )
            ids.append(item_id)
        return ids

    def update_consignment(self, cart_id: str, consignment_id: str, body: Any) -> Cart:
        if not isinstance(body, dict):
            raise BigCommerceError(
                422, "The request body must be a JSON object", errors={"body": "Send one consignment as an object"}
            )
        with self.lock:
            cart = self.cart(cart_id)
            self._check_version(cart, body)
            consignment = next((c for c in cart.consignments if c.id == consignment_id), None)
            if consignment is None:
                raise BigCommerceError(404, "Consignment not found")
            if "shipping_option_id" in body:
                self._select_shipping(consignment, body)
            else:
                self._change_consignment(cart, consignment, body)
            cart.touch()
            return cart

    @staticmethod
    def _select_shipping(consignment: Consignment, body: dict[str, Any]) -> None:
        mixed = sorted(k for k in ("address", "shipping_address", "line_items") if k in body)
        if mixed:
            raise BigCommerceError(
                422,
                "The shipping option must be selected in its own request",
                errors={"shipping_option_id": f"Send it without {', '.join(mixed)}"},
            )
        option = next((o for o in catalog.SHIPPING_OPTIONS if o.id == body["shipping_option_id"]), None)
        if option is None:
            raise BigCommerceError(
                422, "Missing or incorrect required fields", errors={"shipping_option_id": "Invalid shipping option"}
            )
        consignment.selected = option

    def _change_consignment(self, cart: Cart, consignment: Consignment, body: dict[str, Any]) -> None:
        if "address" in body or "shipping_address" in body:
            consignment.address = self._address(
                body.get("address", body.get("shipping_address")), required=("email", "country_code")
            )
            consignment.selected = None  # a new address can change what shipping is available
        if "line_items" in body:
            consignment.line_item_ids = self._consigned_items(cart, body["line_items"], 0, changing=consignment)
            consignment.selected = None

    def create_order(self, cart_id: str) -> Order:
        with self.lock:
            cart = self.cart(cart_id)
            if cart.order_id is not None and self.orders[cart.order_id].status_id == INCOMPLETE:
                return self.orders[cart.order_id]  # an unpaid checkout keeps its one order
            self._check_ready(cart)
            order = Order(self.next_order_id, _snapshot(cart))
            self.next_order_id += 1
            self.orders[order.id] = order
            cart.order_id = order.id
            return order

    @staticmethod
    def _check_ready(cart: Cart) -> None:
        if not cart.billing or not cart.billing.get("email"):
            raise BigCommerceError(
                422,
                "A billing address is required to create an order",
                errors={"billing_address": "Add a billing address with an email first"},
            )
        consigned = {i for c in cart.consignments for i in c.line_item_ids}
        if missing := [i.id for i in cart.items if i.id not in consigned]:
            raise BigCommerceError(
                422,
                "Every physical item needs a consignment",
                errors={"consignments": f"Items without a consignment: {', '.join(missing)}"},
            )
        for c in cart.consignments:
            if c.selected is None:
                raise BigCommerceError(
                    422,
                    "Every consignment needs a shipping option",
                    errors={"consignments": f"Consignment {c.id} has no selected shipping option"},
                )
            if absent := [f for f in ORDER_ADDRESS_FIELDS if not c.address.get(f)]:
                raise BigCommerceError(
                    422,
                    "A shipping address for this order is incomplete",
                    errors={"consignments": f"Consignment {c.id} lacks {', '.join(absent)}"},
                )

    def order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise BigCommerceError(404, "The requested resource was not found.", shape="v2")
        return order

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _address(raw: Any, *, required: tuple[str, ...], name: str = "") -> dict[str, Any]:
        prefix = f"{name}." if name else ""
        if not isinstance(raw, dict):
            raise BigCommerceError(
                422, "Missing or incorrect required fields", errors={name or "address": "An address object is required"}
            )
        absent = [f for f in required if not raw.get(f)]
        if absent:
            raise BigCommerceError(
                422, "Missing or incorrect required fields", errors={f"{prefix}{f}": f"{f} is required" for f in absent}
            )
        address: dict[str, Any] = {f: str(raw.get(f) or "") for f in ADDRESS_FIELDS}
        code = address["country_code"].upper()
        state = address["state_or_province_code"] or address["state_or_province"]
        if code == "US" and state.upper() in catalog.US_STATES:
            address["state_or_province"] = catalog.US_STATES[state.upper()]
            address["state_or_province_code"] = state.upper()
        address["country_code"] = code
        address["country"] = catalog.COUNTRIES.get(code, code)
        address["custom_fields"] = raw.get("custom_fields") if isinstance(raw.get("custom_fields"), list) else []
        return address

    @staticmethod
    def _check_version(cart: Cart, body: Any) -> None:
        version = body.get("version") if isinstance(body, dict) else None
        if version is not None and version != cart.version:
            raise BigCommerceError(
                409,
                "The request cannot be processed due to a possible conflict. Please review the changes and try again.",
            )


def _fields(cart: Cart) -> dict[str, Any]:
    return {name: getattr(cart, name) for name in Cart.__dataclass_fields__}


def _snapshot(cart: Cart) -> Cart:
    """A copy of the cart for its order, so deleting the cart later leaves the order whole."""
    consignments = [Consignment(c.id, dict(c.address), list(c.line_item_ids), c.selected) for c in cart.consignments]
    return Cart(
        **{
            **_fields(cart),
            "items": list(cart.items),
            "consignments": consignments,
            "billing": dict(cart.billing or {}),
        }
    )


class Sandbox:
    """Every store the sandbox has been asked about, each seeded on first use."""

    def __init__(self, access_token: str = catalog.ACCESS_TOKEN) -> None:
        self.access_token = access_token
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()

    def store(self, store_hash: str) -> Store:
        with self._lock:
            if store_hash not in self._stores:
                self._stores[store_hash] = Store(store_hash)
            return self._stores[store_hash]


def _channel_id(value: Any) -> int:
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BigCommerceError(
            422, "Missing or incorrect required fields", errors={"channel_id": "channel_id must be a positive integer"}
        )
    return value


def _currency(value: Any) -> str:
    """`{"code": "USD"}`, the transactional currency; the sandbox's store sells in USD only."""
    if value is None:
        return "USD"
    code = value.get("code") if isinstance(value, dict) else None
    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{3}", code):
        raise BigCommerceError(
            422,
            "Missing or incorrect required fields",
            errors={"currency": 'currency must be an object with an ISO 4217 code, such as {"code": "USD"}'},
        )
    if code.upper() != "USD":
        raise BigCommerceError(400, f"The currency {code.upper()} is not a transactional currency of this store")
    return code.upper()
