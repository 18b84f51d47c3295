"""One small handler per topic, and the map from topic to handler.

Each takes (session, shop, payload, event), calls a service and returns a short result for
the inbox row. None commits: the inbox commits the effects with the event's status.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from loyalty_app.models import Shop, WebhookEvent
from loyalty_app.program.orders import OrderFacts
from loyalty_app.services import compliance, customers, orders, payloads, redemptions, referrals
from loyalty_app.services.inbox import Handler
from loyalty_app.services.shops import program_settings, update_from_shopify


def _codes_used(session: Session, shop: Shop, facts: OrderFacts, result: str) -> str:
    """Mark our codes the order used (whatever the topic earns), and say so after ``result``."""
    used = redemptions.mark_codes_used(session, shop, facts)
    return f"{result}; {used} code(s) used" if used else result


def _and(result: str, more: str | None) -> str:
    return f"{result}; {more}" if more else result


def order_paid(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """Earn, mark the codes used, and record the referral the order came through (if any)."""
    facts = payloads.order_facts(payload)
    result = _codes_used(session, shop, facts, orders.record_paid_facts(session, shop, facts))
    return _and(result, referrals.record_order(session, shop, payload))


def order_created(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """Mark the codes the order used; earn on creation only when the shop chose to and the order is paid."""
    facts = payloads.order_facts(payload)
    if program_settings(shop).earn_on != "orders/create":
        result = "ignored: the shop earns on orders/paid"
    elif facts.financial_status != "paid":
        result = "ignored: not paid yet"
    else:
        result = orders.record_paid_facts(session, shop, facts)
    return _codes_used(session, shop, facts, result)


def order_updated(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """What an edit added to or removed from an earned order, and the codes the order used."""
    facts = payloads.order_facts(payload)
    return _codes_used(session, shop, facts, orders.record_order_edit(session, shop, facts))


def refund_created(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """Reverse the refunded points; a refund before the referral paid out voids it."""
    result = orders.record_refund(session, shop, payload)
    return _and(result, referrals.order_reversed(session, shop, payloads.refund_facts(payload).order_id))


def order_cancelled(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """Reverse what the order holds; a cancellation before the referral paid out voids it."""
    result = orders.record_cancellation(session, shop, payload)
    return _and(result, referrals.order_reversed(session, shop, payloads.order_facts(payload).order_id))


def customer_changed(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """customers/create, /update and /enable: the topic tells whether an account is being created."""
    return customers.sync_customer(session, shop, payload, event.topic)


def shop_updated(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    """shop/update: the shop's time zone, which decides the day birthdays are credited."""
    compliance.require_same_shop(shop, event.topic, payload)
    return update_from_shopify(shop, payload)


def app_uninstalled(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    compliance.require_same_shop(shop, event.topic, payload)
    return compliance.uninstall(session, shop)


def customer_data_request(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    compliance.require_same_shop(shop, event.topic, payload)
    return compliance.data_request(session, shop, payload)


def customer_redact(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    compliance.require_same_shop(shop, event.topic, payload)
    return compliance.redact_customer(session, shop, payload, event)


def shop_redact(session: Session, shop: Shop, payload: Any, event: WebhookEvent) -> str:
    compliance.require_same_shop(shop, event.topic, payload)
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
    "shop/update": shop_updated,
    "app/uninstalled": app_uninstalled,
    "customers/data_request": customer_data_request,
    "customers/redact": customer_redact,
    "shop/redact": shop_redact,
}
