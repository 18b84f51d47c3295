"""CSV exports of a shop's members and ledger: every row, streamed in batches, safe to open in a spreadsheet.

Each export is one SELECT read through ``yield_per`` (a server-side cursor on PostgreSQL), so the
file is one consistent snapshot while memory stays constant whatever the shop's size. Text cells
that a spreadsheet would run as a formula are neutralised (OWASP's CSV injection advice); numbers
are written as numbers. Redacted members carry no personal data: their profile was erased by
``customers/redact`` and their pseudonymous customer id (``-member.id``) is left out too.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import LedgerEntry, Member, Shop, Tier

BATCH = 1000
"""Rows fetched per round trip: large enough to be fast, small enough to keep memory flat."""
CHUNK = 64 * 1024
"""Characters per chunk written to the response: one network write per chunk, not per row."""
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

MEMBER_COLUMNS = ("customer_id", "email", "first_name", "last_name", "balance", "pending", "lifetime", "tier",
                  "excluded", "enrolled_at", "last_activity_at", "redacted")
LEDGER_COLUMNS = ("entry_id", "customer_id", "kind", "amount", "state", "available_at", "created_at", "source",
                  "idempotency_key", "note", "actor", "program_version")


def safe_text(value: str | None) -> str:
    """A text cell a spreadsheet shows as text: a leading ``= + - @`` (or tab, CR) gets a ``'`` before it."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _moment(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header, then the rows, as CSV (RFC 4180 quoting, CRLF) in chunks of about ``CHUNK`` characters.

    The header goes out at once, so the download starts before the first batch is read.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        writer.writerow(row)
    yield buffer.getvalue()


def member_rows(session: Session, shop: Shop, batch: int | None = None) -> Iterator[str]:
    """``members.csv``: every member of the shop, oldest first, in CSV chunks."""
    query = (select(Member.customer_id, Member.email, Member.first_name, Member.last_name, Member.balance,
                    Member.pending, Member.lifetime, Tier.name, Member.excluded, Member.created_at,
                    Member.last_activity_at, Member.redacted_at)
             .outerjoin(Tier, Tier.id == Member.tier_id)
             .where(Member.shop_id == shop.id).order_by(Member.id)
             .execution_options(yield_per=batch or BATCH))

    def rows() -> Iterator[Sequence[Any]]:
        for (customer_id, email, first, last, balance, pending, lifetime, tier, excluded, created_at, active,
             redacted_at) in session.execute(query):
            redacted = redacted_at is not None
            yield ("" if redacted else customer_id, "" if redacted else safe_text(email),
                   "" if redacted else safe_text(first), "" if redacted else safe_text(last),
                   balance, pending, lifetime, safe_text(tier), "true" if excluded else "false",
                   _moment(created_at), _moment(active), "true" if redacted else "false")

    return _csv_chunks(MEMBER_COLUMNS, rows())


def ledger_rows(session: Session, shop: Shop, batch: int | None = None) -> Iterator[str]:
    """``ledger.csv``: every ledger entry of the shop in the order it was posted, in CSV chunks.

    A redacted member's entries stay (totals must still add up) without the customer id or the
    free-text note, which a person may have written about them.
    """
    query = (select(LedgerEntry.id, Member.customer_id, Member.redacted_at, LedgerEntry.kind, LedgerEntry.amount,
                    LedgerEntry.state, LedgerEntry.available_at, LedgerEntry.created_at, LedgerEntry.source,
                    LedgerEntry.idempotency_key, LedgerEntry.note, LedgerEntry.actor, LedgerEntry.detail)
             .join(Member, Member.id == LedgerEntry.member_id)
             .where(LedgerEntry.shop_id == shop.id).order_by(LedgerEntry.id)
             .execution_options(yield_per=batch or BATCH))

    def rows() -> Iterator[Sequence[Any]]:
        for (entry_id, customer_id, redacted_at, kind, amount, state, available_at, created_at, source, key, note,
             actor, detail) in session.execute(query):
            redacted = redacted_at is not None
            version = detail.get("program_version") if isinstance(detail, dict) else None
            yield (entry_id, "" if redacted else customer_id, kind, amount, state, _moment(available_at),
                   _moment(created_at), safe_text(source), safe_text(key), "" if redacted else safe_text(note),
                   safe_text(actor), "" if version is None else version)

    return _csv_chunks(LEDGER_COLUMNS, rows())
