"""Payments: accepted methods, payment access tokens (PATs), and the payments host's charge.

A PAT is a JWT (HS256, signed with a key made when the process starts) shaped like the ones
BigCommerce issues: bound to one order, valid for an hour, and usable for one payment attempt.
An attempt that gets past authentication uses the token up, whether the card is then accepted
or declined, so a retry needs a new token, as with single-use tokens in general.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runner.sandbox import catalog
from runner.sandbox import errors as e
from runner.sandbox.errors import BigCommerceError

if TYPE_CHECKING:
    from runner.sandbox.store import Order, Store

TOKEN_LIFETIME_S = 3600
_SIGNING_KEY = secrets.token_bytes(32)
PAYMENTS_ACCEPT = "application/vnd.bc.v1+json"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_jwt(payload: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(_SIGNING_KEY, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


@dataclass(slots=True)
class AccessToken:
    token: str
    order_id: int
    expires_at: float
    used: bool = False


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    order_id: int
    status: str
    transaction_type: str


class PaymentRules:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.tokens: dict[str, AccessToken] = {}

    # -- Management API ------------------------------------------------------------------

    def methods(self, order_id: str | None, checkout_id: str | None) -> list[dict[str, Any]]:
        if order_id is None and checkout_id is None:
            raise BigCommerceError.payments(
                400, e.INVALID_DATA, detail="Pass order_id or checkout_id as a query parameter."
            )
        customer_id = self._customer_of(order_id, checkout_id)
        stored = []
        card = catalog.STORED_CARD
        if customer_id == card.customer_id:
            stored.append({
                "type": "stored_card", "brand": card.brand, "expiry_month": card.expiry_month,
                "expiry_year": card.expiry_year, "issuer_identification_number": card.iin,
                "last_4": card.last_4, "token": card.token, "is_default": True,
            })  # fmt: skip
        supported = [
            {"instrument_type": t, "verification_value_required": True}
            for t in ("VISA", "MASTERCARD", "AMEX", "STORED_CARD")
        ]
        return [{
            "id": catalog.PAYMENT_METHOD_ID, "name": "Stripe", "test_mode": True, "type": "card",
            "supported_instruments": supported, "stored_instruments": stored,
        }]  # fmt: skip

    def _customer_of(self, order_id: str | None, checkout_id: str | None) -> int:
        if order_id is not None:
            return self._order(order_id).cart.customer_id
        cart = self.store.carts.get(checkout_id or "")
        if cart is None:
            raise BigCommerceError(404, "Checkout not found", shape="payments", detail=f"No checkout {checkout_id}.")
        return cart.customer_id

    def _order(self, order_id: Any) -> Order:
        try:
            order = self.store.orders.get(int(order_id))
        except (TypeError, ValueError, OverflowError):
            order = None
        if order is None:
            raise BigCommerceError.payments(404, e.ORDER_NOT_FOUND)
        return order

    def create_token(self, body: Any) -> str:
        order_id = (
            body.get("order", {}).get("id") if isinstance(body, dict) and isinstance(body.get("order"), dict) else None
        )
        if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id < 1:
            raise BigCommerceError.payments(
                422, e.INVALID_DATA, errors={"order.id": "order.id is required and must be a positive integer"}
            )
        with self.store.lock:
            order = self._order(order_id)
            if order.status_id != 0:
                raise BigCommerceError.payments(
                    422,
                    e.ORDER_INVALID,
                    detail=f"Order {order_id} is {order.status}; a payment access token needs an Incomplete order.",
                )
            issued = int(time.time())
            payload = {
                "exp": issued + TOKEN_LIFETIME_S, "nbf": issued, "iat": issued, "iss": "payments.bigcommerce.com",
                "sub": self.store.hash, "jti": str(uuid.uuid4()),
                "data": {
                    "store_id": self.store.hash, "order_id": str(order_id),
                    "amount": round(order.cart.grand_total * 100), "currency": order.cart.currency,
                },
            }  # fmt: skip
            token = mint_jwt(payload)
            self.tokens[token] = AccessToken(token, order_id, issued + TOKEN_LIFETIME_S)
            return token

    # -- the payments host ---------------------------------------------------------------

    def pay(self, authorization: str | None, accept: str | None, body: Any) -> Payment:
        if accept != PAYMENTS_ACCEPT:
            raise BigCommerceError(406, "Not Acceptable", shape="payments", detail=f"Send Accept: {PAYMENTS_ACCEPT}")
        with self.store.lock:
            token = self._authenticate(authorization)
            token.used = True
            order = self._order(token.order_id)
            if order.status_id != 0:
                raise BigCommerceError.payments(
                    422, e.ORDER_INVALID, detail=f"Order {order.id} is {order.status}; it cannot be paid again."
                )
            payment = self._charge(order, _payment_body(body))
            order.status_id, order.payment_status, order.payment_method = 11, "captured", "Credit Card"
            order.modified = datetime.now(UTC).replace(microsecond=0)
            self.store.carts.pop(order.cart.id, None)  # a paid checkout's cart is deleted
            return payment

    def _authenticate(self, authorization: str | None) -> AccessToken:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme != "PAT" or not value or " " in value:
            raise BigCommerceError(
                401,
                "Unauthorized",
                shape="payments",
                detail="Send Authorization: PAT <payment access token>, with exactly one space.",
            )
        token = self.tokens.get(value)
        if token is None:
            raise BigCommerceError(
                401, "Unauthorized", shape="payments", detail="The payment access token is not valid for this store."
            )
        if token.used:
            raise BigCommerceError(
                401,
                "Unauthorized",
                shape="payments",
                detail="The payment access token has already been used; create a new one.",
            )
        if token.expires_at < time.time():
            raise BigCommerceError(
                401, "Unauthorized", shape="payments", detail="The payment access token has expired; create a new one."
            )
        return token

    def _charge(self, order: Order, payment: dict[str, Any]) -> Payment:
        if payment.get("payment_method_id") != catalog.PAYMENT_METHOD_ID:
            raise BigCommerceError.payments(
                422, e.NO_PAYMENT_CONFIGURATION, detail=f"Use payment_method_id {catalog.PAYMENT_METHOD_ID}."
            )
        instrument = payment["instrument"]
        if instrument.get("type") == "card":
            _check_card(instrument)
        elif instrument.get("type") == "stored_card":
            _check_stored_card(instrument, order)
        else:
            raise BigCommerceError.payments(422, e.INVALID_DATA, errors={"instrument.type": "Type is invalid"})
        return Payment(str(uuid.uuid4()), order.id, "success", "purchase")


def _payment_body(body: Any) -> dict[str, Any]:
    payment = body.get("payment") if isinstance(body, dict) else None
    if not isinstance(payment, dict) or not isinstance(payment.get("instrument"), dict):
        raise BigCommerceError.payments(
            422, e.INVALID_DATA, errors={"payment.instrument": "payment.instrument is required"}
        )
    if not payment.get("payment_method_id"):
        raise BigCommerceError.payments(
            422, e.INVALID_DATA, errors={"payment.payment_method_id": "payment_method_id is required"}
        )
    return payment


def _check_card(card: dict[str, Any]) -> None:
    problems = {}
    number = str(card.get("number", ""))
    if not number.isdigit() or not 12 <= len(number) <= 19:
        problems["instrument.number"] = "number must be 12 to 19 digits"
    if not card.get("cardholder_name"):
        problems["instrument.cardholder_name"] = "cardholder_name is required"
    month, year = card.get("expiry_month"), card.get("expiry_year")
    if not isinstance(month, int) or not 1 <= month <= 12:
        problems["instrument.expiry_month"] = "expiry_month must be 1 to 12"
    if not isinstance(year, int) or not 1000 <= year <= 9999:
        problems["instrument.expiry_year"] = "expiry_year must have four digits"
    if not 3 <= len(str(card.get("verification_value", ""))) <= 4:
        problems["instrument.verification_value"] = "verification_value must be 3 or 4 characters"
    if problems:
        raise BigCommerceError.payments(422, e.INVALID_DATA, errors=problems)
    today = time.gmtime()
    if (year, month) < (today.tm_year, today.tm_mon):
        raise BigCommerceError.payments(422, e.CARD_EXPIRED)
    if number in catalog.DECLINED_CARDS:
        raise BigCommerceError.payments(422, e.CARD_DECLINED)
    if number not in catalog.SUCCEEDING_CARDS:
        raise BigCommerceError.payments(
            422, e.CARD_NOT_VERIFIED, detail="The sandbox accepts 4111111111111111 and 4242424242424242."
        )


def _check_stored_card(instrument: dict[str, Any], order: Order) -> None:
    card = catalog.STORED_CARD
    if instrument.get("token") != card.token or order.cart.customer_id != card.customer_id:
        raise BigCommerceError.payments(422, e.STORED_INSTRUMENT_NOT_FOUND)
    if not 3 <= len(str(instrument.get("verification_value", ""))) <= 4:
        raise BigCommerceError.payments(
            422,
            e.INVALID_DATA,
            errors={"instrument.verification_value": "verification_value is required for this stored card"},
        )
