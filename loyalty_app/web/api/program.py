"""The program's rules through the admin API: settings, tiers (with a preview), rewards, ways to earn, campaigns.

Every change bumps the program version once and is recorded with its author and the object
before and after, listed at ``/program/versions``. A tier change re-ranks the members: inline
without Redis, else in a job queued once the change is committed.
"""
from __future__ import annotations

from typing import Any

from webhooks.program_jobs import enqueue_rerank, rerank_now_or_later

from ...extensions import db
from ...schemas.program import (ActionChangesSchema, ActionSchema, CampaignChangesSchema, CampaignSchema,
                                RewardChangesSchema, RewardSchema, SettingsChangesSchema, SettingsSchema,
                                TierChangesSchema, TierPreviewInputSchema, TierPreviewSchema, TierSchema,
                                VersionsPageSchema, VersionsQuerySchema)
from ...services import program_admin
from ...services.program_admin import ACTION, CAMPAIGN, REWARD, TIER, Subject
from ...services.shops import program_settings
from ..admin_auth import current_principal, current_shop
from . import owned, route


def _commit(subject: Subject) -> None:
    """Commit the change; a tier change re-ranks the members first (inline) or right after (a job)."""
    session, shop = db.session(), current_shop()  # type: ignore[misc]
    follow_up = subject is TIER and rerank_now_or_later(session, shop)
    db.session.commit()  # type: ignore[union-attr]
    if follow_up:
        enqueue_rerank(shop.id)


def _create(subject: Subject, data: dict[str, Any]) -> Any:
    row = program_admin.create(db.session(), current_shop(), subject, data, current_principal().actor)  # type: ignore[misc]
    _commit(subject)
    return row


def _locked(subject: Subject, row_id: int) -> Any:
    """The caller's row, read after the shop's program lock is held (so concurrent changes apply in turn)."""
    program_admin.lock_program(db.session(), current_shop())  # type: ignore[misc]
    return owned(subject.model, row_id)


def _update(subject: Subject, row_id: int, data: dict[str, Any]) -> Any:
    row = _locked(subject, row_id)
    if program_admin.update(db.session(), current_shop(), subject, row, data, current_principal().actor):  # type: ignore[misc]
        _commit(subject)
    else:
        db.session.rollback()  # type: ignore[union-attr]  (nothing changed: release the shop's lock)
    return row


def _delete(subject: Subject, row_id: int) -> None:
    row = _locked(subject, row_id)
    program_admin.delete(db.session(), current_shop(), subject, row, current_principal().actor)  # type: ignore[misc]
    _commit(subject)


# Settings

@route("/settings", "GET", summary="The program's settings", response=SettingsSchema)
def get_settings() -> Any:
    """Earning rate, rounding, pending days, tiers' basis and window, and the rest, with defaults filled in."""
    return program_settings(current_shop())


@route("/settings", "PUT", summary="Change some settings; the result is validated whole",
       body=SettingsChangesSchema, response=SettingsSchema)
def put_settings(data: dict[str, Any]) -> Any:
    """Only the keys given change; an unknown key or an invalid result is a 422 and changes nothing."""
    settings = program_admin.change_settings(db.session(), current_shop(), data, current_principal().actor)  # type: ignore[misc]
    db.session.commit()  # type: ignore[union-attr]
    return settings


# Tiers

@route("/tiers", "GET", summary="The VIP tiers, lowest threshold first", response=TierSchema, many=True)
def list_tiers() -> Any:
    """Every tier of the shop."""
    return program_admin.listing(db.session(), current_shop(), TIER)  # type: ignore[misc]


@route("/tiers", "POST", summary="Create a tier; members are re-ranked", body=TierSchema, response=TierSchema,
       status=201)
def create_tier(data: dict[str, Any]) -> Any:
    """Names and thresholds are unique within the shop."""
    return _create(TIER, data)


@route("/tiers/preview", "POST", summary="How a proposed tier list would move the members (changes nothing)",
       body=TierPreviewInputSchema, response=TierPreviewSchema)
def preview_tiers(data: dict[str, Any]) -> Any:
    """Members moving up, down or staying, and between which tiers."""
    return program_admin.preview_tiers(db.session(), current_shop(), data["tiers"])  # type: ignore[misc]


@route("/tiers/<id:tier_id>", "PUT", summary="Change a tier; members are re-ranked", body=TierChangesSchema,
       response=TierSchema)
def update_tier(tier_id: int, data: dict[str, Any]) -> Any:
    """Only the fields given change."""
    return _update(TIER, tier_id, data)


@route("/tiers/<id:tier_id>", "DELETE", summary="Delete a tier; its members are re-ranked", status=204)
def delete_tier(tier_id: int) -> None:
    """Entry bonuses already posted stay: they were earned."""
    _delete(TIER, tier_id)


# Rewards

@route("/rewards", "GET", summary="The rewards, cheapest first", response=RewardSchema, many=True)
def list_rewards() -> Any:
    """Every reward, inactive ones too."""
    return program_admin.listing(db.session(), current_shop(), REWARD)  # type: ignore[misc]


@route("/rewards", "POST", summary="Create a reward", body=RewardSchema, response=RewardSchema, status=201)
def create_reward(data: dict[str, Any]) -> Any:
    """A percentage is at most 100; free shipping has no value."""
    return _create(REWARD, data)


@route("/rewards/<id:reward_id>", "PUT", summary="Change a reward", body=RewardChangesSchema, response=RewardSchema)
def update_reward(reward_id: int, data: dict[str, Any]) -> Any:
    """Codes already issued keep what they were issued with."""
    return _update(REWARD, reward_id, data)


@route("/rewards/<id:reward_id>", "DELETE", summary="Delete a reward", status=204)
def delete_reward(reward_id: int) -> None:
    """Redemptions keep their code and cost; to hide a reward for a while, set it inactive instead."""
    _delete(REWARD, reward_id)


# Ways to earn

@route("/actions", "GET", summary="The ways to earn besides orders", response=ActionSchema, many=True)
def list_actions() -> Any:
    """Every earning rule, inactive ones too."""
    return program_admin.listing(db.session(), current_shop(), ACTION)  # type: ignore[misc]


@route("/actions", "POST", summary="Create a way to earn", body=ActionSchema, response=ActionSchema, status=201)
def create_action(data: dict[str, Any]) -> Any:
    """One rule per action."""
    return _create(ACTION, data)


@route("/actions/<id:action_id>", "PUT", summary="Change a way to earn", body=ActionChangesSchema,
       response=ActionSchema)
def update_action(action_id: int, data: dict[str, Any]) -> Any:
    """Points already awarded stay."""
    return _update(ACTION, action_id, data)


@route("/actions/<id:action_id>", "DELETE", summary="Delete a way to earn", status=204)
def delete_action(action_id: int) -> None:
    """The action earns nothing from now on; points already awarded stay."""
    _delete(ACTION, action_id)


# Campaigns

@route("/campaigns", "GET", summary="The campaigns, earliest first", response=CampaignSchema, many=True)
def list_campaigns() -> Any:
    """Past, running and future campaigns."""
    return program_admin.listing(db.session(), current_shop(), CAMPAIGN)  # type: ignore[misc]


@route("/campaigns", "POST", summary="Create a campaign", body=CampaignSchema, response=CampaignSchema, status=201)
def create_campaign(data: dict[str, Any]) -> Any:
    """It must end after it starts; overlapping campaigns do not stack (the best applies)."""
    return _create(CAMPAIGN, data)


@route("/campaigns/<id:campaign_id>", "PUT", summary="Change a campaign", body=CampaignChangesSchema,
       response=CampaignSchema)
def update_campaign(campaign_id: int, data: dict[str, Any]) -> Any:
    """Orders already earned keep their points."""
    return _update(CAMPAIGN, campaign_id, data)


@route("/campaigns/<id:campaign_id>", "DELETE", summary="Delete a campaign", status=204)
def delete_campaign(campaign_id: int) -> None:
    """Orders already earned keep their points."""
    _delete(CAMPAIGN, campaign_id)


# History

@route("/program/versions", "GET", summary="Every program change, newest first", query=VersionsQuerySchema,
       response=VersionsPageSchema)
def program_versions(params: dict[str, Any]) -> Any:
    """Who changed what, when, with the object before and after; page on with ``next_cursor``."""
    shop = current_shop()
    items, next_cursor = program_admin.history(db.session(), shop, params["cursor"], params["limit"])  # type: ignore[misc]
    return {"items": items, "next_cursor": next_cursor, "program_version": shop.program_version}
