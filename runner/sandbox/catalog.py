"""The sandbox's seeded data: products, shipping options, payment methods, a customer, cards.

Every store hash starts with a copy of this. Card numbers follow the convention of gateway test
modes (Stripe's among them): 4111111111111111 and 4242424242424242 succeed, 4000000000000002 is
declined.
"""

from __future__ import annotations

from dataclasses import dataclass

STORE_HASH = "sandbox"
ACCESS_TOKEN = "sandbox-access-token"
STORE_DOMAIN = "sandbox.mybigcommerce.test"
STATUS_DOCS = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"


@dataclass(frozen=True, slots=True)
class Variant:
    id: int
    sku: str
    price: float
    option_label: str = ""  # "" for a product's base variant


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    sku: str
    price: float
    weight: float
    variants: tuple[Variant, ...]
    is_visible: bool = True
    availability: str = "available"
    inventory_level: int = 100

    @property
    def has_options(self) -> bool:
        return len(self.variants) > 1

    @property
    def purchasable(self) -> bool:
        return self.is_visible and self.availability == "available" and self.inventory_level > 0


PRODUCTS = (
    Product(111, "Orbit Terrarium - Small", "OTS", 25.0, 1.0, (Variant(66, "OTS", 25.0),)),
    Product(
        112,
        "Able Brewing System",
        "ABS",
        225.0,
        4.0,
        (
            Variant(71, "ABS-S", 225.0, "Small"),
            Variant(72, "ABS-M", 235.0, "Medium"),
            Variant(73, "ABS-L", 245.0, "Large"),
        ),
    ),
    Product(113, "Chemex Coffeemaker 3 Cup", "CC3C", 49.5, 2.0, (Variant(80, "CC3C", 49.5),)),
    Product(114, "Retired Mug", "RM", 12.0, 0.5, (Variant(90, "RM", 12.0),), is_visible=False, availability="disabled"),
)


@dataclass(frozen=True, slots=True)
class ShippingOption:
    id: str
    type: str
    description: str
    cost: float
    transit_time: str


SHIPPING_OPTIONS = (
    ShippingOption("6ded13392879983ee32a3563f5fa6a7b", "shipping_pickupinstore", "Pickup In Store", 0.0, ""),
    ShippingOption("26fb2db4ad77b0f039328d22d2869617", "shipping_flatrate", "Flat Rate", 5.0, "3-5 business days"),
    ShippingOption("508540c73074d5ffa2cc3dced0adc552", "shipping_byweight", "Ship by Weight", 8.0, "1-2 business days"),
)


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True, slots=True)
class StoredCard:
    customer_id: int
    token: str  # 64 characters, as BigCommerce's stored instrument tokens
    brand: str
    last_4: str
    iin: str
    expiry_month: int
    expiry_year: int


CUSTOMER = Customer(1, "Jane", "Doe", "jane.doe@example.com")
STORED_CARD = StoredCard(
    customer_id=1,
    token="050a1e5c982e5905288ec5ec33f292772762033a0704f46fccb16bf1940b51ef",
    brand="VISA",
    last_4="1111",
    iin="411111",
    expiry_month=12,
    expiry_year=2030,
)
PAYMENT_METHOD_ID = "stripe.card"
SUCCEEDING_CARDS = frozenset({"4111111111111111", "4242424242424242"})
DECLINED_CARDS = frozenset({"4000000000000002"})

COUNTRIES = {
    "US": "United States",
    "GB": "United Kingdom",
    "CA": "Canada",
    "AU": "Australia",
    "DE": "Germany",
    "FR": "France",
}
US_STATES = {"TX": "Texas", "CA": "California", "NY": "New York", "WA": "Washington", "FL": "Florida", "IL": "Illinois"}


def product(product_id: int) -> Product | None:
    return next((p for p in PRODUCTS if p.id == product_id), None)
