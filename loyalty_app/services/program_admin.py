"""Changing a shop's program from the admin: settings, tiers, rewards, ways to earn and campaigns.

Every change locks the shop's row first, so changes of one shop apply one at a time: the
uniqueness checks cannot race, and each change gets a version of its own. A change bumps the
program version once and records who made it with the object before and after
(``ProgramChange``). Tier changes also re-rank the members; ``rerank`` touches only the members
whose tier moves, found by one set-based query. Nothing here commits: the caller does.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import Numeric, and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Campaign, EarningRule, LedgerEntry, Member, OrderRecord, ProgramChange, Reward, Shop, Tier, utcnow
from ..program.settings import ProgramSettings
from ..program.tiers import (RankingComparison, Standing, TierRule, compare_rankings, previous_calendar_year,
                             ranker, window_start)
from ..schemas.program import ActionSchema, CampaignSchema, RewardSchema, TierSchema
from ..sql import transaction_cache
from .members import TIER_POINT_KINDS, tier_rules, update_tier
from .shops import bump_program_version, program_settings, update_settings


@dataclass(frozen=True)
class Subject:
    """One kind of program object: its model, the schema that validates and shows it, and what must be unique."""

    name: str
    model: type
    schema: type[Schema]
    unique: tuple[str, ...]
    order: str  # the column the admin lists them by


TIER = Subject("tier", Tier, TierSchema, ("name", "threshold"), "threshold")
REWARD = Subject("reward", Reward, RewardSchema, ("name",), "cost")
ACTION = Subject("action", EarningRule, ActionSchema, ("action",), "id")
CAMPAIGN = Subject("campaign", Campaign, CampaignSchema, (), "starts_at")


def lock_program(session: Session, shop: Shop) -> None:
    """Hold the shop's row until the transaction ends, so this shop's program changes queue one behind another.

    Take it before reading the row to change: what is read after it is what the last change committed.
    Taking it again in the same transaction costs one query and changes nothing.
    """
    session.refresh(shop, with_for_update=True)


def snapshot(subject: Subject, row: Any) -> dict[str, Any]:
    """The row as the API shows it (JSON-ready): what the history keeps as before and after."""
    return subject.schema().dump(row)  # type: ignore[no-any-return]


def record_change(session: Session, shop: Shop, actor: str, subject: str, subject_id: int | None, action: str,
                  before: dict[str, Any] | None, after: dict[str, Any] | None) -> ProgramChange:
    """Start a new program version and record the change that made it."""
    change = ProgramChange(shop_id=shop.id, version=bump_program_version(shop), actor=actor, subject=subject,
                           subject_id=subject_id, action=action, before=before, after=after, changed_at=utcnow())
    session.add(change)
    session.flush()
    return change


def change_settings(session: Session, shop: Shop, changes: dict[str, Any], actor: str) -> ProgramSettings:
    """Apply setting changes (validated whole by ``update_settings``); records a version only if anything changed."""
    lock_program(session, shop)
    before = program_settings(shop).to_json()
    version = shop.program_version
    settings = update_settings(shop, changes)  # bumps the version when the settings differ
    if shop.program_version != version:
        session.add(ProgramChange(shop_id=shop.id, version=shop.program_version, actor=actor, subject="settings",
                                  subject_id=None, action="update", before=before, after=settings.to_json(),
                                  changed_at=utcnow()))
    session.flush()
    return settings


def listing(session: Session, shop: Shop, subject: Subject) -> list[Any]:
    """Every object of one kind in the shop, in the order the admin shows them."""
    model: Any = subject.model
    query = select(model).where(model.shop_id == shop.id).order_by(getattr(model, subject.order), model.id)
    return list(session.execute(query).scalars())


def _check_unique(session: Session, shop: Shop, subject: Subject, values: dict[str, Any],
                  exclude_id: int | None = None) -> None:
    """422, not an IntegrityError: another object of the shop already has this name (any case) or threshold."""
    model: Any = subject.model
    errors = {}
    for column_name in subject.unique:
        column, value = getattr(model, column_name), values[column_name]
        if isinstance(value, str):
            condition = func.lower(column) == value.strip().lower()
        else:
            condition = column == value
        query = select(model.id).where(model.shop_id == shop.id, condition)
        if exclude_id is not None:
            query = query.where(model.id != exclude_id)
        if session.execute(query.limit(1)).first() is not None:
            errors[column_name] = [f"Another {subject.name} already has this {column_name.replace('_', ' ')}."]
    if errors:
        raise ValidationError(errors)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value.strip() if key == "name" and isinstance(value, str) else value for key, value in values.items()}


def create(session: Session, shop: Shop, subject: Subject, values: dict[str, Any], actor: str) -> Any:
    """Add a tier, reward, action or campaign from validated ``values``; raises ValidationError for a duplicate."""
    lock_program(session, shop)
    values = _clean(values)
    _check_unique(session, shop, subject, values)
    row = subject.model(shop_id=shop.id, **values)
    session.add(row)
    session.flush()
    session.refresh(row)  # as stored: decimals at their column's scale
    record_change(session, shop, actor, subject.name, row.id, "create", None, snapshot(subject, row))
    return row


def update(session: Session, shop: Shop, subject: Subject, row: Any, changes: dict[str, Any], actor: str) -> bool:
    """Change some fields of ``row``; the merged result is validated whole. Returns whether anything changed.

    Nothing is assigned until the whole result is valid, so a refused change leaves the row as it was.
    """
    lock_program(session, shop)
    before = snapshot(subject, row)
    merged = subject.schema().load({**{k: v for k, v in before.items() if k != "id"}, **subject.schema().dump(changes)})
    merged = _clean(merged)
    _check_unique(session, shop, subject, merged, exclude_id=row.id)
    for key, value in merged.items():
        setattr(row, key, value)
    session.flush()
    session.refresh(row)
    after = snapshot(subject, row)
    if after == before:
        return False
    record_change(session, shop, actor, subject.name, row.id, "update", before, after)
    return True


def delete(session: Session, shop: Shop, subject: Subject, row: Any, actor: str) -> None:
    """Remove ``row``; what referred to it keeps its own record (members lose a deleted tier, codes keep their cost)."""
    lock_program(session, shop)
    before = snapshot(subject, row)
    session.delete(row)
    session.flush()
    record_change(session, shop, actor, subject.name, before["id"], "delete", before, None)


def history(session: Session, shop: Shop, cursor: int | None, limit: int) -> tuple[list[ProgramChange], int | None]:
    """A page of the shop's changes, newest first, after the change ``cursor`` (keyset on the id)."""
    query = select(ProgramChange).where(ProgramChange.shop_id == shop.id)
    if cursor is not None:
        query = query.where(ProgramChange.id < cursor)
    rows = list(session.execute(query.order_by(ProgramChange.id.desc()).limit(limit + 1)).scalars())
    return rows[:limit], rows[limit - 1].id if len(rows) > limit else None


# Ranking members

def tier_standings(session: Session, shop: Shop, tiers: list[TierRule], now: datetime) -> list[Standing]:
    """Every member's tier and tier progress in one query, as ``members.tier_progress`` computes it one by one.

    ``tiers``: the tier list whose entry bonuses are left out of points progress (unless the shop
    counts them). With calendar-year tiers kept a year, last calendar year's activity comes too,
    as a re-evaluation reads it.
    """
    settings = program_settings(shop)
    since = window_start(settings.tier_window, now)
    keeps_previous = settings.tier_keep_previous_year and settings.tier_window == "calendar_year"
    previous = previous_calendar_year(now) if keeps_previous else None
    money = Numeric(18, 2)
    if settings.tier_basis == "points" and since is None:
        sources = [f"tier:{tier.key}" for tier in tiers]
        bonuses = select(LedgerEntry.member_id, func.sum(LedgerEntry.amount).label("total")).where(
            LedgerEntry.shop_id == shop.id, LedgerEntry.kind == "bonus", LedgerEntry.source.in_(sources)
        ).group_by(LedgerEntry.member_id).subquery()
        value = Member.lifetime if settings.tier_bonus_counts else Member.lifetime - func.coalesce(bonuses.c.total, 0)
        query = select(Member.id, Member.tier_id, value, None).where(Member.shop_id == shop.id)  # whole points
        if not settings.tier_bonus_counts:
            query = query.outerjoin(bonuses, bonuses.c.member_id == Member.id)
    else:
        if settings.tier_basis == "points":
            kinds = TIER_POINT_KINDS if settings.tier_bonus_counts else tuple(k for k in TIER_POINT_KINDS if k != "bonus")
            owner, amount, moment = LedgerEntry.member_id, LedgerEntry.amount, LedgerEntry.created_at
            scope = and_(LedgerEntry.shop_id == shop.id, LedgerEntry.kind.in_(kinds))
        else:
            owner, moment = OrderRecord.member_id, OrderRecord.placed_at
            amount = OrderRecord.eligible_amount - OrderRecord.refunded_amount
            scope = and_(OrderRecord.shop_id == shop.id, OrderRecord.member_id.is_not(None),
                         OrderRecord.points_earned.is_not(None), OrderRecord.cancelled.is_(False))
        within = amount if since is None else case((moment >= since, amount), else_=0)
        columns = [owner.label("member_id"), func.sum(within).label("value")]
        if previous is not None:
            columns.append(func.sum(case((and_(moment >= previous[0], moment < previous[1]), amount), else_=0))
                           .label("previous"))
        activity = select(*columns).where(scope).group_by(owner).subquery()
        previous_value = (type_coerce(func.coalesce(activity.c.previous, 0), money) if previous is not None
                          else None)
        query = select(Member.id, Member.tier_id, type_coerce(func.coalesce(activity.c.value, 0), money),
                       previous_value).where(Member.shop_id == shop.id).outerjoin(
            activity, activity.c.member_id == Member.id)
    # Core, not the ORM: 100,000 plain rows, no entities (the caller has flushed what it changed).
    return [Standing(*row) for row in session.connection().execute(query.order_by(Member.id))]


def preview_tiers(session: Session, shop: Shop, proposed: list[dict[str, Any]],
                  now: datetime | None = None) -> dict[str, Any]:
    """What a proposed tier list would do to the members, changing nothing (``TierPreviewSchema``'s shape).

    Proposed tiers with an ``id`` are the shop's existing tiers (changed or not; a foreign id is a
    ValidationError); new ones get keys below zero, which no member holds and no bonus names.
    One thing the preview does not follow: when the shop counts entry bonuses towards the next tier,
    a promotion's bonus may promote again; the re-ranking after the change does, the preview stops
    at the first tier.
    """
    now = now or utcnow()
    current = tier_rules(session, shop.id)
    known = {tier.key for tier in current}
    unknown = [index for index, tier in enumerate(proposed) if tier.get("id") is not None and tier["id"] not in known]
    if unknown:
        raise ValidationError({"tiers": {index: {"id": ["No such tier in this shop."]} for index in unknown}})
    rules = [TierRule(tier.get("id") or -(index + 1), tier["name"].strip(), tier["threshold"], tier["multiplier"],
                      tier["entry_bonus"]) for index, tier in enumerate(proposed)]
    comparison = compare_rankings(current, rules, tier_standings(session, shop, rules, now))
    return _described(comparison, current, rules)


def _described(comparison: RankingComparison, current: list[TierRule], proposed: list[TierRule]) -> dict[str, Any]:
    """A comparison with tiers named, listed lowest first (members without a tier first), biggest moves first."""
    tiers = {tier.key: tier for tier in [*current, *proposed]}  # a kept tier under its proposed name

    def name(key: int | None) -> str | None:
        return tiers[key].name if key is not None else None

    ranked = sorted((key for key in comparison.counts if key is not None), key=lambda key: (tiers[key].threshold, key))
    return {
        "members": comparison.members, "up": comparison.up, "down": comparison.down, "same": comparison.same,
        "tiers": [{"id": key if key is not None and key > 0 else None, "name": name(key),
                   "before": comparison.counts[key][0], "after": comparison.counts[key][1]}
                  for key in [None, *ranked] if key in comparison.counts],
        "moves": [{"from_tier": name(before), "to_tier": name(after), "direction": direction, "members": count}
                  for (before, after, direction), count in sorted(comparison.moves.items(), key=lambda m: -m[1])],
    }


def rerank(session: Session, shop: Shop, now: datetime | None = None,
           checkpoint: Callable[[], None] | None = None, every: int = 500) -> int:
    """Re-rank the shop's members after its tiers changed, as the daily re-evaluation would; returns how many moved.

    One query finds every member's progress; only members whose tier moves are locked and moved
    by ``members.update_tier``, which checks again under the lock and posts a promotion's entry
    bonus. ``checkpoint`` (a commit) runs every ``every`` moved members, so a background run on a
    large shop never holds many row locks for long.
    """
    now = now or utcnow()
    transaction_cache(session).pop(("tiers", shop.id), None)
    rules = tier_rules(session, shop.id)
    rank = ranker(rules)
    moved = 0
    for standing in tier_standings(session, shop, rules, now):
        target = rank(standing.value, standing.previous_value)
        if (target.key if target else None) == standing.tier_key:
            continue
        member = ledger.lock_member(session, standing.member_id)
        before = member.tier_id
        update_tier(session, shop, member, now, reevaluating=True)
        if member.tier_id != before:
            moved += 1
            if checkpoint is not None and moved % every == 0:
                checkpoint()
    return moved



@dataclass(frozen=True)
class ProgramPage:
    """Everything the Program page shows, read in a handful of queries."""

    settings: ProgramSettings
    version: int
    tiers: list[Tier]
    members_per_tier: dict[int | None, int]
    rewards: list[Reward]
    actions: list[EarningRule]
    campaigns: list[Campaign]
    changes: list[ProgramChange]
    next_cursor: int | None


def program_page(session: Session, shop: Shop, cursor: int | None = None, history_size: int = 20) -> ProgramPage:
    """The shop's program as the admin page renders it, with a page of its history."""
    counts = dict(session.execute(select(Member.tier_id, func.count()).where(Member.shop_id == shop.id)
                                  .group_by(Member.tier_id)).all())
    changes, next_cursor = history(session, shop, cursor, history_size)
    return ProgramPage(program_settings(shop), shop.program_version, listing(session, shop, TIER), counts,
                       listing(session, shop, REWARD), listing(session, shop, ACTION), listing(session, shop, CAMPAIGN),
                       changes, next_cursor)


def changed_fields(change: ProgramChange) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field an update changed, for the history's one-line summary."""
    before, after = change.before or {}, change.after or {}
    return [(key, before.get(key), after.get(key)) for key in sorted(set(before) | set(after))
            if key != "id" and before.get(key) != after.get(key)]
