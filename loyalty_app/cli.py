"""Flask CLI commands: ``flask --app app db|shop|loyalty …`` for self-hosters and the on-call engineer."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from marshmallow import ValidationError, fields, validate
from sqlalchemy.orm import Session

from webhooks.jobs import schedule_committed_standings

from . import ledger, migrate
from .extensions import db
from .models import Shop
from .currencies import is_currency
from .schemas import BalanceSchema, ProgramSettingsSchema
from .security import is_valid_shop_domain
from .services import compliance, explain, members, shops, upkeep

db_cli = AppGroup("db", help="Database migrations.")
shop_cli = AppGroup("shop", help="Shops: install without OAuth, for development and self-hosting.")
loyalty_cli = AppGroup("loyalty", help="The points ledger: audit, balances, periodic upkeep.")


def _session() -> Session:
    assert db.session is not None
    return db.session()


def _fail(message: str) -> NoReturn:
    """Say what was not found and exit 1, as every lookup command does."""
    click.echo(message, err=True)
    sys.exit(1)


def _shop(session: Session, domain: str) -> Shop:
    """The shop with this domain, or exit 1."""
    return shops.get_shop(session, domain) or _fail(f"no shop {domain}")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(current_app, revision)  # type: ignore[arg-type]
    click.echo(f"database at {revision}")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models."""
    migrate.revision(current_app, message)  # type: ignore[arg-type]


@shop_cli.command("install")
@click.argument("domain")
@click.option("--token", required=True, help="The shop's Admin API access token.")
@click.option("--currency", default="USD", show_default=True, help="The shop's currency (ISO 4217).")
@click.option("--scopes", default=None, help="Granted scopes (default: the app's configured scopes).")
def shop_install(domain: str, token: str, currency: str, scopes: str | None) -> None:
    """Register DOMAIN with an access token and the default program."""
    if not is_valid_shop_domain(domain):
        raise click.BadParameter(f"{domain!r} is not a *.myshopify.com domain", param_hint="DOMAIN")
    if not token.strip():
        raise click.BadParameter("the access token is empty", param_hint="--token")
    if not is_currency(currency):
        raise click.BadParameter(f"{currency!r} is not an ISO 4217 currency code (e.g. USD, EUR, NOK)",
                                 param_hint="--currency")
    session = _session()
    shop = shops.install_shop(session, domain, token.strip(), current_app.extensions["token_box"],
                              scopes=scopes or current_app.config["SHOPIFY_SCOPES"], currency=currency.upper())
    session.commit()
    click.echo(f"installed {shop.domain} (shop id {shop.id})")


def _describe(field: fields.Field) -> str:
    """What a settings field accepts, for ``shop configure --help``."""
    kinds = {fields.Boolean: "true|false", fields.Decimal: "number", fields.Integer: "whole number",
             fields.List: "comma-separated list", fields.String: "text"}
    kind = next((text for cls, text in kinds.items() if isinstance(field, cls)), "value")
    for rule in field.validators:
        if isinstance(rule, validate.OneOf):
            kind = "|".join(map(str, rule.choices))
        elif isinstance(rule, validate.Range):
            kind += f", {'' if rule.min is None else rule.min}..{'' if rule.max is None else rule.max}"
    if field.allow_none:
        kind += ", or none"
    default = field.load_default() if callable(field.load_default) else field.load_default
    if isinstance(default, bool):
        default = str(default).lower()
    elif isinstance(default, list):
        default = ",".join(map(str, default))
    return f"{kind}; default {default if default is not None else 'none'}"


def _settings_epilog() -> str:
    """Every program setting with what it accepts, generated from the schema so it never falls behind."""
    lines = [f"  {name}: {_describe(field)}" for name, field in ProgramSettingsSchema().fields.items()]
    return "\b\nSettings (KEY for --set KEY=VALUE):\n" + "\n".join(lines)


def _setting_value(key: str, value: str) -> Any:
    """The raw value for the schema: none/null/empty clears, and list settings split on commas."""
    value = value.strip()
    if value.lower() in ("", "none", "null"):
        return None
    if isinstance(ProgramSettingsSchema().fields.get(key), fields.List):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


@shop_cli.command("configure", epilog=_settings_epilog())
@click.argument("domain")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A program setting, e.g. --set pending_days=14 --set languages=en,nb (repeatable; listed below).")
def shop_configure(domain: str, assignments: tuple[str, ...]) -> None:
    """Change a shop's program settings (validated; prints the settings in force)."""
    session = _session()
    shop = _shop(session, domain)
    changes = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise click.BadParameter(f"{assignment!r} is not KEY=VALUE", param_hint="--set")
        changes[key.strip()] = _setting_value(key.strip(), value)
    try:
        settings = shops.update_settings(shop, changes)
    except ValidationError as exc:
        raise click.BadParameter(json.dumps(exc.messages), param_hint="--set") from None
    session.commit()
    click.echo(json.dumps(settings.to_json(), sort_keys=True))


@loyalty_cli.command("data-request")
@click.argument("domain")
@click.argument("customer_id", type=int)
def loyalty_data_request(domain: str, customer_id: int) -> None:
    """Print the newest data report assembled for a customer (customers/data_request) as JSON."""
    session = _session()
    report = compliance.latest_report(session, _shop(session, domain).id, customer_id)
    if report is None:
        _fail(f"no data request for customer {customer_id} in {domain}")
    click.echo(json.dumps(report, indent=2, sort_keys=True))


@loyalty_cli.command("audit")
def loyalty_audit() -> None:
    """Check every member's cached balances against the sum of their ledger entries (exit 1 on any difference)."""
    differences = ledger.audit(_session())
    for diff in differences:
        click.echo(
            f"shop {diff.shop_id} customer {diff.customer_id}: cached balance={diff.cached.balance} "
            f"pending={diff.cached.pending} lifetime={diff.cached.lifetime}; ledger balance={diff.ledger.balance} "
            f"pending={diff.ledger.pending} lifetime={diff.ledger.lifetime}"
        )
    if differences:
        _fail(f"{len(differences)} member(s) out of balance")
    click.echo("ledger balanced")


@loyalty_cli.command("balance")
@click.argument("domain")
@click.argument("customer_id", type=int)
def loyalty_balance(domain: str, customer_id: int) -> None:
    """Print a member's balances as one JSON object (exit 1 for an unknown member)."""
    session = _session()
    member = members.find_member(session, _shop(session, domain).id, customer_id)
    if member is None:
        _fail(f"no member {customer_id} in {domain}")
    data = {"balance": member.balance, "pending": member.pending, "lifetime": member.lifetime,
            "tier": members.tier_name(session, member)}
    click.echo(json.dumps(BalanceSchema().dump(data)))


@loyalty_cli.command("explain")
@click.argument("domain")
@click.argument("order_id", type=click.IntRange(1, 2**63 - 1))
def loyalty_explain(domain: str, order_id: int) -> None:
    """Every webhook received for ORDER_ID and every entry posted for it, and why; exit 1 if we know nothing of it."""
    session = _session()
    story = explain.explain_order(session, _shop(session, domain), order_id)
    click.echo("\n".join(story.lines_of_text()))
    if story.record is None and not story.webhooks and not story.entries:
        sys.exit(1)


@loyalty_cli.command("upkeep")
def loyalty_upkeep() -> None:
    """Mature pending points, expire idle points, re-evaluate tiers; drop old webhook bodies (the daily job)."""
    session = _session()
    try:
        for shop in shops.active_shops(session):
            result = upkeep.run_daily(session, shop)
            session.commit()
            click.echo(f"{shop.domain}: matured {result.matured}, expired {result.expired}, "
                       f"tier changes {result.tier_changes}, referrals paid {result.referrals_paid}")
    finally:  # as the daily job: the members it changed are mirrored to Shopify
        schedule_committed_standings(current_app._get_current_object(), session)  # type: ignore[attr-defined]
    retention = current_app.config["WEBHOOK_BODY_RETENTION_DAYS"]
    dropped = upkeep.drop_old_bodies(session, timedelta(days=retention))
    click.echo(f"webhook bodies older than {retention} days dropped: {dropped}")


@loyalty_cli.command("referrals-settle")
@click.argument("domain")
@click.option("--at", "at", default=None, type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
              help="Settle as if it were this moment (ISO 8601 with offset, or a date meaning its UTC midnight).")
def loyalty_referrals_settle(domain: str, at: datetime | None) -> None:
    """Pay the referrals of DOMAIN whose pending period is over (or void them if refunded); the upkeep's step."""
    from .services.referrals import settle_due

    session = _session()
    moment = None if at is None else (at if at.tzinfo else at.replace(tzinfo=timezone.utc))
    paid = settle_due(session, _shop(session, domain), moment)
    session.commit()
    click.echo(f"{domain}: {paid} referral(s) paid")


@loyalty_cli.command("reconcile")
@click.argument("domain")
@click.option("--hours", default=48, show_default=True, type=click.IntRange(1, 24 * 60),
              help="How far back to look, in hours (1 to 1440: Shopify lists 60 days of orders).")
def loyalty_reconcile(domain: str, hours: int) -> None:
    """Catch up on orders changed in the last HOURS: payments, refunds, cancellations, edits (idempotent)."""
    from .connections import client_for
    from .models import utcnow
    from .services.reconcile import reconcile

    session = _session()
    shop = _shop(session, domain)
    until = utcnow()
    try:
        result = reconcile(session, shop, client_for(current_app, session, shop),  # type: ignore[arg-type]
                           until - timedelta(hours=hours), until, checkpoint=session.commit)
        session.commit()
    finally:  # what it committed (checkpoints included) is mirrored to Shopify, as after the job
        schedule_committed_standings(current_app._get_current_object(), session)  # type: ignore[attr-defined]
    click.echo(f"{domain}: {result.seen} changed orders seen, {result.credited} credited ({result.points} points), "
               f"{result.refunds} refunds, {result.cancelled} cancellations, {result.edited} edits recorded")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Seed the demo shop, customers and orders for the development storefront (/dev/storefront)."""
    from .demo import DEMO_CUSTOMERS, seed

    session = _session()
    shop = seed(session, current_app.extensions["token_box"])
    session.commit()
    for customer_id, _, first, last, _ in DEMO_CUSTOMERS:
        member = members.find_member(session, shop.id, customer_id)
        click.echo(f"{first} {last} (customer {customer_id}): {member.balance if member else 0} points")
    click.echo("open /dev/storefront (development mode) to see the widget")


def init_app(app: Flask) -> None:
    """Register the command groups on the app."""
    for group in (db_cli, shop_cli, loyalty_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
