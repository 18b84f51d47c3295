"""SQLAlchemy models, one module per domain."""
from .base import Base, utcnow
from .inbox import DataRequest, WebhookEvent
from .members import LedgerEntry, Member
from .orders import OrderLine, OrderRecord, OrderRefund
from .program import Campaign, EarningRule, Reward, Tier
from .redemptions import Redemption
from .shops import Shop

__all__ = [
    "Base", "Campaign", "DataRequest", "EarningRule", "LedgerEntry", "Member", "OrderLine", "OrderRecord", "OrderRefund",
    "Redemption", "Reward", "Shop", "Tier", "WebhookEvent", "utcnow",
]
