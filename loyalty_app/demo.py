"""A demo shop for the development storefront: ``flask --app app demo``."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from .crypto import TokenBox
from .models import Shop, utcnow
from .services import actions, orders
from .services.members import enrol
from .services.shops import install_shop

DEMO_SHOP = "demo-shop.myshopify.com"
DEMO_CUSTOMERS = (
    # (customer id, email, first name, last name, order subtotals)
    (1001, "kari@example.com", "Kari", "Nordmann", ("420.00", "310.50", "189.00")),
    (1002, "lars@example.com", "Lars", "Svensson", ("260.00",)),
    (1003, "mette@example.com", "Mette", "Hansen", ()),
)


def _order(order_id: int, customer: tuple[Any, ...], subtotal: str, days_ago: int) -> dict[str, Any]:
    """A minimal order in the shape of Shopify's order webhook."""
    customer_id, email, first, last, _ = customer
    money = {"shop_money": {"amount": subtotal, "currency_code": "NOK"},
             "presentment_money": {"amount": subtotal, "currency_code": "NOK"}}
    return {"id": order_id, "email": email, "test": False, "taxes_included": False, "financial_status": "paid",
            "processed_at": (utcnow() - timedelta(days=days_ago)).isoformat(), "subtotal_price_set": money,
            "line_items": [], "customer": {"id": customer_id, "email": email, "first_name": first, "last_name": last}}


def seed(session: Session, box: TokenBox) -> Shop:
    """Install the demo shop and give its customers orders and a signup bonus (safe to run again)."""
    shop = install_shop(session, DEMO_SHOP, "demo-token", box, currency="NOK")
    for index, customer in enumerate(DEMO_CUSTOMERS):
        member, _ = enrol(session, shop, customer[0], email=customer[1], first_name=customer[2], last_name=customer[3])
        actions.award_action(session, shop, member, "signup")
        for number, subtotal in enumerate(customer[4]):
            orders.record_paid_order(session, shop, _order(9000 + index * 10 + number, customer, subtotal, 30 - number))
    return shop
