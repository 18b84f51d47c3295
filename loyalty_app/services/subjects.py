"""Which order and which customer a webhook body is about, read straight off the parsed JSON.

The inbox stores the answer on the event (``webhook_events.order_id`` / ``customer_id``) so one
order's history can be explained and one customer's bodies found when they ask to be forgotten.
It runs for every event on the drain's hot path, so it reads a few keys of the already parsed
body instead of loading it through a schema, and it never raises: an id that is missing or not
a positive 64-bit integer is simply unknown (None), and the handler judges the body.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .payloads import id_or_none as _id


class Subject(NamedTuple):
    order_id: int | None
    customer_id: int | None


NOBODY = Subject(None, None)

COMPLIANCE_CUSTOMER_TOPICS = frozenset({"customers/redact", "customers/data_request"})


def subject(topic: str, payload: Any) -> Subject:
    """The order and customer a body of ``topic`` is about (each None when it names none).

    ``orders/*`` bodies are the order (``id``, ``customer.id``), except ``orders/edited``'s
    ``order_edit.order_id``; ``refunds/create`` names its ``order_id``; ``customers/*`` bodies
    are the customer (``id``), except the privacy topics' ``customer.id``.
    """
    if not isinstance(payload, dict):
        return NOBODY
    if topic == "orders/edited":
        return Subject(_id(payload.get("order_edit"), "order_id"), None)
    if topic.startswith("orders/"):
        return Subject(_id(payload, "id"), _id(payload.get("customer"), "id"))
    if topic == "refunds/create":
        return Subject(_id(payload, "order_id"), None)
    if topic in COMPLIANCE_CUSTOMER_TOPICS:
        return Subject(None, _id(payload.get("customer"), "id"))
    if topic.startswith("customers/"):
        return Subject(None, _id(payload, "id"))
    return NOBODY


def names_someone(topic: str) -> bool:
    """Whether bodies of ``topic`` name an order or a customer (and so may hold personal data)."""
    return topic.startswith(("orders/", "customers/")) or topic == "refunds/create"
