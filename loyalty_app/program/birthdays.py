"""Birthdays as month and day: reading what a shopper or merchant types, and the day they are celebrated."""
from __future__ import annotations

import calendar
import re
from datetime import date

UNKNOWN_YEAR = 2000
"""The year stored with a birthday given without one: a leap year, so 29 February can be kept."""

BIRTHDAY_PATTERN = r"^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
"""What the APIs document (the day itself is then checked: ``02-30`` matches and is refused)."""
_MONTH_DAY = re.compile(r"^(?:(\d{4})-)?(\d{2})-(\d{2})$")


def parse_birthday(text: object) -> date:
    """``MM-DD`` (or ``YYYY-MM-DD``) as a date; ValueError otherwise.

    A year, when given, is ignored: the program celebrates the day, and asking a shopper's age
    is data we do not need. ``02-29`` is accepted (a leap-day birthday); ``02-30`` is not.
    """
    match = _MONTH_DAY.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("a birthday is written MM-DD")
    month, day = int(match.group(2)), int(match.group(3))
    return date(UNKNOWN_YEAR, month, day)  # raises ValueError for 13-01, 02-30, 04-31, …


def month_day(birthday: date | None) -> str | None:
    """How the widget and the API show a birthday: ``MM-DD``."""
    return None if birthday is None else birthday.strftime("%m-%d")


def celebrated_days(local_day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated on ``local_day``, the shop's calendar date.

    29 February birthdays are celebrated on 28 February in years without a 29th.
    """
    days = [(local_day.month, local_day.day)]
    if (local_day.month, local_day.day) == (2, 28) and not calendar.isleap(local_day.year):
        days.append((2, 29))
    return days
