"""BigCommerce's three error shapes, raised by the sandbox's domain code and rendered by the app.

- v3 (Management API): `{"status", "title", "type", "errors"?}`, served as application/problem+json.
- v2 (Orders v2): a JSON array `[{"status", "message"}]`.
- payments (payment methods, access tokens, the payments host): `{"status", "title", "type",
  "code"?, "detail"?}` with the documented error codes (10000-30107).
"""

from __future__ import annotations

from typing import Any, Literal

from runner.sandbox.catalog import STATUS_DOCS

Shape = Literal["v3", "v2", "payments"]

# Payments API error codes, with BigCommerce's current wording.
ORDER_NOT_FOUND = (30003, "Order could not be found.")
INVALID_DATA = (10001, "Unable to process the payment because invalid data was supplied with the transaction.")
NO_PAYMENT_CONFIGURATION = (30000, "Merchant payment configuration could not be found.")
STORED_INSTRUMENT_NOT_FOUND = (
    30051,
    "That stored payment instrument could not be found. Please try a different payment option.",
)
ORDER_INVALID = (30101, "Order is invalid.")
CARD_NOT_VERIFIED = (30102, "Your card details could not be verified. Please double check them and try again.")
CARD_EXPIRED = (30103, "Your card has expired. Please try again with a valid card.")
CARD_DECLINED = (30104, "There was a problem processing your card. Please contact your card issuer.")


class BigCommerceError(Exception):
    """An error response in one of BigCommerce's shapes."""

    def __init__(
        self,
        status: int,
        title: str,
        *,
        shape: Shape = "v3",
        errors: dict[str, str] | None = None,
        code: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.shape = shape
        self.errors = errors
        self.code = code
        self.detail = detail

    @classmethod
    def payments(
        cls,
        status: int,
        code_and_title: tuple[int, str],
        *,
        detail: str | None = None,
        errors: dict[str, str] | None = None,
    ) -> BigCommerceError:
        code, title = code_and_title
        return cls(status, title, shape="payments", code=code, detail=detail, errors=errors)

    def body(self) -> Any:
        if self.shape == "v2":
            return [{"status": self.status, "message": self.title}]
        body: dict[str, Any] = {"status": self.status, "title": self.title, "type": STATUS_DOCS}
        if self.code is not None:
            body["code"] = self.code
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        return body
