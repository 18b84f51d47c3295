"""Process-wide resources (database, Redis, queues), bound to an app by ``init_app``.

Nothing connects at import time; the engine and Redis client are created when an app is
configured, so tests and workers can build apps with their own settings.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, PoolProxiedConnection, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker


def _sqlite_engine(url: str) -> Engine:
    """SQLite with foreign keys, WAL and BEGIN IMMEDIATE so concurrent writers queue, not fail."""
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (SQLAlchemy docs recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Owns the engine and a thread-scoped session registry."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.autocommit_engine: Engine | None = None
        self.session: scoped_session[Session] | None = None

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        if url.startswith("sqlite"):
            self.engine, self.autocommit_engine = _sqlite_engine(url), None
        else:
            self.engine = create_engine(url, pool_recycle=300, pool_size=10, max_overflow=20)
            # Connections that stay in autocommit (no BEGIN/COMMIT round trips, nothing to reset on return)
            self.autocommit_engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                                                   pool_recycle=300, pool_size=2, max_overflow=8)
        self.session = scoped_session(sessionmaker(bind=self.engine, expire_on_commit=False))
        app.extensions["db"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            if self.session is not None:
                self.session.remove()

    @contextmanager
    def single_statement(self) -> Iterator[PoolProxiedConnection]:
        """A DBAPI connection for one self-contained write that is committed when the block ends.

        For the webhook receiver's hot path. On PostgreSQL the connection is in autocommit:
        one round trip instead of BEGIN, the statement and COMMIT; a connection that saw an
        error is discarded, not pooled. SQLite, which has one writer at a time, uses the
        thread's own session and commits it.
        """
        assert self.engine is not None and self.session is not None, "Database.init_app was not called"
        if self.autocommit_engine is not None:
            connection = self.autocommit_engine.raw_connection()
            try:
                yield connection
            except BaseException:
                connection.invalidate()
                raise
            finally:
                connection.close()
        else:
            session = self.session()
            yield session.connection().connection
            session.commit()

    def dispose(self) -> None:
        """Close every pooled connection (before a fork, or when a test is done with the database)."""
        for engine in (self.engine, self.autocommit_engine):
            if engine is not None:
                engine.dispose()

    def new_session(self) -> Session:
        """A session outside the thread registry, for code that manages its own lifetime."""
        assert self.session is not None, "Database.init_app was not called"
        return self.session.session_factory()


class Queues:
    """RQ queues on Redis, or none at all: then jobs run inline (the embedded default)."""

    def __init__(self) -> None:
        self.redis: Redis | None = None
        self.default: Queue | None = None

    def init_app(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        self.redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None
        self.default = Queue("loyalty", connection=self.redis) if self.redis is not None else None
        app.extensions["queues"] = self

    @property
    def inline(self) -> bool:
        return self.default is None


db = Database()
queues = Queues()
