"""URL converters: ids in paths are checked before any view or query sees them."""
from __future__ import annotations

from werkzeug.routing import BaseConverter

MAX_ID = 2**63 - 1
"""The largest id PostgreSQL's BIGINT holds; Shopify's ids and ours are all below it."""


def _at_most(limit: str) -> str:
    """A regex for the positive integers up to ``limit`` (decimal, no leading zeros), digit by digit."""
    shorter = f"[1-9][0-9]{{0,{len(limit) - 2}}}"
    same_length = []
    for index, digit in enumerate(limit):
        lowest = 1 if index == 0 else 0
        if int(digit) > lowest:
            rest = len(limit) - index - 1
            same_length.append(f"{limit[:index]}[{lowest}-{int(digit) - 1}][0-9]{{{rest}}}")
    return "(?:" + "|".join([shorter, *same_length, limit]) + ")"


class IdConverter(BaseConverter):
    """``<id:name>``: a positive id within BIGINT, else the route does not match (404), never a database error.

    The bound is in the regex, not in ``to_python``: werkzeug notes a rule's other methods before
    it converts, so an id refused there answered 405 on a route with PUT and DELETE (schemathesis
    found ``DELETE /tiers/9223372036854775808`` answering 405).
    """

    regex = _at_most(str(MAX_ID))

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]
