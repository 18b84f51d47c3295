"""URL converters: ids in paths are checked before any view or query sees them."""
from __future__ import annotations

from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**63 - 1
"""The largest id PostgreSQL's BIGINT holds; Shopify's ids and ours are all below it."""


class IdConverter(BaseConverter):
    """``<id:name>``: a positive id within BIGINT, else the route does not match (404), never a database error."""

    regex = r"[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]
