"""The CLI a self-hoster uses: install a shop, audit the ledger, read a balance."""
import json

from loyalty_app import ledger
from loyalty_app.models import Member, Reward, Shop, Tier, utcnow
from loyalty_app.services.members import enrol
from loyalty_app.services import orders
from tests.conftest import SHOP_DOMAIN
from tests.helpers import simple_order


def test_shop_install_creates_the_default_program_and_encrypts_the_token(app, runner, session):
    result = runner.invoke(args=["shop", "install", SHOP_DOMAIN, "--token", "shpat_secret", "--currency", "nok"])
    assert result.exit_code == 0, result.output
    shop = session.query(Shop).one()
    assert shop.currency == "NOK"
    assert "shpat_secret" not in shop.access_token_encrypted
    assert app.extensions["token_box"].open(shop.access_token_encrypted) == "shpat_secret"
    assert [t.name for t in session.query(Tier).order_by(Tier.threshold)] == ["Bronze", "Silver", "Gold"]
    assert session.query(Reward).count() == 3


def test_shop_install_twice_keeps_one_program(runner, session):
    for token in ("a", "b"):
        assert runner.invoke(args=["shop", "install", SHOP_DOMAIN, "--token", token]).exit_code == 0
    assert session.query(Tier).count() == 3


def test_shop_install_refuses_foreign_domains(runner, session):
    for domain in ("evil.com", "x.myshopify.com.evil.com"):
        result = runner.invoke(args=["shop", "install", domain, "--token", "t"])
        assert result.exit_code == 2
        assert "myshopify.com" in result.output
    assert session.query(Shop).count() == 0


def test_balance_prints_json(runner, session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "42.90"))
    session.commit()
    result = runner.invoke(args=["loyalty", "balance", SHOP_DOMAIN, "5"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"balance": 42, "pending": 0, "lifetime": 42, "tier": "Bronze"}


def test_balance_of_unknown_member_exits_1(runner, shop):
    result = runner.invoke(args=["loyalty", "balance", SHOP_DOMAIN, "404"])
    assert result.exit_code == 1
    assert "no member 404" in result.output


def test_audit_clean_then_dirty(runner, session, shop):
    orders.record_paid_order(session, shop, simple_order(1, 5, "42.90"))
    session.commit()
    clean = runner.invoke(args=["loyalty", "audit"])
    assert clean.exit_code == 0 and "ledger balanced" in clean.output
    member = session.query(Member).one()
    member.balance += 1
    session.commit()
    dirty = runner.invoke(args=["loyalty", "audit"])
    assert dirty.exit_code == 1
    assert "customer 5: cached balance=43" in dirty.output and "ledger balance=42" in dirty.output


def test_upkeep_matures_pending_points(runner, session, shop):
    member, _ = enrol(session, shop, 5)
    ledger.post(session, member.id, amount=30, kind="earn", key="order:1", source="order:1", state="pending",
                available_at=utcnow())
    session.commit()
    result = runner.invoke(args=["loyalty", "upkeep"])
    assert result.exit_code == 0
    assert f"{SHOP_DOMAIN}: matured 30, expired 0, tier changes 1" in result.output


def test_demo_seed_is_repeatable(runner):
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and first.output == second.output
    assert "Kari Nordmann (customer 1001): 1244 points" in first.output


def test_configure_validates_and_saves_settings(runner, session, shop):
    result = runner.invoke(args=["shop", "configure", SHOP_DOMAIN, "--set", "pending_days=14",
                                 "--set", "credit_guest_orders=true", "--set", "points_per_unit=2.5"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["pending_days"], printed["credit_guest_orders"], printed["points_per_unit"]) == (14, True, "2.5")
    session.expire_all()
    assert session.get(Shop, shop.id).settings["pending_days"] == 14


def test_configure_refuses_bad_settings_and_changes_nothing(runner, session, shop):
    before = dict(shop.settings)
    for bad in ("pending_days=-3", "rounding=bankers", "colour=green", "nonsense"):
        result = runner.invoke(args=["shop", "configure", SHOP_DOMAIN, "--set", bad])
        assert result.exit_code == 2, (bad, result.output)
    session.expire_all()
    assert session.get(Shop, shop.id).settings == before


def test_data_request_report_can_be_fetched(runner, deliver, session, shop):
    from tests.helpers import payload

    orders.record_paid_order(session, shop, simple_order(1, 191167, "30.00"))
    session.commit()
    deliver("customers/data_request", payload("compliance/customers_data_request.json"))
    result = runner.invoke(args=["loyalty", "data-request", SHOP_DOMAIN, "191167"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["customer_id"] == 191167 and report["member"]["balance"] == 30
    missing = runner.invoke(args=["loyalty", "data-request", SHOP_DOMAIN, "5"])
    assert missing.exit_code == 1


def test_lookups_in_an_unknown_shop_exit_1(runner, shop):
    for args in (["loyalty", "balance", "nobody.myshopify.com", "1"], ["loyalty", "data-request", "nobody.myshopify.com", "1"],
                 ["shop", "configure", "nobody.myshopify.com", "--set", "pending_days=1"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "no shop nobody.myshopify.com" in result.output, args


def test_shop_install_refuses_an_unknown_currency(runner, session):
    for currency in ("XYZ", "EURO", "E1", "", "XXX"):
        result = runner.invoke(args=["shop", "install", SHOP_DOMAIN, "--token", "t", "--currency", currency])
        assert result.exit_code == 2, (currency, result.output)
        assert "ISO 4217" in result.output
    assert session.query(Shop).count() == 0
    assert runner.invoke(args=["shop", "install", SHOP_DOMAIN, "--token", "t", "--currency", "sek"]).exit_code == 0
    assert session.query(Shop).one().currency == "SEK"


def test_shop_install_refuses_an_empty_token(runner, session):
    for token in ("", "   "):
        result = runner.invoke(args=["shop", "install", SHOP_DOMAIN, "--token", token])
        assert result.exit_code == 2 and "access token is empty" in result.output, result.output
    assert session.query(Shop).count() == 0


def test_configure_refuses_absurd_rates(runner, session, shop):
    before = dict(shop.settings)
    for bad in ("points_per_unit=1e9", "points_per_unit=1001", "points_per_unit=-1", "points_per_unit=nan",
                "points_per_unit=Infinity"):
        result = runner.invoke(args=["shop", "configure", SHOP_DOMAIN, "--set", bad])
        assert result.exit_code == 2 and "points_per_unit" in result.output, (bad, result.output)
    session.expire_all()
    assert session.get(Shop, shop.id).settings == before
    assert runner.invoke(args=["shop", "configure", SHOP_DOMAIN, "--set", "points_per_unit=1000"]).exit_code == 0


def _as_text(value):
    """A setting's value as typed after --set KEY=."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def test_configure_sets_every_setting_languages_included(runner, session, shop):
    from loyalty_app.schemas import ProgramSettingsSchema

    chosen = {"points_per_unit": "3", "rounding": "ceil", "pending_days": "7", "expiry_months": "12",
              "tier_basis": "spend", "tier_window": "calendar_year", "earn_on": "orders/create",
              "include_test_orders": "true", "credit_guest_orders": "true", "tier_tags": "true",
              "birthday_source": "tag", "birthday_metafield": "custom.birthday", "languages": "en, nb,sv"}
    # Every field of the schema goes through --set, a setting added later included (at its default).
    defaults = ProgramSettingsSchema().load({}).to_json()
    values = {name: chosen.get(name, _as_text(defaults[name])) for name in ProgramSettingsSchema().fields}
    args = ["shop", "configure", SHOP_DOMAIN]
    for key, value in values.items():
        args += ["--set", f"{key}={value}"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert {name: _as_text(printed[name]) for name in chosen} == {**chosen, "languages": "en,nb,sv"}
    session.expire_all()
    assert session.get(Shop, shop.id).settings["languages"] == ["en", "nb", "sv"]


def test_configure_help_lists_every_setting(runner):
    from loyalty_app.schemas import ProgramSettingsSchema

    result = runner.invoke(args=["shop", "configure", "--help"])
    assert result.exit_code == 0
    for name in ProgramSettingsSchema().fields:
        assert f"  {name}: " in result.output, name
    assert "points_per_unit: number, 0..1000; default 1" in result.output
    assert "rounding: floor|half_up|ceil; default floor" in result.output
    assert "languages: comma-separated list; default en" in result.output


def test_reconcile_refuses_a_negative_or_zero_window(runner, shop):
    for hours in ("-5", "0", "100000"):
        result = runner.invoke(args=["loyalty", "reconcile", SHOP_DOMAIN, "--hours", hours])
        assert result.exit_code == 2 and "--hours" in result.output, (hours, result.output)


def test_webhooks_status_says_when_the_inbox_is_empty(runner, deliver, shop):
    empty = runner.invoke(args=["webhooks", "status"])
    assert empty.exit_code == 0 and "the inbox is empty" in empty.output
    deliver("orders/paid", b'{"id": 1, "subtotal')
    result = runner.invoke(args=["webhooks", "status"])
    assert result.exit_code == 0 and result.output == "failed: 1\n"


def test_webhooks_retry_refuses_unknown_event_ids(runner, deliver, session, shop):
    from loyalty_app.models import WebhookEvent

    deliver("orders/paid", b'{"id": 1, "subtotal')
    [event] = session.query(WebhookEvent).all()
    assert event.status == "failed"
    result = runner.invoke(args=["webhooks", "retry", str(event.id), "999999"])
    assert result.exit_code == 1 and "no webhook event with id 999999" in result.output, result.output
    session.expire_all()
    assert session.get(WebhookEvent, event.id).status == "failed"  # nothing requeued
    retried = runner.invoke(args=["webhooks", "retry", str(event.id)])
    assert retried.exit_code == 0 and "requeued 1 event(s)" in retried.output, retried.output
