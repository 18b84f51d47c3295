"""SQLAlchemy models, one module per domain."""
from .admin import ApiKey, LedgerImport, ProgramChange, WebVital
from .base import Base, utcnow
from .flow import FlowTrigger
from .inbox import DataRequest, WebhookEvent
from .members import LedgerEntry, Member
from .orders import OrderLine, OrderRecord, OrderRefund
from .program import Campaign, EarningRule, Reward, Tier
from .redemptions import Redemption
from .referrals import FriendCode, OrderFingerprint, Referral, ReferralCode
from .shops import Shop
from .store_credit import StoreCreditGrant

__all__ = [
    "ApiKey", "Base", "Campaign", "DataRequest", "EarningRule", "FlowTrigger", "FriendCode", "LedgerEntry",
    "LedgerImport", "Member", "OrderFingerprint", "OrderLine", "OrderRecord", "OrderRefund", "ProgramChange",
    "Redemption", "Referral", "ReferralCode", "Reward", "Shop", "StoreCreditGrant", "Tier", "WebVital", "WebhookEvent",
    "utcnow",
]
