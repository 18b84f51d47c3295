"""Portable SQL helpers for the two backends we support (PostgreSQL and SQLite)."""
from __future__ import annotations

from typing import Any

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
