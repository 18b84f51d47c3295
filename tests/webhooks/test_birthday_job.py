"""The hourly birthday job and the shop's time zone, from ``shop/update`` or asked of Shopify once."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import responses

from loyalty_app.models import LedgerEntry, Shop
from loyalty_app.services import birthdays
from loyalty_app.services.members import enrol
from tests.conftest import SHOP_DOMAIN
from tests.fake_admin import FakeAdmin
from tests.helpers import payload
from webhooks import jobs


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeAdmin(rsps)


def born_today_in(session, shop, zone, customer_id=5):
    today = datetime.now(ZoneInfo(zone)).date()
    member, _ = enrol(session, shop, customer_id)
    birthdays.set_by_merchant(session, member, today.replace(year=2000) if (today.month, today.day) != (2, 29)
                              else today)
    session.commit()
    return member


def zone_of(session, shop):
    """The shop's zone as committed (the job's own app context closed the test's session: read it anew)."""
    session.expire_all()
    zone = session.get(Shop, shop.id).timezone
    session.rollback()  # SQLite: a reader left open would keep the next job from committing
    return zone


def credits(session):
    count = session.query(LedgerEntry).filter_by(source="action:birthday").count()
    session.rollback()
    return count


def test_the_job_learns_the_time_zone_once_and_credits_once(session, shop, fake):
    fake.serve("ShopTimezone", lambda _variables: {"shop": {"ianaTimezone": "Pacific/Auckland"}})
    born_today_in(session, shop, "Pacific/Auckland")
    assert jobs.credit_birthdays() == 1
    assert jobs.credit_birthdays() == 0  # the next hour: nothing more, and Shopify is not asked again
    assert zone_of(session, shop) == "Pacific/Auckland" and credits(session) == 1
    assert len(fake.sent("ShopTimezone")) == 1


def test_shopify_down_means_utc_this_time_and_a_question_next_time(session, shop, fake):
    fake.answer(errors=[{"message": "Internal error. Looks like something went wrong on our end."}])
    born_today_in(session, shop, "UTC")
    assert jobs.credit_birthdays() == 1
    assert zone_of(session, shop) is None and credits(session) == 1
    fake.serve("ShopTimezone", lambda _variables: {"shop": {"ianaTimezone": "Etc/UTC"}})
    assert jobs.credit_birthdays() == 0
    assert zone_of(session, shop) == "Etc/UTC" and len(fake.requests) == 2


def test_shop_update_sets_the_time_zone(deliver, session, shop):
    body = payload("rest-2026-07/shop.json")
    body["myshopify_domain"] = SHOP_DOMAIN
    body["iana_timezone"] = "Europe/Oslo"
    assert deliver("shop/update", body).status_code == 200
    session.expire_all()
    assert shop.timezone == "Europe/Oslo"


def test_shop_update_naming_another_shop_changes_nothing(deliver, session, shop):
    body = payload("rest-2026-07/shop.json")
    body["myshopify_domain"] = "other.myshopify.com"
    body["iana_timezone"] = "Europe/Oslo"
    deliver("shop/update", body)
    session.expire_all()
    assert shop.timezone is None
