"""Installing shops and reading their program."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..crypto import TokenBox
from ..models import EarningRule, Reward, Shop, Tier, utcnow
from ..program.defaults import DEFAULT_ACTIONS, DEFAULT_REWARDS, DEFAULT_TIERS
from ..program.settings import ProgramSettings
from ..schemas import ProgramSettingsSchema

_settings_schema = ProgramSettingsSchema()


class UnknownShop(LookupError):
    """No shop is installed under that domain."""


def get_shop(session: Session, domain: str) -> Shop | None:
    """The shop with this myshopify domain, installed or not."""
    return session.execute(select(Shop).where(Shop.domain == domain.lower())).scalar_one_or_none()


def active_shops(session: Session) -> list[Shop]:
    """Every installed shop."""
    return list(session.execute(select(Shop).where(Shop.uninstalled_at.is_(None)).order_by(Shop.id)).scalars())


def require_shop(session: Session, shop_id: int) -> Shop:
    """The shop with this id; raises UnknownShop so a job never runs for a shop that is gone."""
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise UnknownShop(f"no shop with id {shop_id}")
    return shop


def program_settings(shop: Shop) -> ProgramSettings:
    """The shop's settings, validated, with defaults for anything unset.

    Parsed once per settings value: assigning ``shop.settings`` a new dict (the only way a JSON
    column change is saved) parses it anew.
    """
    cached = shop.__dict__.get("_program_settings")
    if cached is None or cached[0] is not shop.settings:
        cached = (shop.settings, _settings_schema.load(shop.settings or {}))
        shop.__dict__["_program_settings"] = cached
    return cached[1]


def update_settings(shop: Shop, changes: dict[str, Any]) -> ProgramSettings:
    """Apply setting changes after validating the whole result; raises marshmallow's ValidationError."""
    unknown = set(changes) - set(ProgramSettingsSchema().fields)
    if unknown:
        raise ValidationError({key: ["Unknown setting."] for key in sorted(unknown)})
    settings = _settings_schema.load({**(shop.settings or {}), **changes})
    if settings != program_settings(shop):
        bump_program_version(shop)
    shop.settings = settings.to_json()  # a new dict, so the JSON column is saved and the parse cache renewed
    return settings


def bump_program_version(shop: Shop) -> int:
    """Start a new program version: every change of settings, tiers, rules or campaigns calls this.

    Ledger entries record the version they were computed under, so an old entry stays explainable.
    """
    shop.program_version = (shop.program_version or 1) + 1
    return shop.program_version


def update_from_shopify(shop: Shop, payload: Any) -> str:
    """Take what the app keeps of the shop resource (``shop/update``): its IANA time zone.

    An unknown zone name is ignored (the shop keeps the zone it had), never a failed webhook.
    """
    zone = payload.get("iana_timezone") if isinstance(payload, dict) else None
    if not isinstance(zone, str) or not zone or len(zone) > 64:
        return "no iana_timezone"
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return f"unknown time zone {zone[:64]!r} ignored"
    shop.timezone = zone
    return f"time zone {zone}"


def install_shop(
    session: Session,
    domain: str,
    access_token: str,
    box: TokenBox,
    *,
    scopes: str = "",
    currency: str = "USD",
    refresh_token: str | None = None,
    token_expires_at: datetime | None = None,
) -> Shop:
    """Register (or re-install) a shop with its offline token and the default program."""
    shop = get_shop(session, domain)
    if shop is None:
        shop = Shop(domain=domain.lower(), currency=currency, settings=ProgramSettings().to_json())
        session.add(shop)
    shop.access_token_encrypted = box.seal(access_token)
    shop.refresh_token_encrypted = box.seal(refresh_token) if refresh_token else None
    shop.token_expires_at = token_expires_at
    shop.scopes = scopes
    shop.needs_reauth = False
    shop.installed_at = utcnow()
    shop.uninstalled_at = None
    session.flush()
    ensure_default_program(session, shop)
    return shop


def ensure_default_program(session: Session, shop: Shop) -> None:
    """Give a shop with no program the default tiers, rewards and actions."""
    if session.execute(select(Tier.id).where(Tier.shop_id == shop.id).limit(1)).first() is None:
        session.add_all(Tier(shop_id=shop.id, **tier) for tier in DEFAULT_TIERS)
    if session.execute(select(Reward.id).where(Reward.shop_id == shop.id).limit(1)).first() is None:
        session.add_all(Reward(shop_id=shop.id, **reward) for reward in DEFAULT_REWARDS)
    if session.execute(select(EarningRule.id).where(EarningRule.shop_id == shop.id).limit(1)).first() is None:
        session.add_all(EarningRule(shop_id=shop.id, **rule) for rule in DEFAULT_ACTIONS)
    session.flush()
