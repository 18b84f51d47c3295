"""One small handler per topic, and the map from topic to handler.

Each takes (session, shop, payload, event), calls a service and returns a short result for
the inbox row. None commits: the inbox commits the effects with the event's status.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from loyalty_app.models import Shop, WebhookEvent
from loyalty_app.services import compliance, customers, orders, redemptions
from loyalty_app.services.inbox import Handler
from loyalty_app.services.shops import program_settings


def order_paid(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return orders.record_paid_order(session, shop, payload)


def order_created(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """Earn on creation only when the shop chose to and the order is already paid."""
    if program_settings(shop).earn_on != "orders/create":
        return "ignored: the shop earns on orders/paid"
    if not isinstance(payload, dict) or payload.get("financial_status") != "paid":
        return "ignored: not paid yet"
    return orders.record_paid_order(session, shop, payload)


def order_updated(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return redemptions.mark_codes_used(session, shop, payload)


def refund_created(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return orders.record_refund(session, shop, payload)


def order_cancelled(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return orders.record_cancellation(session, shop, payload)


def customer_changed(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """customers/create, /update and /enable: the topic tells whether an account is being created."""
    return customers.sync_customer(session, shop, payload, event.topic)


def app_uninstalled(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return compliance.uninstall(session, shop)


def customer_data_request(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return compliance.data_request(session, shop, payload)


def customer_redact(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return compliance.redact_customer(session, shop, payload)


def shop_redact(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    return compliance.redact_shop(session, shop, event)


HANDLERS: dict[str, Handler] = {
    "orders/paid": order_paid,
    "orders/create": order_created,
    "orders/updated": order_updated,
    "orders/cancelled": order_cancelled,
    "refunds/create": refund_created,
    "customers/create": customer_changed,
    "customers/update": customer_changed,
    "customers/enable": customer_changed,
    "app/uninstalled": app_uninstalled,
    "customers/data_request": customer_data_request,
    "customers/redact": customer_redact,
    "shop/redact": shop_redact,
}
