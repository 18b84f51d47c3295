"""Opening-balance imports: preview a file row by row, apply it as one batch of ledger entries, undo it whole.

Formats, recognised from the file's first line (comma- or semicolon-separated, UTF-8, BOM allowed):

- ``generic``, ours: a header with ``points`` and ``customer_id`` and/or ``email``, optionally ``note``
  (``customer_id,email,points,note``). ``customer_id`` is the Shopify customer id.
- ``smile``: exactly ``email,points``, the points CSV Smile.io documents for bulk balance changes and
  for moving to it from another program ("Your file must include only the following two column
  headers: email, points", https://help.smile.io/en/articles/4036233-import-points-with-a-csv-file).
  Smile's own customer *export* columns are not in its public documentation, so we do not guess them.
- ``loyaltylion``: LoyaltyLion's customer export, which its API documents as JSON Lines, one customer
  per line in the shape of List Customers (``merchant_id`` = the platform's customer id, ``email``,
  ``points_approved``, ``points_pending``, …; https://developers.loyaltylion.com/api-reference/v2/resources/customers/exports/overview
  and https://developers.loyaltylion.com/api/resources/customers/). ``points_approved`` is the balance
  imported; pending points are still inside LoyaltyLion's approval period and are not carried over.
  Its dashboard CSV export lets the merchant rename every column, so it has no fixed header to detect.

``mode`` says what ``points`` means: ``set`` (the default: the member's available balance becomes
``points``, the entry is the difference) or ``add`` (``points`` are added). Member matching: by
customer id; by email (case-insensitive) only when exactly one member has it. A customer id that is
not a member yet is enrolled by the import; an email alone never enrols anyone (we cannot know
their Shopify id). Imported points are ``adjust`` entries: available at once, and they do not count
towards tiers, which measure points earned.

An applied import is all or nothing: any row error and nothing is written. Undo reverses every entry
of the import exactly once, in one transaction, and refuses (naming the members) when a reversal
would take a member below zero because they have spent the points since: the ledger stays exact and
the merchant decides. Members an import enrolled stay members (with the balance the undo leaves).

Services flush; the caller commits (or rolls back on ``ImportRejected``).
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import ledger
from ..models import LedgerEntry, LedgerImport, Member, Shop, utcnow
from .members import enrol

MAX_BYTES = 8 * 1024 * 1024
"""The largest file taken (413 above, before it is read): room for ``MAX_ROWS`` customers of LoyaltyLion's JSON
Lines export, about a kilobyte each; a CSV of that many rows is far smaller."""
MAX_ROWS = 5_000
"""The most data rows in one import: applied in one request and one transaction (two statements a row through
``ledger.post``), so a request stays well within a proxy's timeout."""
MAX_POINTS = 2**31 - 1
"""Balances are 32-bit integers in the database."""
MAX_ID = 2**63 - 1
NOTE_LENGTH = 500
DEFAULT_NOTE = "Imported balance"
MODES = ("set", "add")
GENERIC_COLUMNS = ("customer_id", "email", "points", "note")
LION_FIELDS = ("merchant_id", "email", "points_approved")
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")
_CHUNK = 1000


class UnreadableFile(ValueError):
    """A file we cannot read as any format (wrong header, not UTF-8, too many rows): nothing was done."""


class ImportRejected(Exception):
    """An import that was not applied because rows have errors; ``preview`` says which and why."""

    def __init__(self, preview: Preview) -> None:
        super().__init__(f"{preview.error_count} rows have errors")
        self.preview = preview


class AlreadyUndone(Exception):
    """The import was undone before."""


class UndoBlocked(Exception):
    """Undoing would take these members below zero: ``shortfalls`` lists customer id, balance and points to take."""

    def __init__(self, shortfalls: list[dict[str, int | None]]) -> None:
        super().__init__(f"{len(shortfalls)} members have spent imported points")
        self.shortfalls = shortfalls


@dataclass
class Row:
    """One data row of the file as read, then as planned against the shop's members."""

    line: int
    customer_id: int | None = None
    email: str | None = None
    points: int | None = None
    note: str | None = None
    errors: list[str] = field(default_factory=list)
    member: Member | None = None
    new_member: bool = False
    balance: int | None = None
    change: int | None = None
    new_balance: int | None = None


@dataclass
class Preview:
    """What an import does (or would do), row by row."""

    format: str
    mode: str
    rows: list[Row]
    dry_run: bool = True
    ledger_import: LedgerImport | None = None

    @property
    def error_count(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    @property
    def points(self) -> int:
        return sum(row.change or 0 for row in self.rows)

    @property
    def row_count(self) -> int:
        return len(self.rows)


# Reading the file: pure functions over bytes.

def read_file(data: bytes) -> tuple[str, list[Row]]:
    """(format, rows) of an uploaded file; UnreadableFile when it is no format we know."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("the file is not UTF-8 text") from exc
    if not text.strip():
        raise UnreadableFile("the file is empty")
    if text.lstrip().startswith("{"):
        return "loyaltylion", _limit(_read_json_lines(text))
    return _read_csv(text)


def _limit(rows: list[Row]) -> list[Row]:
    if not rows:
        raise UnreadableFile("the file has a header but no rows")
    if len(rows) > MAX_ROWS:
        raise UnreadableFile(f"the file has {len(rows)} rows; split it into files of at most {MAX_ROWS}")
    return rows


def _read_csv(text: str) -> tuple[str, list[Row]]:
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
        columns = set(header)
        if header == ["email", "points"]:
            kind = "smile"
        elif (columns <= set(GENERIC_COLUMNS) and "points" in columns and columns & {"customer_id", "email"}
              and len(columns) == len(header)):
            kind = "generic"
        else:
            raise UnreadableFile(f"unrecognised header {','.join(header)!r}: expected customer_id,email,points,note "
                               "(customer_id or email may be left out), Smile.io's email,points, or LoyaltyLion's "
                               "JSON Lines customer export")
        rows: list[Row] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise UnreadableFile(f"the file has more than {MAX_ROWS} rows; split it into smaller files")
            rows.append(_csv_row(reader.line_num, header, cells))
    except csv.Error as exc:
        raise UnreadableFile(f"line {reader.line_num}: {exc}") from exc
    return kind, _limit(rows)


def _csv_row(line: int, header: Sequence[str], cells: Sequence[str]) -> Row:
    row = Row(line)
    if len(cells) != len(header):
        row.errors.append(f"{len(cells)} cells where the header has {len(header)}")
        return row
    values = {name: cell.strip() for name, cell in zip(header, cells)}
    _set_customer_id(row, values.get("customer_id", ""))
    _set_email(row, values.get("email", ""))
    _set_points(row, values.get("points", ""))
    note = values.get("note", "")
    if len(note) > NOTE_LENGTH:
        row.errors.append(f"note: at most {NOTE_LENGTH} characters")
    row.note = note or None
    if row.customer_id is None and row.email is None and not row.errors:
        row.errors.append("customer_id or email is required")
    return row


def _set_customer_id(row: Row, text: str) -> None:
    if not text:
        return
    if not text.isdigit() or not 0 < int(text) <= MAX_ID:
        row.errors.append(f"customer_id: {text!r} is not a Shopify customer id")
        return
    row.customer_id = int(text)


def _set_email(row: Row, text: str) -> None:
    if not text:
        return
    if len(text) > 320 or "@" not in text:
        row.errors.append(f"email: {text[:60]!r} is not an email address")
        return
    row.email = text


def _set_points(row: Row, text: str) -> None:
    if not _INTEGER.fullmatch(text):
        row.errors.append(f"points: {text[:30]!r} is not a whole number" if text else "points: required")
        return
    points = int(text)
    if abs(points) > MAX_POINTS:
        row.errors.append(f"points: at most {MAX_POINTS}")
        return
    row.points = points


def _read_json_lines(text: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(rows) >= MAX_ROWS:
            raise UnreadableFile(f"the file has more than {MAX_ROWS} rows; split it into smaller files")
        row = Row(number)
        rows.append(row)
        try:
            customer = json.loads(line)
        except ValueError:
            row.errors.append("not a JSON object")
            continue
        if not isinstance(customer, dict) or not set(LION_FIELDS) & set(customer):
            raise UnreadableFile(f"line {number} is not a LoyaltyLion customer (no merchant_id, email or "
                               "points_approved)")
        merchant_id, email, points = (customer.get(name) for name in LION_FIELDS)
        _set_customer_id(row, str(merchant_id) if isinstance(merchant_id, (int, str)) and not isinstance(
            merchant_id, bool) else "")
        _set_email(row, email.strip() if isinstance(email, str) else "")
        if isinstance(points, int) and not isinstance(points, bool):
            _set_points(row, str(points))
        else:
            row.errors.append("points_approved: required, a whole number")
        if row.customer_id is None and row.email is None and not row.errors:
            row.errors.append("merchant_id or email is required")
    return rows


# Planning against the shop's members.

def _in_chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _members_by_customer(session: Session, shop: Shop, ids: set[int], lock: bool) -> dict[int, Member]:
    found: dict[int, Member] = {}
    for chunk in _in_chunks(sorted(ids)):
        query = select(Member).where(Member.shop_id == shop.id, Member.customer_id.in_(chunk)).order_by(Member.id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        found.update((m.customer_id, m) for m in session.execute(query).scalars())
    return found


def _members_by_email(session: Session, shop: Shop, emails: set[str], lock: bool) -> dict[str, list[Member]]:
    found: dict[str, list[Member]] = defaultdict(list)
    for chunk in _in_chunks(sorted(emails)):
        query = (select(Member).where(Member.shop_id == shop.id, func.lower(Member.email).in_(chunk))
                 .order_by(Member.id))
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        for member in session.execute(query).scalars():
            found[(member.email or "").lower()].append(member)
    return found


def plan(session: Session, shop: Shop, rows: list[Row], mode: str, lock: bool = False) -> None:
    """Match each row to its member and work out balance, change and new balance, or the row's errors.

    ``lock`` holds each matched member's row lock (FOR UPDATE on PostgreSQL) until the transaction
    ends, so the balances planned are the ones the entries will move.
    """
    by_id = _members_by_customer(session, shop, {r.customer_id for r in rows if r.customer_id is not None}, lock)
    by_email = _members_by_email(session, shop, {r.email.lower() for r in rows
                                                 if r.customer_id is None and r.email is not None}, lock)
    seen: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for row in rows:
        if row.errors:
            continue
        if row.customer_id is not None:
            row.member = by_id.get(row.customer_id)
            row.new_member = row.member is None
        else:
            assert row.email is not None
            matches = by_email.get(row.email.lower(), [])
            if len(matches) != 1:
                row.errors.append("no member has this email; give their customer_id" if not matches else
                                  f"{len(matches)} members have this email; give their customer_id")
                continue
            row.member = matches[0]
            row.customer_id = row.member.customer_id
        seen[("member", row.member.id) if row.member else ("customer", row.customer_id or 0)].append(row)
        _work_out(row, mode)
    for same in seen.values():
        if len(same) > 1:
            lines = ", ".join(str(r.line) for r in same)
            for row in same:
                row.errors.append(f"the same member is on lines {lines}")


def _work_out(row: Row, mode: str) -> None:
    assert row.points is not None
    row.balance = row.member.balance if row.member is not None else 0
    row.change = row.points - row.balance if mode == "set" else row.points
    row.new_balance = row.balance + row.change
    if row.new_balance < 0:
        row.errors.append(f"the balance would be {row.new_balance}; it cannot go below zero")
    elif row.new_balance > MAX_POINTS:
        row.errors.append(f"the balance would be above {MAX_POINTS}")


def preview(session: Session, shop: Shop, data: bytes, mode: str) -> Preview:
    """What importing ``data`` would do, changing nothing. UnreadableFile for an unreadable file."""
    kind, rows = read_file(data)
    plan(session, shop, rows, mode)
    return Preview(kind, mode, rows)


def apply(session: Session, shop: Shop, data: bytes, mode: str, actor: str,
          filename: str | None = None, now: datetime | None = None) -> Preview:
    """Apply ``data`` as one LedgerImport and one ledger entry per row that changes a balance.

    Raises ImportRejected (the caller rolls back: customers enrolled here are undone with it) when
    any row has an error; UnreadableFile for an unreadable file. Flushes; the caller commits.
    """
    now = now or utcnow()
    kind, rows = read_file(data)
    if any(row.errors for row in rows):
        plan(session, shop, rows, mode)
        raise ImportRejected(Preview(kind, mode, rows, dry_run=False))
    enrolled = set()
    known = _members_by_customer(session, shop, {r.customer_id for r in rows if r.customer_id is not None}, False)
    for customer_id in sorted({r.customer_id for r in rows if r.customer_id is not None} - set(known)):
        email = next((r.email for r in rows if r.customer_id == customer_id), None)
        _, created = enrol(session, shop, customer_id, email=email)
        if created:
            enrolled.add(customer_id)
    plan(session, shop, rows, mode, lock=True)
    result = Preview(kind, mode, rows, dry_run=False)
    if result.error_count:
        raise ImportRejected(result)
    for row in rows:
        row.new_member = row.customer_id in enrolled
    record = LedgerImport(shop_id=shop.id, actor=actor, filename=filename, format=kind, row_count=len(rows),
                          points=result.points, created_at=now)
    session.add(record)
    session.flush()
    for ordinal, row in enumerate(rows, start=1):
        assert row.member is not None and row.change is not None
        if row.change == 0:
            continue
        ledger.post(session, row.member.id, amount=row.change, kind="adjust", key=_entry_key(record.id, ordinal),
                    source=f"import:{record.id}", note=row.note or DEFAULT_NOTE, actor=actor, now=now,
                    detail={"import_id": record.id, "line": row.line, "mode": mode, "before": row.balance,
                            "after": row.new_balance, "program_version": shop.program_version})
    session.flush()
    result.ledger_import = record
    return result


def _entry_key(import_id: int, ordinal: int) -> str:
    """The idempotency key of an import's entry for its ``ordinal``-th row (1-based): found again by key, exactly."""
    return f"import:{import_id}:{ordinal}"


# Reading and undoing applied imports.

def list_imports(session: Session, shop: Shop) -> Sequence[LedgerImport]:
    """The shop's imports, newest first."""
    return session.execute(select(LedgerImport).where(LedgerImport.shop_id == shop.id)
                           .order_by(LedgerImport.id.desc())).scalars().all()


def import_entries(session: Session, record: LedgerImport) -> list[tuple[LedgerEntry, Member]]:
    """The ledger entries an import posted, with their members, in file order (found by their keys)."""
    keys = [_entry_key(record.id, ordinal) for ordinal in range(1, record.row_count + 1)]
    found: list[tuple[LedgerEntry, Member]] = []
    for chunk in _in_chunks(keys):
        found.extend(session.execute(
            select(LedgerEntry, Member).join(Member, Member.id == LedgerEntry.member_id)
            .where(LedgerEntry.shop_id == record.shop_id, LedgerEntry.idempotency_key.in_(chunk))).all())
    return sorted(found, key=lambda pair: pair[0].id)


def undo(session: Session, shop: Shop, record: LedgerImport, actor: str, now: datetime | None = None) -> LedgerImport:
    """Reverse every entry of the import once, in this transaction; flushes, the caller commits.

    AlreadyUndone if it was; UndoBlocked (nothing posted) when a member no longer has the points a
    reversal would take back.
    """
    now = now or utcnow()
    locked = session.execute(select(LedgerImport).where(LedgerImport.id == record.id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one()
    if locked.undone_at is not None:
        raise AlreadyUndone()
    entries = import_entries(session, locked)
    members = {m.id: ledger.lock_member(session, m.id) for m in sorted({m for _, m in entries}, key=lambda m: m.id)}
    shortfalls = [{"customer_id": None if members[e.member_id].redacted_at else members[e.member_id].customer_id,
                   "balance": members[e.member_id].balance, "points": e.amount}
                  for e, _ in entries if e.amount > 0 and members[e.member_id].balance < e.amount]
    if shortfalls:
        raise UndoBlocked(shortfalls)
    for entry, _ in entries:
        ledger.post(session, entry.member_id, amount=-entry.amount, kind="adjust",
                    key=f"import-undo:{locked.id}:{entry.id}", source=f"import-undo:{locked.id}",
                    note=f"Undo of import {locked.id}", actor=actor, now=now,
                    detail={"import_id": locked.id, "reverses": entry.id, "program_version": shop.program_version})
    locked.undone_at = now
    locked.undone_by = actor
    session.flush()
    return locked
