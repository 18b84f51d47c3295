"""Redemptions: points exchanged for discount codes, and what became of the codes."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Redemption, Reward, Shop, utcnow
from ..program.orders import OrderFacts
from ..shopify.client import AdminClient
from ..shopify.discounts import CODE_PREFIX, CodeRequest, code_taken, deactivate_code, find_code, new_code, ours, usage_count
from ..shopify.errors import ShopifyError, ShopifyUnavailable
from . import flow_outbox
from .refusals import Refused

log = logging.getLogger(__name__)

EXPIRY_SETTLE = timedelta(minutes=30)
"""How long after its expiry a code is settled: Shopify's usage count and the order's webhook catch up."""


def mark_codes_used(session: Session, shop: Shop, order: OrderFacts, now: datetime | None = None) -> int:
    """Mark our active codes that an order used; returns how many.

    Called for ``orders/create``, ``orders/paid`` and ``orders/updated`` alike, whatever the shop
    earns on, so a used code is known as soon as any of them arrives and its points never come
    back at expiry. Codes compare case-insensitively, as Shopify applies them (ours are stored
    upper-case, so the lookup uses the shop's unique code index). Locks the member,
    then the redemption (the order ``expire_codes`` takes them in), so a concurrent expiry either
    sees the code used or has settled it first. Leaves the commit to the caller.
    """
    names = ours(order.discount_codes)
    if not names:  # most orders: no code, or only the merchant's own
        return 0
    matched = session.execute(select(Redemption.id, Redemption.member_id).where(
        Redemption.shop_id == shop.id, Redemption.code.in_(sorted(names)), Redemption.state == "active",
    )).all()
    for member_id in sorted({member_id for _, member_id in matched}):
        ledger.lock_member(session, member_id)
    used = [r for r in _locked(session, [redemption_id for redemption_id, _ in matched]) if r.state == "active"]
    for redemption in used:
        redemption.state, redemption.used_at, redemption.order_id = "used", now or utcnow(), order.order_id
    session.flush()
    return len(used)


def _locked(session: Session, redemption_ids: list[int]) -> list[Redemption]:
    """Redemptions freshly read under their row locks (FOR UPDATE on PostgreSQL), in id order."""
    return list(session.execute(
        select(Redemption).where(Redemption.id.in_(redemption_ids)).order_by(Redemption.id).with_for_update()
        .execution_options(populate_existing=True)).scalars())


class RedemptionError(Refused):
    """A redemption the shopper cannot make; ``reason`` is a stable code the widget translates."""


def find_redemption(session: Session, shop_id: int, member_id: int, client_key: str) -> Redemption | None:
    """The member's redemption made under the widget's key, if any (a replay)."""
    return _find(session, shop_id, f"{member_id}:{client_key}")


def _find(session: Session, shop_id: int, key: str) -> Redemption | None:
    return session.execute(
        select(Redemption).where(Redemption.shop_id == shop_id, Redemption.idempotency_key == key)
    ).scalar_one_or_none()


def reserve(session: Session, shop: Shop, member_id: int, reward_id: int, client_key: str,
            now: datetime | None = None) -> tuple[Redemption, bool]:
    """Debit the reward's cost and record the redemption as ``reserved``; returns (redemption, created).

    Replaying the key returns the first redemption with created False.

    Runs under the member's row lock, so two redemptions that together exceed the balance
    cannot both pass. The caller commits before it calls Shopify.
    """
    now = now or utcnow()
    member = ledger.lock_member(session, member_id)
    key = f"{member.id}:{client_key}"
    existing = _find(session, shop.id, key)
    if existing is not None:
        return existing, False
    reward = session.get(Reward, reward_id)
    if reward is None or reward.shop_id != shop.id or not reward.active:
        raise RedemptionError("unknown_reward", "that reward does not exist")
    store_credit = reward.kind == "store_credit"
    redemption = Redemption(shop_id=shop.id, member_id=member.id, reward_id=reward.id, idempotency_key=key,
                            kind="store_credit" if store_credit else "code",
                            code=new_credit_reference() if store_credit else new_code(), cost=reward.cost,
                            state="reserved", created_at=now,
                            expires_at=now + timedelta(days=reward.expires_after_days)
                            if reward.expires_after_days and not store_credit else None)
    session.add(redemption)
    session.flush()
    try:
        ledger.post(session, member.id, amount=-reward.cost, kind="redeem", key=f"redeem:{redemption.id}",
                    source=f"reward:{reward.id}", note=reward.name, actor="shopper", now=now)
    except ledger.InsufficientPoints as exc:
        raise RedemptionError("insufficient_points", "not enough points for that reward") from exc
    return redemption, True


def new_credit_reference() -> str:
    """A store credit redemption's reference (``CREDIT-…``): unique like a code, never a discount (see ``ours``)."""
    return "CREDIT-" + new_code().removeprefix(CODE_PREFIX)


def activate(session: Session, redemption: Redemption, discount_id: str) -> None:
    """The code exists in Shopify: the redemption is usable (and a "reward redeemed" Flow trigger is recorded)."""
    first = redemption.state != "active"
    redemption.state, redemption.discount_id, redemption.error = "active", discount_id, None
    session.flush()
    if first:
        reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
        flow_outbox.record_redemption(session, redemption.shop_id, redemption.member_id, redemption.id,
                                      reward.name if reward else None, redemption.code, redemption.cost, utcnow())


def release(session: Session, redemption: Redemption, error: str, state: str = "released",
            now: datetime | None = None) -> None:
    """Give the points back with a compensating entry (the debit stays on record)."""
    ledger.post(session, redemption.member_id, amount=redemption.cost, kind="release",
                key=f"release:{redemption.id}", source=f"redemption:{redemption.id}", note=error[:500], now=now)
    redemption.state, redemption.error = state, error[:500]
    session.flush()


def code_request(session: Session, redemption: Redemption, customer_id: int) -> CodeRequest:
    """What Shopify needs to create this redemption's code."""
    reward = session.get(Reward, redemption.reward_id)
    assert reward is not None
    return CodeRequest(code=redemption.code, title=f"{reward.name} ({redemption.code})", kind=reward.kind,
                       value=reward.value, customer_id=customer_id, starts_at=redemption.created_at,
                       ends_at=redemption.expires_at, minimum_subtotal=reward.minimum_subtotal,
                       combines_with=reward.combines_with or {})


def _outcome_unknown(exc: Exception) -> bool:
    """Whether Shopify may have made the code although the call failed: a timeout, a 5xx, or "code taken"."""
    return isinstance(exc, ShopifyUnavailable) or (isinstance(exc, ShopifyError) and code_taken(exc))


def redeem(session: Session, shop: Shop, member_id: int, customer_id: int, reward_id: int, client_key: str,
           create: Callable[[CodeRequest], str], find: Callable[[str], str | None], wait: float = 10.0) -> Redemption:
    """Reserve, create the code in Shopify, then activate, or release the points if Shopify refused.

    A failure whose outcome is unknown (a timeout, a 5xx, or "code taken" because an earlier
    attempt went through) is never taken for a refusal: the code, fixed before the call, is
    looked up (``find``) and created again if Shopify has none, so at most one code exists and it
    is paid for once. If Shopify still cannot say, the redemption stays ``reserved`` and
    ``settle_reservations`` decides later. This use case commits between its steps (never
    holding a lock across the network call). A replay of the key returns the first redemption;
    one still in flight is awaited.
    """
    reward = session.get(Reward, reward_id)
    if reward is not None and reward.shop_id == shop.id and reward.kind == "store_credit":
        raise ValueError("store credit rewards are redeemed through services.store_credit.redeem_reward")
    redemption, created = reserve(session, shop, member_id, reward_id, client_key)
    session.commit()
    if not created:
        return settled(session, redemption.id, wait)
    request = code_request(session, redemption, customer_id)
    try:
        discount_id = _create_once(request, create, find)
    except ShopifyError as exc:
        session.rollback()
        redemption = session.get_one(Redemption, redemption.id)
        if _outcome_unknown(exc):
            redemption.error = f"waiting for Shopify: {type(exc).__name__}: {exc}"[:500]
            session.commit()
            return redemption
        release(session, redemption, f"{type(exc).__name__}: {exc}")
        session.commit()
        raise RedemptionError("shopify_failed", "the discount code could not be created; "
                                                "your points were returned") from exc
    activate(session, redemption, discount_id)
    session.commit()
    return redemption


def _create_once(request: CodeRequest, create: Callable[[CodeRequest], str], find: Callable[[str], str | None]) -> str:
    """Create the code; after an unknown outcome, find it, or create it again (the code makes that safe)."""
    try:
        return create(request)
    except ShopifyError as exc:
        if not _outcome_unknown(exc):
            raise
        found = find(request.code)
        if found is not None:
            return found
        if code_taken(exc):  # taken, yet not found: someone else's code; nothing of ours exists
            raise ShopifyError(f"code {request.code} is taken by another discount") from exc
    try:
        return create(request)
    except ShopifyError as exc:
        if code_taken(exc) and (found := find(request.code)) is not None:
            return found  # the first attempt landed while we looked
        raise


def settled(session: Session, redemption_id: int, wait: float) -> Redemption:
    """The redemption once its creator has finished (a double click waits for the first click)."""
    deadline = time.monotonic() + wait
    while True:
        session.expire_all()
        redemption = session.get(Redemption, redemption_id)
        assert redemption is not None
        if redemption.state != "reserved" or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    session.rollback()
    if redemption.state == "released":
        raise RedemptionError("shopify_failed", "the reward could not be issued; your points were returned")
    return redemption


def settle_reservations(session: Session, shop: Shop, client: AdminClient, older_than: timedelta,
                        now: datetime | None = None) -> int:
    """Settle the shop's redemptions left ``reserved`` (Shopify's answer was lost, or the process died).

    Each is looked up in Shopify by its code: found, it is activated; absent, its points are
    released. If Shopify cannot answer, the rest wait for the next run: nothing is released on a
    guess. Commits after each redemption, because Shopify was asked about it; returns how many
    were settled.
    """
    now = now or utcnow()
    stale = session.execute(select(Redemption.id).where(
        Redemption.shop_id == shop.id, Redemption.kind == "code", Redemption.state == "reserved",
        Redemption.created_at < now - older_than,
    ).order_by(Redemption.id)).scalars().all()

    def settle(redemption: Redemption, discount_id: str | None) -> None:
        if discount_id is not None:
            activate(session, redemption, discount_id)
        else:
            release(session, redemption, "Shopify never made the code", now=now)

    return _settle_each(session, shop, stale, "reserved", lambda r: find_code(client, r.code), settle, "reservations")


def expire_codes(session: Session, shop: Shop, client: AdminClient, now: datetime | None = None,
                 settle: timedelta = EXPIRY_SETTLE) -> int:
    """Settle active codes past their expiry; returns how many were settled.

    A code's points come back only when Shopify says the code was never used (``asyncUsageCount``
    0): an order whose webhook we missed still counts as a use. A code Shopify reports used is
    marked used (nothing released); one whose discount is gone from Shopify has an unknown usage,
    so it expires without a release. Shopify counts usage asynchronously and an order's webhook
    may still be on its way, so a code is settled ``settle`` after it expired. If Shopify cannot
    be asked (an error or a timeout), this shop's remaining codes stay active for the next run:
    nothing is released on a guess. Commits after each code, because Shopify was called for it.
    """
    now = now or utcnow()
    due = session.execute(select(Redemption.id).where(
        Redemption.shop_id == shop.id, Redemption.state == "active", Redemption.expires_at <= now - settle,
    ).order_by(Redemption.id)).scalars().all()

    def uses_after_deactivating(redemption: Redemption) -> int | None:
        uses = usage_count(client, redemption.discount_id) if redemption.discount_id else 0
        if uses == 0 and redemption.discount_id:
            deactivate_code(client, redemption.discount_id)
        return uses

    # "active" is checked again under the lock: an order may have marked the code used while Shopify answered
    return _settle_each(session, shop, due, "active", uses_after_deactivating,
                        lambda redemption, uses: _settle(session, redemption, uses, now), "code expiry")


def _settle_each(session: Session, shop: Shop, redemption_ids: Sequence[int], state: str,
                 ask: Callable[[Redemption], Any], apply: Callable[[Redemption, Any], None], what: str) -> int:
    """Ask Shopify about each redemption (holding no lock), then apply its answer under the member's and
    the redemption's locks if the redemption is still in ``state``; returns how many were applied.

    Commits after each one, because Shopify was called for it. At the first Shopify error the rest
    wait for the next run: nothing is decided on a guess.
    """
    applied = 0
    for redemption_id in redemption_ids:
        try:
            answer = ask(session.get_one(Redemption, redemption_id))
        except ShopifyError as exc:
            session.rollback()
            log.warning("shop %s: %s waits for the next run: %s", shop.domain, what, exc)
            break
        ledger.lock_member(session, session.get_one(Redemption, redemption_id).member_id)
        [redemption] = _locked(session, [redemption_id])
        if redemption.state == state:
            apply(redemption, answer)
            applied += 1
        session.commit()
    return applied


def _settle(session: Session, redemption: Redemption, uses: int | None, now: datetime) -> None:
    """Record what became of an expired code, given Shopify's usage count (None: the discount is gone)."""
    if uses is None:
        redemption.state, redemption.error = "expired", "the discount no longer exists in Shopify; usage unknown"
    elif uses > 0:
        redemption.state, redemption.used_at = "used", now
    else:
        reward = session.get(Reward, redemption.reward_id) if redemption.reward_id else None
        if reward is not None and reward.return_points_on_expiry:
            release(session, redemption, "code expired unused", state="expired", now=now)
        else:
            redemption.state = "expired"
    session.flush()


def shown_state(redemption: Redemption, now: datetime) -> str:
    """The state a shopper sees: an active code past its expiry is expired even before the job runs."""
    if redemption.state == "active" and redemption.expires_at is not None and redemption.expires_at <= now:
        return "expired"
    return redemption.state


def member_codes(session: Session, member_id: int) -> list[Redemption]:
    """A member's discount-code redemptions, newest first (store credit has no code to show)."""
    return list(session.execute(select(Redemption).where(Redemption.member_id == member_id,
                                                         Redemption.kind == "code")
                                .order_by(Redemption.id.desc())).scalars())
