"""Re-use the order fixtures (a shop with EAST/WEST/STORE1, stock, a channel API client)."""

from tests.orders.conftest import api, shop, stock  # noqa: F401
