"""An embedded emulator of BigCommerce's headless checkout endpoints (the "sandbox").

A Starlette ASGI app that knows nothing of the runner: one origin serves the Management API
paths (`/stores/{store_hash}/v3/...`, `/stores/{store_hash}/v2/orders/{id}`) and the payments
host path (`/stores/{store_hash}/payments`). State lives in memory, one seeded store per store
hash. The data it starts with (catalogue, shipping, customer, cards) is in `catalog.py` and in
the README.
"""

from runner.sandbox.app import create_app
from runner.sandbox.catalog import ACCESS_TOKEN, STORE_HASH

__all__ = ["ACCESS_TOKEN", "STORE_HASH", "create_app"]
