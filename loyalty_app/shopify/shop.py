"""What the app reads of the shop itself."""
from __future__ import annotations

from .client import AdminClient


def shop_timezone(client: AdminClient) -> str | None:
    """The shop's IANA time zone (``America/New_York``), the same value ``shop/update`` sends as ``iana_timezone``."""
    zone = (client.execute("ShopTimezone").get("shop") or {}).get("ianaTimezone")
    return zone if isinstance(zone, str) else None
