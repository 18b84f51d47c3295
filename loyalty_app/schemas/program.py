"""The program as the admin API takes and shows it: settings, tiers, rewards, ways to earn, campaigns, versions.

Inputs refuse unknown keys (422) and anything the columns could not hold exactly: a decimal with
more places than its column keeps is refused, never rounded behind the merchant's back. Updates
(``PUT``) take any subset of the fields; the service merges them with the stored row and checks
the whole result again with the full schema, so a rule across fields (a percentage reward's
value, a campaign's end) holds whichever field changed.
"""
from __future__ import annotations

import copy
from datetime import timezone
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..program.actions import ACTIONS, LIMITS
from . import ProgramSettingsSchema

REWARD_KINDS = ("fixed_amount", "percentage", "free_shipping", "store_credit")
MAX_TIERS = 20
MAX_POINTS = 1_000_000
"""The most points a single tier bonus, action or reward cost may be: far above any real program, far below
the 32-bit columns that hold them."""


def max_places(places: int) -> validate.Validator:
    """Refuse decimals with more places than the column keeps (``1.005`` for a money column)."""

    def check(value: Decimal) -> None:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places:
            raise ValidationError(f"Use at most {places} decimal places.")

    return check  # type: ignore[return-value]


def _hidden(validator: validate.Validator) -> validate.Validator:
    """The same check, out of apispec's sight: it would publish a Decimal range as ``"maximum": "100"`` (a string)."""
    return lambda value: validator(value)  # type: ignore[return-value]


def _documented_decimal(field: fields.Decimal, places: int | None = None) -> fields.Decimal:
    """Document a decimal written ``as_string`` as the string it is (with the pattern of its digits when its scale
    is known), not its range."""
    field.metadata = {**field.metadata, "type": "string", "format": "decimal"}
    if places is not None:  # a column's scale: what it answers is always written this way
        field.metadata["pattern"] = rf"^[0-9]+(\.[0-9]{{1,{places}}})?$"
    field.validators = [_hidden(v) if isinstance(v, validate.Range) else v for v in field.validators]
    return field


def decimal(low: str, high: str, places: int, *, low_inclusive: bool = True, **kwargs: Any) -> fields.Decimal:
    """A decimal read from a JSON number or string and written as a string (documented as one)."""
    return _documented_decimal(fields.Decimal(
        as_string=True, allow_nan=False, validate=[validate.Range(min=Decimal(low), max=Decimal(high),
                                                                  min_inclusive=low_inclusive), max_places(places)],
        **kwargs), places)


def name_field(length: int) -> fields.String:
    return fields.String(required=True, validate=[validate.Length(min=1, max=length),
                                                  validate.Regexp(r"\s*\S", error="Must not be blank.")])


LOCALE = r"^[a-z]{2,3}(-[A-Z]{2}|-[A-Z][a-z]{3})?$"
"""A storefront locale as Shopify names it (``request.locale.iso_code``): ``nb``, ``pt-BR``, ``zh-Hant``."""


def translations_field(length: int) -> fields.Dict:
    """A name per language, ``{"nb": "Gull"}``; a language left out shows the plain name."""
    return fields.Dict(
        keys=fields.String(validate=validate.Regexp(LOCALE, error="Use a locale code such as nb or pt-BR.")),
        values=fields.String(validate=[validate.Length(min=1, max=length),
                                       validate.Regexp(r"\s*\S", error="Must not be blank.")]),
        load_default=dict, validate=validate.Length(max=50),
        metadata={"description": "The name per storefront locale (e.g. nb, pt-BR); others see `name`."})


class Input(Schema):
    """An input schema: unknown keys are an error, not silently dropped."""

    class Meta:
        unknown = RAISE


class Changes:
    """Mixin for ``PUT`` bodies: every field optional, cross-field rules checked on the merged row by the service."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=True, **kwargs)  # type: ignore[call-arg]


# Settings

def _documented(schema: type[Schema], name: str) -> type[Schema]:
    """``schema`` with every decimal written as a string also documented as one (OpenAPI reads ``metadata``).

    ProgramSettingsSchema dumps its decimals ``as_string``; apispec would call them numbers.
    """
    overrides = {field_name: _documented_decimal(copy.copy(field)) for field_name, field in schema._declared_fields.items()
                 if isinstance(field, fields.Decimal) and field.as_string}
    return type(name, (schema,), overrides)


SettingsSchema = _documented(ProgramSettingsSchema, "SettingsSchema")
"""A shop's settings as the API shows them."""


class SettingsChangesSchema(Changes, SettingsSchema):  # type: ignore[valid-type,misc]
    """``PUT /admin/api/settings``: only the settings to change; unknown keys are refused.

    Loads to a plain dict of the given keys (no defaults filled in): ``update_settings`` merges it
    with the stored settings and validates the whole.
    """

    class Meta:
        unknown = RAISE

    def _make(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:  # replaces the parent's post_load hook
        return data


# Tiers

class TierSchema(Input):
    """A VIP tier: reached at ``threshold`` points earned (or money spent, per the settings' ``tier_basis``)."""

    id = fields.Integer(dump_only=True)
    name = name_field(100)
    translations = translations_field(100)
    threshold = decimal("0", "1000000000000", 2, required=True)
    multiplier = decimal("0", "100", 3, low_inclusive=False, load_default=Decimal("1"))
    entry_bonus = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=MAX_POINTS))


class TierChangesSchema(Changes, TierSchema):
    """``PUT /admin/api/tiers/<id>``: the fields to change."""


class ProposedTierSchema(TierSchema):
    """A tier in a proposal: an existing tier carries its ``id`` (kept, maybe changed), a new one has none."""

    id = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1))


class TierPreviewInputSchema(Input):
    """``POST /admin/api/tiers/preview``: the whole tier list as it would be."""

    tiers = fields.List(fields.Nested(ProposedTierSchema), required=True, validate=validate.Length(max=MAX_TIERS))

    @validates_schema
    def _distinct(self, data: dict[str, Any], **_: Any) -> None:
        tiers = data.get("tiers", [])
        errors: dict[str, list[str]] = {}
        if len({tier["name"].strip().casefold() for tier in tiers}) < len(tiers):
            errors.setdefault("tiers", []).append("Tier names must differ.")
        if len({tier["threshold"] for tier in tiers}) < len(tiers):
            errors.setdefault("tiers", []).append("Tier thresholds must differ.")
        ids = [tier["id"] for tier in tiers if tier.get("id") is not None]
        if len(set(ids)) < len(ids):
            errors.setdefault("tiers", []).append("A tier id appears twice.")
        if errors:
            raise ValidationError(errors)


class TierCountSchema(Schema):
    """One tier of a preview: members in it now and after the change (``id`` None for a proposed new tier)."""

    id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    before = fields.Integer()
    after = fields.Integer()


class TierMoveSchema(Schema):
    """How many members would go from one tier to another (``None``: no tier)."""

    from_tier = fields.String(data_key="from", allow_none=True)
    to_tier = fields.String(data_key="to", allow_none=True)
    direction = fields.String(metadata={"enum": ["up", "down"]})
    members = fields.Integer()


class TierPreviewSchema(Schema):
    """What a proposed tier list would do to the members, computed without changing anything."""

    members = fields.Integer()
    up = fields.Integer()
    down = fields.Integer()
    same = fields.Integer()
    tiers = fields.List(fields.Nested(TierCountSchema))
    moves = fields.List(fields.Nested(TierMoveSchema))


# Rewards

class CombinesWithSchema(Input):
    """Which other discounts a reward's code combines with (Shopify's ``combinesWith``)."""

    order_discounts = fields.Boolean(load_default=False)
    product_discounts = fields.Boolean(load_default=True)
    shipping_discounts = fields.Boolean(load_default=True)


class RewardSchema(Input):
    """A reward a member can redeem points for: a fixed amount off, a percentage off, free shipping (discount codes),
    or an amount of the shop's native store credit."""

    id = fields.Integer(dump_only=True)
    name = name_field(200)
    translations = translations_field(200)
    kind = fields.String(required=True, validate=validate.OneOf(REWARD_KINDS))
    cost = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_POINTS))
    value = decimal("0", "1000000000", 2, load_default=Decimal("0"))
    minimum_subtotal = decimal("0", "1000000000", 2, load_default=None, allow_none=True)
    expires_after_days = fields.Integer(strict=True, load_default=None, allow_none=True,
                                        validate=validate.Range(min=1, max=3650))
    return_points_on_expiry = fields.Boolean(load_default=True)
    combines_with = fields.Nested(CombinesWithSchema, load_default=lambda: CombinesWithSchema().load({}))
    active = fields.Boolean(load_default=True)

    @validates_schema
    def _value_fits_kind(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial or "kind" not in data:
            return
        value = data.get("value", Decimal("0"))
        if data["kind"] == "percentage" and not Decimal("0") < value <= Decimal("100"):
            raise ValidationError("A percentage must be more than 0 and at most 100.", "value")
        if data["kind"] == "fixed_amount" and value <= 0:
            raise ValidationError("A fixed amount must be more than 0.", "value")
        if data["kind"] == "store_credit" and value <= 0:
            raise ValidationError("Store credit must be more than 0.", "value")
        if data["kind"] == "free_shipping" and value != 0:
            raise ValidationError("Free shipping has no value: leave it at 0.", "value")


class RewardChangesSchema(Changes, RewardSchema):
    """``PUT /admin/api/rewards/<id>``: the fields to change."""


# Ways to earn

class ActionSettingsSchema(Input):
    """An action's own options: the profiles a follow opens, a review's bonus for photos or video."""

    follow_urls = fields.List(fields.Url(schemes={"https"}, validate=validate.Length(max=500)),
                              validate=validate.Length(max=5),
                              metadata={"description": "social_follow: the https profile pages the widget opens."})
    photo_bonus = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_POINTS),
                                 metadata={"description": "product_review: points added when the review has media."})


ACTION_SETTINGS = {"follow_urls": "social_follow", "photo_bonus": "product_review"}
"""Which action each setting belongs to."""


class ActionSchema(Input):
    """A way to earn besides orders (an earning rule): points for an action, within a limit."""

    id = fields.Integer(dump_only=True)
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    points = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=MAX_POINTS))
    limit_kind = fields.String(load_default="once", validate=validate.OneOf(LIMITS))
    limit_count = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=1000))
    period_days = fields.Integer(strict=True, load_default=365, validate=validate.Range(min=1, max=3650))
    active = fields.Boolean(load_default=True)
    settings = fields.Nested(ActionSettingsSchema, load_default=dict)

    @validates_schema
    def _settings_fit_action(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial or "action" not in data:
            return
        wrong = sorted(key for key in data.get("settings") or {} if ACTION_SETTINGS[key] != data["action"])
        if wrong:
            raise ValidationError(f"{', '.join(wrong)} belongs to another action.", "settings")


class ActionChangesSchema(Changes, ActionSchema):
    """``PUT /admin/api/actions/<id>``: the fields to change."""


# Campaigns

class CampaignSchema(Input):
    """A time-boxed multiplier on order points; times without a zone are UTC."""

    id = fields.Integer(dump_only=True)
    name = name_field(200)
    multiplier = decimal("1", "100", 3, low_inclusive=False, required=True)
    starts_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    ends_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)

    @validates_schema
    def _ends_after_start(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if partial or "starts_at" not in data or "ends_at" not in data:
            return
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("The campaign must end after it starts.", "ends_at")


class CampaignChangesSchema(Changes, CampaignSchema):
    """``PUT /admin/api/campaigns/<id>``: the fields to change."""


# History

class ProgramChangeSchema(Schema):
    """One recorded change: the version it started, who made it, and the object before and after."""

    id = fields.Integer()
    version = fields.Integer()
    actor = fields.String()
    subject = fields.String(metadata={"enum": ["settings", "tier", "reward", "action", "campaign"]})
    subject_id = fields.Integer(allow_none=True)
    action = fields.String(metadata={"enum": ["create", "update", "delete"]})
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    changed_at = fields.DateTime()


class VersionsQuerySchema(Input):
    """``?cursor=&limit=``: the page after ``cursor`` (a change id from ``next_cursor``), newest first."""

    class Meta:
        unknown = RAISE

    cursor = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class VersionsPageSchema(Schema):
    """A page of the history; ``next_cursor`` is None on the last page."""

    items = fields.List(fields.Nested(ProgramChangeSchema))
    next_cursor = fields.Integer(allow_none=True)
    program_version = fields.Integer()
