"""Action limits and expiry dates."""
from datetime import datetime, timedelta, timezone

import pytest

from loyalty_app.program.actions import ActionLimit, action_allowed, action_bucket, signup_earned
from loyalty_app.program.expiry import add_months, expiry_due

NOW = datetime(2026, 11, 24, tzinfo=timezone.utc)


def test_once():
    assert action_allowed(ActionLimit("once"), [], NOW)
    assert not action_allowed(ActionLimit("once"), [NOW - timedelta(days=900)], NOW)


def test_once_a_calendar_year():
    limit = ActionLimit("per_year")
    assert action_allowed(limit, [datetime(2025, 12, 31, tzinfo=timezone.utc)], NOW)
    assert not action_allowed(limit, [datetime(2026, 1, 2, tzinfo=timezone.utc)], NOW)


def test_n_per_period():
    limit = ActionLimit("per_period", count=2, period_days=30)
    recent = [NOW - timedelta(days=1), NOW - timedelta(days=29)]
    assert not action_allowed(limit, recent, NOW)
    assert action_allowed(limit, [NOW - timedelta(days=1), NOW - timedelta(days=31)], NOW)


def test_unknown_limit():
    with pytest.raises(ValueError):
        action_allowed(ActionLimit("twice"), [], NOW)


def test_buckets():
    assert action_bucket(ActionLimit("once"), NOW) == "once"
    assert action_bucket(ActionLimit("per_year"), NOW) == "2026"
    assert action_bucket(ActionLimit("per_period"), NOW) is None


def test_add_months_clamps_to_month_end():
    assert add_months(datetime(2026, 1, 31, tzinfo=timezone.utc), 1) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 3, 15, tzinfo=timezone.utc), -12) == datetime(2025, 3, 15, tzinfo=timezone.utc)


def test_expiry_due():
    last = datetime(2026, 5, 24, tzinfo=timezone.utc)
    assert expiry_due(last, 6, 10, NOW)
    assert not expiry_due(last, 7, 10, NOW)
    assert not expiry_due(last, 6, 0, NOW)
    assert not expiry_due(last, None, 10, NOW)


INSTALLED = datetime(2026, 11, 1, tzinfo=timezone.utc)
AFTER, BEFORE = INSTALLED + timedelta(days=3), INSTALLED - timedelta(days=3)


@pytest.mark.parametrize(("topic", "state", "created_at", "earned"), [
    ("customers/create", "enabled", AFTER, True),      # classic sign-up form: created with an account
    ("customers/create", "disabled", AFTER, False),    # guest checkout, import, admin: a profile, no account
    ("customers/create", "invited", AFTER, False),     # invited, not yet accepted
    ("customers/enable", "enabled", AFTER, True),      # invite accepted, or first sign-in
    ("customers/update", "enabled", AFTER, False),     # an update is never an account being created
    ("customers/create", "enabled", BEFORE, False),    # the shop's customer before the app came
    ("customers/enable", "enabled", BEFORE, False),
    ("customers/enable", "enabled", None, False),      # creation time unknown: the safe side
    ("customers/create", "enabled", INSTALLED, True),
])
def test_signup_earned(topic, state, created_at, earned):
    assert signup_earned(topic, state, created_at, INSTALLED) is earned
