"""`fake.*` in templates: plausible test data (names, emails, addresses, phone numbers).

A small built-in generator rather than a library: a flow needs a few believable values, drawn
from the run's seeded random generator so that `--seed N` repeats them exactly. Emails use the
reserved `example.com` domain and phone numbers the 555-01xx range kept for fiction, so nothing
generated reaches a real person.
"""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ben", "Chen", "Dana", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas",
    "Kai", "Lena", "Malik", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Yusuf",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Baptiste", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Murphy", "Nakamura", "Okafor", "Park", "Quist", "Rossi", "Singh", "Tanaka",
)  # fmt: skip
STREETS = (
    "Main Street",
    "Oak Avenue",
    "Maple Drive",
    "Cedar Lane",
    "Elm Street",
    "Lake Road",
    "Hill Street",
    "Park Place",
)
CITIES = (
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Portland", "OR", "972"),
    ("Madison", "WI", "537"),
    ("Raleigh", "NC", "276"),
)


class Fake:
    """Test data drawn from `rng`; each call draws anew."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def first_name(self) -> str:
        return self._rng.choice(FIRST_NAMES)

    def last_name(self) -> str:
        return self._rng.choice(LAST_NAMES)

    def name(self) -> str:
        return f"{self.first_name()} {self.last_name()}"

    def email(self) -> str:
        return f"{self.first_name().lower()}.{self.last_name().lower()}{self._rng.randint(1, 999)}@example.com"

    def phone(self) -> str:
        return f"+1{self._rng.randint(201, 989)}55501{self._rng.randint(0, 99):02d}"

    def street_address(self) -> str:
        return f"{self._rng.randint(1, 9999)} {self._rng.choice(STREETS)}"

    def city(self) -> str:
        return self._rng.choice(CITIES)[0]

    def postal_code(self) -> str:
        return f"{self._rng.choice(CITIES)[2]}{self._rng.randint(0, 99):02d}"

    def address(self) -> dict[str, str]:
        """A US address in BigCommerce's field names, ready to send as a billing address."""
        city, state, zip_prefix = self._rng.choice(CITIES)
        first, last = self.first_name(), self.last_name()
        return {
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "address1": self.street_address(),
            "city": city,
            "state_or_province_code": state,
            "country_code": "US",
            "postal_code": f"{zip_prefix}{self._rng.randint(0, 99):02d}",
            "phone": self.phone(),
        }
