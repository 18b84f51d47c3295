"""Expiry of points after a stretch without activity."""
from __future__ import annotations

from datetime import datetime


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months, clamped to the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def expiry_due(last_activity: datetime | None, months: int | None, balance: int, now: datetime) -> bool:
    """Whether a member's available points expire now."""
    if not months or balance <= 0 or last_activity is None:
        return False
    return add_months(last_activity, months) <= now
