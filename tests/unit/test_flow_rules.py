"""Flow's pure rules: windows and which expiry reminder is due."""
from datetime import datetime, timedelta, timezone

from loyalty_app.program.flow import reminder_due, window_key, window_start

T = datetime(2026, 11, 25, 21, 3, 17, tzinfo=timezone.utc)


def test_windows_are_fixed_and_named_by_their_start():
    assert window_start(T, 300) == datetime(2026, 11, 25, 21, 0, tzinfo=timezone.utc)
    assert window_start(T + timedelta(minutes=1, seconds=42), 300) == window_start(T, 300)
    assert window_start(T + timedelta(minutes=2), 300) == datetime(2026, 11, 25, 21, 5, tzinfo=timezone.utc)
    assert window_key(window_start(T, 300)) == "2026-11-25T21:00:00Z"


def test_the_nearest_passed_reminder_is_due():
    expires = T + timedelta(days=40)
    days = (30, 7)
    assert reminder_due(expires, T, days) is None
    assert reminder_due(expires, T + timedelta(days=10), days) == 30
    assert reminder_due(expires, T + timedelta(days=32), days) == 30
    assert reminder_due(expires, T + timedelta(days=33), days) == 7
    assert reminder_due(expires, T + timedelta(days=39, hours=23), days) == 7
    assert reminder_due(expires, expires, days) is None
