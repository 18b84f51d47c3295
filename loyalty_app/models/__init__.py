"""SQLAlchemy models, one module per domain."""
from .admin import ApiKey, LedgerImport, ProgramChange, WebVital
from .base import Base, utcnow
from .inbox import DataRequest, WebhookEvent
from .members import LedgerEntry, Member
from .orders import OrderLine, OrderRecord, OrderRefund
from .program import Campaign, EarningRule, Reward, Tier
from .redemptions import Redemption
from .referrals import FriendCode, OrderFingerprint, Referral, ReferralCode
from .shops import Shop

__all__ = [
    "ApiKey", "Base", "Campaign", "DataRequest", "EarningRule", "FriendCode", "LedgerEntry", "LedgerImport", "Member", "OrderLine",
    "OrderFingerprint", "OrderRecord", "OrderRefund", "Referral", "ReferralCode",
    "ProgramChange", "Redemption", "Reward", "Shop", "Tier", "WebVital", "WebhookEvent", "utcnow",
]
