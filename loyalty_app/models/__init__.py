"""SQLAlchemy models, one module per domain."""
from .base import Base, utcnow
from .members import LedgerEntry, Member
from .orders import OrderRecord, OrderRefund
from .program import Campaign, EarningRule, Reward, Tier
from .shops import Shop

__all__ = [
    "Base", "Campaign", "EarningRule", "LedgerEntry", "Member", "OrderRecord", "OrderRefund",
    "Reward", "Shop", "Tier", "utcnow",
]
