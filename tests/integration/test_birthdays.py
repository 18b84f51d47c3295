"""Birthdays: set once by the shopper, changed by the merchant, credited once a year on the shop's calendar."""
from datetime import date, datetime, timezone

import pytest

from loyalty_app.models import EarningRule, LedgerEntry, Member
from loyalty_app.program.birthdays import celebrated_days, month_day, parse_birthday
from loyalty_app.services import birthdays
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import update_from_shopify


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def entries(session):
    return [(e.amount, e.idempotency_key, e.source) for e in
            session.query(LedgerEntry).filter_by(kind="action").order_by(LedgerEntry.id)]


def member_born(session, shop, customer_id, birthday):
    member, _ = enrol(session, shop, customer_id)
    birthdays.set_by_merchant(session, member, birthday)
    session.commit()
    return member


@pytest.mark.parametrize("text, expected", [("05-17", date(2000, 5, 17)), ("1990-05-17", date(2000, 5, 17)),
                                            ("02-29", date(2000, 2, 29)), ("12-31", date(2000, 12, 31))])
def test_parse_birthday_keeps_the_day_only(text, expected):
    assert parse_birthday(text) == expected and month_day(expected) == text[-5:]


@pytest.mark.parametrize("text", ["02-30", "04-31", "13-01", "00-10", "5-17", "05/17", "", "05-17x", None, 517,
                                  "1990-02-30"])
def test_parse_birthday_refuses_what_is_not_a_day(text):
    with pytest.raises(ValueError):
        parse_birthday(text)


def test_leap_day_birthdays_are_celebrated_on_28_february_in_other_years():
    assert celebrated_days(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert celebrated_days(date(2028, 2, 28)) == [(2, 28)]
    assert celebrated_days(date(2028, 2, 29)) == [(2, 29)]
    assert celebrated_days(date(2027, 3, 1)) == [(3, 1)]


def test_credited_on_the_day_once_however_often_the_job_runs(session, shop):
    member = member_born(session, shop, 5, date(2000, 5, 17))
    assert birthdays.credit_birthdays(session, shop, utc(2027, 5, 16, 23, 59)) == 0
    assert [birthdays.credit_birthdays(session, shop, utc(2027, 5, 17, h)) for h in (0, 1, 23)] == [1, 0, 0]
    session.commit()
    assert entries(session) == [(200, f"action:birthday:{member.id}:2027", "action:birthday")]
    session.refresh(member)
    assert member.balance == 200


def test_a_birthday_changed_within_the_year_does_not_pay_twice(session, shop):
    member = member_born(session, shop, 5, date(2000, 3, 1))
    assert birthdays.credit_birthdays(session, shop, utc(2027, 3, 1, 12)) == 1
    birthdays.set_by_merchant(session, member, date(2000, 6, 1))
    assert birthdays.credit_birthdays(session, shop, utc(2027, 6, 1, 12)) == 0
    assert birthdays.credit_birthdays(session, shop, utc(2028, 6, 1, 12)) == 1  # next year pays again
    session.commit()
    assert [key for _, key, _ in entries(session)] == [f"action:birthday:{member.id}:2027",
                                                       f"action:birthday:{member.id}:2028"]


def test_across_the_year_boundary(session, shop):
    """31 December then 1 January: two years, one credit each, and a replay of either posts nothing."""
    dec = member_born(session, shop, 5, date(2000, 12, 31))
    jan = member_born(session, shop, 6, date(2000, 1, 1))
    assert birthdays.credit_birthdays(session, shop, utc(2026, 12, 31, 12)) == 1
    assert birthdays.credit_birthdays(session, shop, utc(2027, 1, 1, 0, 30)) == 1
    assert birthdays.credit_birthdays(session, shop, utc(2026, 12, 31, 23)) == 0  # a late replay of the old day
    # The merchant moves the December birthday to 1 January: 2027's is not paid yet, so it pays now, once.
    birthdays.set_by_merchant(session, dec, date(2000, 1, 1))
    assert birthdays.credit_birthdays(session, shop, utc(2027, 1, 1, 5)) == 1
    assert birthdays.credit_birthdays(session, shop, utc(2027, 1, 1, 6)) == 0
    session.commit()
    assert sorted(key for _, key, _ in entries(session)) == sorted([
        f"action:birthday:{dec.id}:2026", f"action:birthday:{jan.id}:2027", f"action:birthday:{dec.id}:2027"])


def test_the_shops_time_zone_decides_the_day(session, shop):
    """At 2026-12-31 11:30 UTC it is already 1 January 2027 in Auckland and still 31 December in Los Angeles."""
    member = member_born(session, shop, 5, date(2000, 1, 1))
    instant = utc(2026, 12, 31, 11, 30)
    shop.timezone = "America/Los_Angeles"
    assert birthdays.credit_birthdays(session, shop, instant) == 0
    shop.timezone = "Pacific/Auckland"
    assert birthdays.credit_birthdays(session, shop, instant) == 1
    assert birthdays.credit_birthdays(session, shop, utc(2027, 1, 1, 10, 59)) == 0  # still 1 Jan there: a replay
    session.commit()
    assert entries(session) == [(200, f"action:birthday:{member.id}:2027", "action:birthday")]


def test_the_yearly_limit_is_the_shops_year_too(session, shop):
    """Credited on Auckland's 31 December (UTC's 30th), then moved to 1 January: 2027's birthday still pays.

    Counted in UTC both credits would fall in 2026 and the per-year limit would refuse the second.
    """
    shop.timezone = "Pacific/Auckland"
    member = member_born(session, shop, 5, date(2000, 12, 31))
    assert birthdays.credit_birthdays(session, shop, utc(2026, 12, 30, 12)) == 1
    birthdays.set_by_merchant(session, member, date(2000, 1, 1))
    assert birthdays.credit_birthdays(session, shop, utc(2026, 12, 31, 12)) == 1
    session.commit()
    assert [key for _, key, _ in entries(session)] == [f"action:birthday:{member.id}:2026",
                                                       f"action:birthday:{member.id}:2027"]


def test_leap_day_member_is_paid_on_28_february_of_a_common_year(session, shop):
    member = member_born(session, shop, 5, date(2000, 2, 29))
    assert birthdays.credit_birthdays(session, shop, utc(2027, 2, 28, 12)) == 1
    assert birthdays.credit_birthdays(session, shop, utc(2027, 3, 1, 12)) == 0
    assert birthdays.credit_birthdays(session, shop, utc(2028, 2, 28, 12)) == 0
    assert birthdays.credit_birthdays(session, shop, utc(2028, 2, 29, 12)) == 1
    session.commit()
    assert [key for _, key, _ in entries(session)] == [f"action:birthday:{member.id}:2027",
                                                       f"action:birthday:{member.id}:2028"]


def test_no_rule_no_credit_and_redacted_members_are_skipped(session, shop):
    member = member_born(session, shop, 5, date(2000, 5, 17))
    member.redacted_at = utc(2027, 1, 1)
    member_born(session, shop, 6, date(2000, 5, 17))
    assert birthdays.credit_birthdays(session, shop, utc(2027, 5, 17, 12)) == 1
    session.query(EarningRule).filter_by(action="birthday").update({"active": False})
    assert birthdays.credit_birthdays(session, shop, utc(2028, 5, 17, 12)) == 0


def test_the_shopper_sets_it_once(session, shop):
    member = birthdays.set_by_shopper(session, shop, 5, date(2000, 5, 17), now=utc(2026, 11, 25))
    assert (member.birthday_set_by, member.birthday_set_at) == ("shopper", utc(2026, 11, 25))
    with pytest.raises(birthdays.BirthdayLocked):
        birthdays.set_by_shopper(session, shop, 5, date(2000, 6, 1))
    birthdays.set_by_merchant(session, member, date(2000, 6, 1))
    assert (member.birthday, member.birthday_set_by) == (date(2000, 6, 1), "merchant")


def test_shop_update_sets_the_time_zone_and_ignores_an_unknown_one(shop):
    assert shop.timezone is None
    assert update_from_shopify(shop, {"iana_timezone": "Pacific/Auckland"}) == "time zone Pacific/Auckland"
    assert update_from_shopify(shop, {"iana_timezone": "Mars/Olympus_Mons"}).startswith("unknown time zone")
    assert update_from_shopify(shop, {"iana_timezone": None}) == "no iana_timezone"
    assert update_from_shopify(shop, []) == "no iana_timezone"
    assert shop.timezone == "Pacific/Auckland"


def test_redacting_a_customer_forgets_the_birthday_and_who_set_it(deliver, session, shop):
    from tests.helpers import payload
    body = payload("compliance/customers_redact.json")
    birthdays.set_by_shopper(session, shop, body["customer"]["id"], date(2000, 5, 17))
    session.commit()
    assert deliver("customers/redact", body).status_code == 200
    session.expire_all()
    member = session.query(Member).one()
    assert (member.redacted_at is not None, member.birthday, member.birthday_set_by, member.birthday_set_at) == (
        True, None, None, None)


@pytest.mark.integration
def test_two_workers_running_the_job_at_once_pay_each_birthday_once(pg_app):
    """Two clock processes (or a retried job) crediting the same day side by side on PostgreSQL."""
    import threading

    from loyalty_app.extensions import db
    from loyalty_app.services.shops import install_shop

    with pg_app.app_context():
        session = db.new_session()
        shop = install_shop(session, "race.myshopify.com", "t", pg_app.extensions["token_box"])
        for customer_id in range(1, 21):
            member, _ = enrol(session, shop, customer_id)
            birthdays.set_by_merchant(session, member, date(2000, 5, 17))
        session.commit()
        shop_id = shop.id
        session.close()
    barrier, posted, errors = threading.Barrier(4), [], []

    def worker() -> None:
        session = pg_app.extensions["db"].new_session()
        try:
            from loyalty_app.models import Shop
            shop = session.get(Shop, shop_id)
            barrier.wait()
            posted.append(birthdays.credit_birthdays(session, shop, utc(2027, 5, 17, 12)))
            session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sum(posted) == 20
    with pg_app.app_context():
        session = db.new_session()
        assert session.query(LedgerEntry).filter_by(shop_id=shop_id, source="action:birthday").count() == 20
        assert {m.balance for m in session.query(Member).filter_by(shop_id=shop_id)} == {200}
        session.close()
