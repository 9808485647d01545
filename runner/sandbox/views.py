"""How the sandbox's objects look on the wire: BigCommerce's JSON shapes, field for field.

Shapes follow the reference and BigCommerce's OpenAPI files (tests/test_sandbox_conformance.py
checks every response against those). v3 money is a number; v2 (orders) money is a string with
four decimals, and v2 dates are RFC 2822.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any

from runner.sandbox import catalog
from runner.sandbox.catalog import Product, ShippingOption, Variant
from runner.sandbox.store import Cart, Consignment, LineItem, Order


def _time(moment: datetime) -> str:
    return moment.isoformat()


def _item(item: LineItem, *, in_checkout: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": item.id, "variant_id": item.variant.id, "product_id": item.product.id,
        "sku": item.variant.sku, "name": item.product.name,
        "url": f"https://{catalog.STORE_DOMAIN}/products/{item.product.id}/",
        "quantity": item.quantity,
        "image_url": f"https://cdn.{catalog.STORE_DOMAIN}/products/{item.product.id}.jpg",
        "discounts": [], "coupons": [], "discount_amount": 0, "coupon_amount": 0,
        "original_price": item.variant.price, "list_price": item.variant.price, "sale_price": item.variant.price,
        "extended_list_price": item.total, "extended_sale_price": item.total,
        "is_require_shipping": True, "is_mutable": True,
    }  # fmt: skip
    body["is_taxable" if in_checkout else "taxable"] = True
    if in_checkout:
        body["gift_wrapping"] = None
    if item.variant.option_label:
        body["options"] = [
            {"name": "Size", "nameId": 1, "value": item.variant.option_label, "valueId": item.variant.id}
        ]
    return body


def _line_items(cart: Cart, *, in_checkout: bool) -> dict[str, Any]:
    return {
        "physical_items": [_item(i, in_checkout=in_checkout) for i in cart.items],
        "digital_items": [],
        "gift_certificates": [],
        "custom_items": [],
    }


def redirect_urls(cart: Cart) -> dict[str, str]:
    query = f"id={cart.id}&token={cart.redirect_token}"
    base = f"https://{catalog.STORE_DOMAIN}/cart.php"
    return {
        "cart_url": f"{base}?action=load&{query}",
        "checkout_url": f"{base}?action=loadInCheckout&{query}",
        "embedded_checkout_url": f"{base}?embedded=1&action=loadInCheckout&{query}",
    }


def cart(cart: Cart, *, include_redirect_urls: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": cart.id, "customer_id": cart.customer_id, "channel_id": cart.channel_id, "email": cart.email,
        "currency": {"code": cart.currency}, "tax_included": False,
        "base_amount": cart.subtotal, "discount_amount": 0, "manual_discount_amount": 0, "cart_amount": cart.subtotal,
        "coupons": [], "discounts": [],
        "line_items": _line_items(cart, in_checkout=False),
        "created_time": _time(cart.created), "updated_time": _time(cart.updated),
        "locale": cart.locale, "version": cart.version,
    }  # fmt: skip
    if include_redirect_urls:
        body["redirect_urls"] = redirect_urls(cart)
    return body


def _option(option: ShippingOption) -> dict[str, Any]:
    return {
        "id": option.id, "type": option.type, "description": option.description, "image_url": "",
        "cost": option.cost, "transit_time": option.transit_time, "additional_description": "",
    }  # fmt: skip


def _consignment(consignment: Consignment, *, include_options: bool) -> dict[str, Any]:
    cost = consignment.selected.cost if consignment.selected else 0
    body: dict[str, Any] = {
        "id": consignment.id,
        "shipping_cost_inc_tax": cost, "shipping_cost_ex_tax": cost,
        "handling_cost_inc_tax": 0, "handling_cost_ex_tax": 0,
        "coupon_discounts": [], "discounts": [],
        "line_item_ids": list(consignment.line_item_ids),
        "address": dict(consignment.address),
        "shipping_address": dict(consignment.address),
    }  # fmt: skip
    if consignment.selected:
        body["selected_shipping_option"] = _option(consignment.selected)
    if include_options:
        body["available_shipping_options"] = [_option(o) for o in catalog.SHIPPING_OPTIONS]
    return body


def checkout(cart: Cart, *, include_options: bool = False) -> dict[str, Any]:
    in_cart = {
        "id": cart.id, "customer_id": cart.customer_id, "channel_id": cart.channel_id, "email": cart.email,
        "currency": {"code": cart.currency}, "tax_included": False,
        "base_amount": cart.subtotal, "discount_amount": 0,
        "cart_amount_inc_tax": cart.subtotal, "cart_amount_ex_tax": cart.subtotal,
        "coupons": [], "discounts": [],
        "line_items": _line_items(cart, in_checkout=True),
        "created_time": _time(cart.created), "updated_time": _time(cart.updated),
    }  # fmt: skip
    return {
        "id": cart.id,
        "cart": in_cart,
        "billing_address": dict(cart.billing) if cart.billing else {},
        "consignments": [_consignment(c, include_options=include_options) for c in cart.consignments],
        "taxes": [], "coupons": [], "fees": [],
        "order_id": str(cart.order_id) if cart.order_id is not None else None,
        "shipping_cost_total_inc_tax": cart.shipping, "shipping_cost_total_ex_tax": cart.shipping,
        "handling_cost_total_inc_tax": 0, "handling_cost_total_ex_tax": 0,
        "tax_total": 0, "subtotal_inc_tax": cart.subtotal, "subtotal_ex_tax": cart.subtotal,
        "grand_total": cart.grand_total,
        "created_time": _time(cart.created), "updated_time": _time(cart.updated),
        "customer_message": "", "version": cart.version,
    }  # fmt: skip


def _money(amount: float) -> str:
    return f"{amount:.4f}"


def order_v2(order: Order, api_base: str) -> dict[str, Any]:
    cart = order.cart
    billing = cart.billing or {}
    links = {
        name: {"url": f"{api_base}/v2/orders/{order.id}/{path}", "resource": f"/orders/{order.id}/{path}"}
        for name, path in (
            ("products", "products"),
            ("shipping_addresses", "shipping_addresses"),
            ("coupons", "coupons"),
        )
    }
    return {
        "id": order.id, "customer_id": cart.customer_id,
        "date_created": format_datetime(order.created), "date_modified": format_datetime(order.modified),
        "status_id": order.status_id, "status": order.status, "custom_status": order.status,
        "subtotal_ex_tax": _money(cart.subtotal), "subtotal_inc_tax": _money(cart.subtotal), "subtotal_tax": _money(0),
        "base_shipping_cost": _money(cart.shipping),
        "shipping_cost_ex_tax": _money(cart.shipping), "shipping_cost_inc_tax": _money(cart.shipping),
        "total_ex_tax": _money(cart.grand_total), "total_inc_tax": _money(cart.grand_total), "total_tax": _money(0),
        "items_total": sum(i.quantity for i in cart.items), "items_shipped": 0,
        "payment_method": order.payment_method, "payment_provider_id": "", "payment_status": order.payment_status,
        "currency_code": cart.currency, "default_currency_code": cart.currency,
        "cart_id": cart.id, "order_source": "checkout_api", "channel_id": cart.channel_id,
        "is_deleted": False, "customer_message": "",
        "billing_address": {
            "first_name": billing.get("first_name", ""), "last_name": billing.get("last_name", ""),
            "company": billing.get("company", ""), "street_1": billing.get("address1", ""),
            "street_2": billing.get("address2", ""), "city": billing.get("city", ""),
            "state": billing.get("state_or_province", ""), "zip": billing.get("postal_code", ""),
            "country": billing.get("country", ""), "country_iso2": billing.get("country_code", ""),
            "phone": billing.get("phone", ""), "email": billing.get("email", ""), "form_fields": [],
        },
        **links,
    }  # fmt: skip


def _option_values(variant: Variant) -> list[dict[str, Any]]:
    if not variant.option_label:
        return []
    return [{"id": variant.id, "label": variant.option_label, "option_id": 1, "option_display_name": "Size"}]


def product(product: Product, *, include_variants: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": product.id, "name": product.name, "type": "physical", "sku": product.sku,
        "weight": product.weight, "price": product.price, "cost_price": 0, "retail_price": 0, "sale_price": 0,
        "is_visible": product.is_visible, "availability": product.availability,
        "inventory_level": product.inventory_level, "inventory_tracking": "none",
        "is_free_shipping": False, "is_featured": False, "categories": [23], "brand_id": 0,
        "order_quantity_minimum": 0, "order_quantity_maximum": 0,
        "custom_url": {"url": f"/products/{product.id}/", "is_customized": False},
    }  # fmt: skip
    if not product.has_options:
        body["base_variant_id"] = product.variants[0].id
    if include_variants:
        body["variants"] = [
            {
                "id": v.id, "product_id": product.id, "sku": v.sku, "price": v.price, "calculated_price": v.price,
                "purchasing_disabled": not product.purchasable, "inventory_level": product.inventory_level,
                "option_values": _option_values(v),
            }
            for v in product.variants
        ]  # fmt: skip
    return body
