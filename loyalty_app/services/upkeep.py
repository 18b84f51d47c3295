"""Daily upkeep of a shop's ledger: maturing, expiry and tier re-evaluation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from .. import ledger
from ..models import Shop, utcnow
from .expiry import expire_inactive
from .members import reevaluate_tiers


@dataclass(frozen=True)
class UpkeepResult:
    matured: int
    expired: int
    tier_changes: int


def run_daily(session: Session, shop: Shop, now: datetime | None = None) -> UpkeepResult:
    """Mature pending points first, so they count before expiry and tiers are decided."""
    now = now or utcnow()
    return UpkeepResult(ledger.mature(session, shop.id, now), expire_inactive(session, shop, now),
                        reevaluate_tiers(session, shop, now))
