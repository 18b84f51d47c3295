"""Store credit: rewards that buy Shopify store credit with points, and cashback paid (and taken back) as store credit.

A redemption is atomic with the ledger the way a code redemption is (services/redemptions.py):
the points are reserved and the credit recorded in one transaction, Shopify is called, and the
redemption is then ``credited`` or its points released. Cashback is recorded in the order's own
webhook transaction and sent afterwards by a job (``send_pending``), never inside it.

Shopify's store credit mutations take no idempotency key in 2026-10, so a call whose outcome is
unknown (a timeout, a 5xx) is never taken for a failure: the customer's recent transactions are
read and the one that matches the grant (kind, amount, currency, expiry, made since the grant,
not already another grant's) is taken as it (``_landed``); only if none matches is the call made
again. Two of one member's grants of the same amount both unknown at once could take each
other's transaction; each is still credited exactly once.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from .. import ledger
from ..models import Member, OrderRecord, Redemption, Reward, Shop, StoreCreditGrant, utcnow
from ..program.settings import ProgramSettings
from ..program.store_credit import (RewardOption, cashback_cents, cashback_reversal_cents, fallback_reward,
                                    from_cents, to_cents)
from ..shopify import store_credit as shopify_credit
from ..shopify.client import AdminClient
from ..shopify.discounts import create_code, find_code
from ..shopify.errors import ShopifyError, ShopifyUnavailable
from . import redemptions
from .redemptions import RedemptionError
from .shops import program_settings

log = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=5)
"""How far Shopify's transaction time may precede our record of the grant and still be that grant's."""
CLAIM_TIMEOUT = timedelta(minutes=10)
"""A grant claimed (``sending``) this long ago has no call in flight any more: its sender died."""
PENDING_SHOPS = "loyalty.store_credit_shops"
"""``session.info`` key: shops that recorded cashback credits or debits in this session (the drain sends them)."""

ClientFactory = Callable[[], AdminClient]


class StoreCreditUnavailable(RedemptionError):
    """Store credit cannot be issued here (the shop has it off, or Shopify has no account for the customer)."""

    def __init__(self, message: str, fallback_reward_id: int | None) -> None:
        super().__init__("store_credit_unavailable", message)
        self.fallback_reward_id = fallback_reward_id


def fallback_for(session: Session, shop: Shop, reward: Reward) -> int | None:
    """The discount-code reward to offer instead of ``reward`` (program/store_credit.fallback_reward)."""
    rewards = session.execute(select(Reward).where(Reward.shop_id == shop.id, Reward.active.is_(True))).scalars()
    return fallback_reward(RewardOption(reward.id, reward.kind, reward.cost, reward.value),
                           [RewardOption(r.id, r.kind, r.cost, r.value, r.active) for r in rewards])


def _expiry(settings: ProgramSettings, now: datetime) -> datetime | None:
    """When credit issued now expires, to the second (Shopify keeps seconds; matching compares them)."""
    if settings.store_credit_expiry_days is None:
        return None
    return (now + timedelta(days=settings.store_credit_expiry_days)).replace(microsecond=0)


# Redemptions

def redeem_reward(session: Session, shop: Shop, member_id: int, customer_id: int, reward_id: int, client_key: str,
                  client: ClientFactory, credit_client: ClientFactory) -> Redemption:
    """Redeem any reward: store credit through ``redeem``, a discount code through ``redemptions.redeem``.

    The one entry point for every surface (the app proxy, customer account and POS extensions).
    ``credit_client`` makes clients that never resend by themselves (``max_retries=0``); see ``redeem``.
    """
    reward = session.get(Reward, reward_id)
    if reward is not None and reward.shop_id == shop.id and reward.kind == "store_credit":
        return redeem(session, shop, member_id, customer_id, reward_id, client_key, credit_client)
    return redemptions.redeem(session, shop, member_id, customer_id, reward_id, client_key,
                              lambda request: create_code(client(), request), lambda code: find_code(client(), code))


def redeem(session: Session, shop: Shop, member_id: int, customer_id: int, reward_id: int, client_key: str,
           client: ClientFactory, wait: float = 10.0, now: datetime | None = None) -> Redemption:
    """Exchange points for store credit: check the shop has it on, reserve, credit in Shopify, then confirm or release.

    Raises StoreCreditUnavailable (with the code reward to offer) when the shop has store credit
    off or Shopify has no account for the customer, RedemptionError for the rest. Returns the
    redemption ``credited``, or still ``reserved`` when Shopify's answer stays unknown
    (``settle_reservations`` decides later). Commits between its steps, like
    ``redemptions.redeem``; a replay of the key returns the first redemption. ``client`` must
    make clients that never resend a request themselves (``max_retries=0``): only this service,
    having looked for the first call's transaction, may send a credit again.
    """
    now = now or utcnow()
    reward = session.get(Reward, reward_id)
    if reward is None or reward.shop_id != shop.id or not reward.active or reward.kind != "store_credit":
        raise RedemptionError("unknown_reward", "that reward does not exist")
    if redemptions.find_redemption(session, shop.id, member_id, client_key) is None:
        try:
            enabled = shopify_credit.store_credit_enabled(client())
        except ShopifyError as exc:
            raise RedemptionError("shopify_failed", "Shopify could not be asked; nothing was redeemed") from exc
        if not enabled:
            raise StoreCreditUnavailable("this shop does not offer store credit", fallback_for(session, shop, reward))
    redemption, created = redemptions.reserve(session, shop, member_id, reward_id, client_key, now=now)
    if created:
        settings = program_settings(shop)
        session.add(StoreCreditGrant(shop_id=shop.id, member_id=redemption.member_id, key=f"redeem:{redemption.id}",
                                     kind="reward", redemption_id=redemption.id, amount=reward.value,
                                     currency=shop.currency, expires_at=_expiry(settings, now), state="sending",
                                     attempts=1, attempted_at=now, created_at=now))
    session.commit()
    if not created:
        return redemptions.settled(session, redemption.id, wait)
    grant = _grant_of(session, redemption.id)
    try:
        transaction_id = _credit_once(session, grant, customer_id, program_settings(shop).store_credit_notify, client)
    except ShopifyError as exc:
        session.rollback()
        redemption, grant = session.get_one(Redemption, redemption.id), _grant_of(session, redemption.id)
        if isinstance(exc, ShopifyUnavailable):
            redemption.error = grant.error = f"waiting for Shopify: {type(exc).__name__}: {exc}"[:500]
            session.commit()
            return redemption
        redemptions.release(session, redemption, f"{type(exc).__name__}: {exc}")
        grant.state, grant.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        session.commit()
        if shopify_credit.unavailable(exc):
            raise StoreCreditUnavailable("Shopify cannot give this customer store credit; your points were returned",
                                         fallback_for(session, shop, reward)) from exc
        raise RedemptionError("shopify_failed", "the store credit could not be issued; "
                                                "your points were returned") from exc
    _credited(session, redemption, grant, transaction_id, utcnow())
    session.commit()
    return redemption


def redemption_view(session: Session, redemption: Redemption, balance: int) -> dict[str, Any]:
    """What the shopper sees of a store credit redemption (the widget's answer to /proxy/redeem)."""
    grant = _grant_of(session, redemption.id)
    return {"kind": "store_credit", "id": redemption.id, "reference": redemption.code, "state": redemption.state,
            "amount": str(grant.amount), "currency": grant.currency, "cost": redemption.cost,
            "reward_id": redemption.reward_id,
            "expires_at": grant.expires_at.isoformat() if grant.expires_at else None, "balance": balance}


def _grant_of(session: Session, redemption_id: int) -> StoreCreditGrant:
    return session.execute(select(StoreCreditGrant).where(StoreCreditGrant.redemption_id == redemption_id)
                           .execution_options(populate_existing=True)).scalar_one()


def _credited(session: Session, redemption: Redemption, grant: StoreCreditGrant, transaction_id: str,
              now: datetime) -> None:
    redemption.state, redemption.discount_id, redemption.error = "credited", transaction_id, None
    _sent(grant, transaction_id, now)
    session.flush()


def _sent(grant: StoreCreditGrant, transaction_id: str, now: datetime) -> None:
    grant.state, grant.transaction_id, grant.error, grant.sent_at = "sent", transaction_id, None, now


def _credit_once(session: Session, grant: StoreCreditGrant, customer_id: int, notify: bool,
                 client: ClientFactory) -> str:
    """Credit; after an unknown outcome, take the transaction that landed, or credit again if none did."""
    def send() -> str:
        return shopify_credit.credit(client(), customer_id, grant.amount, grant.currency, grant.expires_at, notify)

    try:
        return send()
    except ShopifyUnavailable:
        landed = _look(session, grant, customer_id, client)
        if landed is not None:
            return landed
    return send()


def _look(session: Session, grant: StoreCreditGrant, customer_id: int, client: ClientFactory) -> str | None:
    """``_landed``, with any failure to look (even a missing scope) an unknown outcome, never a refusal."""
    try:
        return _landed(session, grant, customer_id, client)
    except ShopifyUnavailable:
        raise
    except ShopifyError as exc:
        raise ShopifyUnavailable(f"could not look for the earlier call's transaction: {exc}") from exc


def _landed(session: Session, grant: StoreCreditGrant, customer_id: int, client: ClientFactory) -> str | None:
    """The id of Shopify's transaction for this grant if an earlier call made it (the oldest unclaimed match)."""
    claimed = set(session.execute(select(StoreCreditGrant.transaction_id).where(
        StoreCreditGrant.shop_id == grant.shop_id, StoreCreditGrant.member_id == grant.member_id,
        StoreCreditGrant.transaction_id.is_not(None))).scalars())
    kind = "debit" if grant.kind == "cashback_reversal" else "credit"
    matches = [t for t in shopify_credit.recent_transactions(client(), customer_id)
               if t.kind == kind and t.amount == grant.amount and t.currency == grant.currency
               and t.created_at >= grant.created_at - CLOCK_SKEW and t.id not in claimed
               and (kind == "debit" or t.expires_at == grant.expires_at)]
    return min(matches, key=lambda t: t.created_at).id if matches else None


def settle_reservations(session: Session, shop: Shop, client: ClientFactory, older_than: timedelta,
                        now: datetime | None = None) -> int:
    """Settle store credit redemptions left ``reserved``: credited if Shopify has the transaction, else released.

    If Shopify cannot answer, the rest wait for the next run. Commits after each; returns how many settled.
    """
    now = now or utcnow()
    stale = session.execute(select(Redemption.id).where(
        Redemption.shop_id == shop.id, Redemption.kind == "store_credit", Redemption.state == "reserved",
        Redemption.created_at < now - older_than).order_by(Redemption.id)).scalars().all()
    settled = 0
    for redemption_id in stale:
        redemption = session.get_one(Redemption, redemption_id)
        grant = _grant_of(session, redemption_id)
        member = session.get_one(Member, redemption.member_id)
        try:
            landed = _landed(session, grant, member.customer_id, client)
        except ShopifyError as exc:
            session.rollback()
            log.warning("shop %s: store credit reservations wait for the next run: %s", shop.domain, exc)
            break
        ledger.lock_member(session, redemption.member_id)
        redemption = session.get_one(Redemption, redemption_id, populate_existing=True, with_for_update=True)
        if redemption.state == "reserved":
            if landed is not None:
                _credited(session, redemption, _grant_of(session, redemption_id), landed, now)
            else:
                redemptions.release(session, redemption, "Shopify never made the store credit", now=now)
                grant = _grant_of(session, redemption_id)
                grant.state, grant.error = "failed", "Shopify never made the store credit"
            settled += 1
        session.commit()
    return settled


# Cashback

def grant_cashback(session: Session, shop: Shop, record: OrderRecord, member: Member,
                   now: datetime) -> StoreCreditGrant | None:
    """Record an order's cashback (``cashback_percent`` of its eligible amount) for the job to send.

    Called once per order, in the transaction that earns it (the order's row is locked and
    earns only once); the key ``cashback:<order>`` makes a second call a no-op all the same.
    Leaves the commit to the caller.
    """
    settings = program_settings(shop)
    cents = cashback_cents(record.eligible_amount or Decimal("0"), settings.cashback_percent)
    key = f"cashback:{record.order_id}"
    if cents <= 0 or _by_key(session, shop.id, key) is not None:
        return None
    grant = StoreCreditGrant(shop_id=shop.id, member_id=member.id, key=key, kind="cashback", order_id=record.order_id,
                             amount=from_cents(cents), currency=shop.currency, expires_at=_expiry(settings, now),
                             state="pending", attempts=0, created_at=now)
    session.add(grant)
    session.flush()
    session.info.setdefault(PENDING_SHOPS, set()).add(shop.id)
    return grant


def recorded_shops(session: Session) -> set[int]:
    """Shops that recorded cashback to send since the last call (asked after the drain commits)."""
    return session.info.pop(PENDING_SHOPS, set())


def _by_key(session: Session, shop_id: int, key: str) -> StoreCreditGrant | None:
    return session.execute(select(StoreCreditGrant).where(StoreCreditGrant.shop_id == shop_id,
                                                          StoreCreditGrant.key == key)).scalar_one_or_none()


def reverse_cashback(session: Session, record: OrderRecord, key: str, cancelled: bool,
                     now: datetime) -> StoreCreditGrant | None:
    """Record the debit a refund or cancellation owes of the order's cashback, for the job to send.

    The same cumulative proportions as points (program/reversal.py) on cents, so partial refunds
    never drift and the total never exceeds what the order granted; cashback Shopify refused
    (``failed``) was never paid and is never taken back. Leaves the commit to the caller.
    """
    grants = session.execute(select(StoreCreditGrant).where(StoreCreditGrant.shop_id == record.shop_id,
                                                            StoreCreditGrant.order_id == record.order_id)).scalars().all()
    if any(g.key == key for g in grants):
        return None
    granted = sum(to_cents(g.amount) for g in grants if g.kind == "cashback" and g.state != "failed")
    taken = sum(to_cents(g.amount) for g in grants if g.kind == "cashback_reversal")
    cents = cashback_reversal_cents(granted, taken, record.eligible_amount or Decimal("0"), record.refunded_amount,
                                    cancelled)
    if cents <= 0:
        return None
    member_id = next(g.member_id for g in grants if g.kind == "cashback")
    grant = StoreCreditGrant(shop_id=record.shop_id, member_id=member_id, key=key, kind="cashback_reversal",
                             order_id=record.order_id, amount=from_cents(cents),
                             currency=next(g.currency for g in grants if g.kind == "cashback"), state="pending",
                             attempts=0, created_at=now)
    session.add(grant)
    session.flush()
    session.info.setdefault(PENDING_SHOPS, set()).add(record.shop_id)
    return grant


def pending_shops(session: Session, now: datetime | None = None) -> list[int]:
    """Shops with cashback credits or debits waiting to be sent."""
    return list(session.execute(select(StoreCreditGrant.shop_id).where(*_due(now or utcnow())).distinct()).scalars())


def _due(now: datetime) -> tuple[Any, ...]:
    """Cashback grants a sender may claim: waiting, or claimed by a sender that died."""
    return (StoreCreditGrant.kind.in_(("cashback", "cashback_reversal")),
            or_(StoreCreditGrant.state == "pending",
                and_(StoreCreditGrant.state == "sending", StoreCreditGrant.attempted_at < now - CLAIM_TIMEOUT)))


def send_pending(session: Session, shop: Shop, client: ClientFactory, now: datetime | None = None) -> dict[str, int]:
    """Send the shop's waiting cashback credits and debits to Shopify, oldest first; returns counts by outcome.

    Each grant is claimed (``sending``) and committed before Shopify is called, so two senders
    never both call; one already tried is first looked for in the account's transactions. A
    refusal is recorded (``failed``) and never retried; an unknown outcome puts the grant back
    to ``pending`` and raises ShopifyUnavailable after committing, so RQ retries the job.
    Commits after each grant.
    """
    now = now or utcnow()
    outcome = {"sent": 0, "failed": 0, "waiting": 0}
    due = session.execute(select(StoreCreditGrant.id).where(StoreCreditGrant.shop_id == shop.id, *_due(now))
                          .order_by(StoreCreditGrant.id)).scalars().all()
    unknown: ShopifyUnavailable | None = None
    for grant_id in due:
        claimed = session.execute(update(StoreCreditGrant).where(
            StoreCreditGrant.id == grant_id, *_due(now)).values(
            state="sending", attempts=StoreCreditGrant.attempts + 1, attempted_at=now)).rowcount
        session.commit()
        if not claimed:
            continue
        grant = session.get_one(StoreCreditGrant, grant_id, populate_existing=True)
        state = _send(session, shop, grant, client, now)
        if isinstance(state, ShopifyUnavailable):
            unknown = state
            outcome["waiting"] += 1
        else:
            outcome[state] += 1
        session.commit()
    if unknown is not None:
        raise unknown
    return outcome


def _send(session: Session, shop: Shop, grant: StoreCreditGrant, client: ClientFactory,
          now: datetime) -> str | ShopifyUnavailable:
    """Send one claimed grant; returns "sent", "failed", "waiting" or the ShopifyUnavailable to retry on."""
    customer_id = session.get_one(Member, grant.member_id).customer_id
    if grant.kind == "cashback_reversal":
        credit = _by_key(session, shop.id, f"cashback:{grant.order_id}")
        if credit is None or credit.state == "failed":
            grant.state, grant.error = "failed", "the order's cashback was never paid, so nothing is taken back"
            return "failed"
        if credit.state != "sent":  # the debit waits for its credit
            grant.state = "pending"
            return "waiting"
    try:
        landed = _look(session, grant, customer_id, client) if grant.attempts > 1 else None
        if landed is None:
            if grant.kind == "cashback_reversal":
                landed = shopify_credit.debit(client(), customer_id, grant.amount, grant.currency)
            else:
                landed = shopify_credit.credit(client(), customer_id, grant.amount, grant.currency, grant.expires_at,
                                               program_settings(shop).store_credit_notify)
    except ShopifyUnavailable as exc:
        grant.state, grant.error = "pending", f"waiting for Shopify: {exc}"[:500]
        return exc
    except ShopifyError as exc:
        grant.state, grant.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
        log.warning("shop %s: store credit %s refused: %s", shop.domain, grant.key, exc)
        return "failed"
    _sent(grant, landed, now)
    return "sent"


def member_grants(session: Session, member_id: int) -> list[StoreCreditGrant]:
    """A member's store credit movements, newest first."""
    return list(session.execute(select(StoreCreditGrant).where(StoreCreditGrant.member_id == member_id)
                                .order_by(StoreCreditGrant.id.desc())).scalars())
