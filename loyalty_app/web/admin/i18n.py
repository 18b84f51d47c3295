"""The admin's strings in en, nb, sv and da: flat keys (``area.key``), one JSON catalog per area and language.

Shopify passes the merchant's admin language as ``?locale=`` (``nb``, ``nb-NO``, ``sv-SE``, …);
anything we do not ship falls back to English. Numbers and money are formatted the way each
language writes them.
"""
from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "nb", "sv", "da")
LOCALES = Path(__file__).resolve().parent / "locales"
_ALIASES = {"no": "nb", "nn": "nb"}
# (thousands separator, decimal mark) as each language writes numbers.
_NUMBER_MARKS = {"en": (",", "."), "nb": ("\u00a0", ","), "sv": ("\u00a0", ","), "da": (".", ",")}


def pick_language(locale: str | None) -> str:
    """The shipped language for a Shopify locale such as ``nb-NO``; English otherwise."""
    base = (locale or "").replace("_", "-").split("-")[0].lower()
    base = _ALIASES.get(base, base)
    return base if base in LANGUAGES else "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every string of one language, keyed ``area.key`` from ``locales/<lang>/<area>.json``."""
    strings: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.json")):
        for key, value in json.loads(path.read_text(encoding="utf-8")).items():
            strings[f"{path.stem}.{key}"] = value
    return strings


def translate(lang: str, key: str, **values: Any) -> str:
    """The string for ``key`` in ``lang`` (English if that language lacks it), with ``{name}`` filled in.

    A key English lacks raises KeyError: a missing string is a bug the tests must see.
    """
    text = catalog(lang).get(key) or catalog("en")[key]
    return text.format(**values) if values else text


def format_number(value: int | float | Decimal, lang: str, places: int = 0) -> str:
    """``1234567.5`` as ``1,234,567.50`` (en), ``1 234 567,50`` (nb, sv) or ``1.234.567,50`` (da)."""
    thousands, decimal_mark = _NUMBER_MARKS.get(lang, _NUMBER_MARKS["en"])
    text = f"{Decimal(str(value)):,.{places}f}"
    return text.replace(",", "\0").replace(".", decimal_mark).replace("\0", thousands)


def format_money(value: int | float | Decimal, currency: str, lang: str) -> str:
    """An amount with its ISO currency code, written the language's way: ``1,234.50 USD``, ``1 234,50 NOK``."""
    number = format_number(value, lang, 2)
    return f"{number} {currency}"
