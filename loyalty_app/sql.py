"""Portable SQL helpers for the two backends we support (PostgreSQL and SQLite)."""
from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT construct of the session's dialect, which has ``on_conflict_do_nothing``."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def insert_ignoring_conflict(session: Session, model: type, values: dict[str, Any], on: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call inserted the row.

    Two workers creating the same member or order at once must not fail each other.
    """
    statement = dialect_insert(session, model).values(**values).on_conflict_do_nothing(index_elements=on)
    # RETURNING, not rowcount: an ORM-enabled insert reports rowcount -1 on psycopg.
    return session.execute(statement.returning(model.__table__.c.id)).first() is not None


@cache
def _upsert_statement(dialect: str, model: type, on: tuple[str, ...], updated: tuple[str, ...]) -> Any:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
    changes = {column: statement.excluded[column] for column in updated or on[-1:]}
    return statement.on_conflict_do_update(index_elements=list(on), set_=changes).returning(model)


def upsert_locked(session: Session, model: type, values: dict[str, Any], on: list[str],
                  updated: tuple[str, ...] = ()) -> tuple[Any, bool]:
    """Insert the row or, if it exists, set its ``updated`` columns from ``values``; returns (row, inserted).

    One round trip: INSERT … ON CONFLICT DO UPDATE … RETURNING, built once per shape. On PostgreSQL
    the row stays locked until the transaction ends, like SELECT … FOR UPDATE. ``values`` must carry
    ``created_at``: the row was inserted by this call when it comes back with that very timestamp.
    """
    statement = _upsert_statement(session.get_bind().dialect.name, model, tuple(on), updated)
    row = session.scalars(statement, values, execution_options={"populate_existing": True}).one()
    return row, row.created_at == values["created_at"]


def transaction_cache(session: Session) -> dict[Any, Any]:
    """A dict that lives as long as the session's current transaction (cleared on commit and rollback).

    For what a batch reads again and again but cannot change under it: tiers, campaigns.
    """
    return session.info.setdefault(TRANSACTION_CACHE, {})


TRANSACTION_CACHE = "loyalty.transaction_cache"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_transaction_cache(session: Session) -> None:
    session.info.pop(TRANSACTION_CACHE, None)
