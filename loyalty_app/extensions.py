"""The app's resources (database, Redis, queues), created by ``init_app`` and kept in ``app.extensions``.

Nothing connects at import time, and nothing is held at module level: ``db`` and ``queues`` are
stateless accessors that look up the app in context, so tests and workers can build several
apps with their own settings in one process and each keeps its own engine and Redis client.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, PoolProxiedConnection, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, scoped_session, sessionmaker


def _sqlite_engine(url: str) -> Engine:
    """SQLite with foreign keys, WAL and BEGIN IMMEDIATE so concurrent writers queue, not fail."""
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

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


class DatabaseState:
    """One app's engine(s) and thread-scoped session registry, kept in ``app.extensions["db"]``."""

    def __init__(self, url: str) -> None:
        self.autocommit_engine: Engine | None
        if url.startswith("sqlite"):
            self.engine, self.autocommit_engine = _sqlite_engine(url), None
        else:
            # hide_parameters: a database error's message (logged, kept on a failed event) never carries
            # the row's values, which may be a shopper's email or an access token.
            self.engine = create_engine(url, pool_recycle=300, pool_size=10, max_overflow=20, hide_parameters=True)
            # Connections that stay in autocommit (no BEGIN/COMMIT round trips, nothing to reset on return)
            self.autocommit_engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                                                   pool_recycle=300, pool_size=2, max_overflow=8, hide_parameters=True)
        self.session: scoped_session[Session] = scoped_session(sessionmaker(bind=self.engine, expire_on_commit=False))

    @contextmanager
    def single_statement(self) -> Iterator[PoolProxiedConnection]:
        """A DBAPI connection for one self-contained write that is committed when the block ends.

        For the webhook receiver's hot path. On PostgreSQL the connection is in autocommit:
        one round trip instead of BEGIN, the statement and COMMIT; a connection that saw an
        error is discarded, not pooled. SQLite, which has one writer at a time, uses the
        thread's own session and commits it.

        A connection the server has ended (a restart, ``pg_terminate_backend``) is only found
        dead when used, and the rest of the pool is likely dead too: the pool is then emptied and
        ``DisconnectionError`` raised, so the caller may write once more on a new connection.
        """
        if self.autocommit_engine is not None:
            connection = self.autocommit_engine.raw_connection()
            try:
                yield connection
            except BaseException as exc:
                lost = isinstance(exc, Exception) and self.autocommit_engine.dialect.is_disconnect(
                    exc, connection.dbapi_connection, None)
                connection.invalidate()
                if lost:
                    self.autocommit_engine.dispose()  # connections checked out now are left to their threads
                    raise DisconnectionError(f"the database ended the connection: {type(exc).__name__}") from exc
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
        return self.session.session_factory()


class Database:
    """The current app's database (Flask-SQLAlchemy style): ``db.session()``, ``db.engine``, ``db.new_session()``.

    ``init_app`` builds the app's own engine and keeps it in ``app.extensions["db"]``; every
    attribute here looks up the app in context, so two apps in one process never share one.
    """

    def init_app(self, app: Flask) -> None:
        state = DatabaseState(app.config["DATABASE_URL"])
        app.extensions["db"] = state

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            state.session.remove()

    @staticmethod
    def state() -> DatabaseState:
        """The database of the app in context."""
        return current_app.extensions["db"]  # type: ignore[no-any-return]

    @property
    def engine(self) -> Engine:
        return self.state().engine

    @property
    def session(self) -> scoped_session[Session]:
        return self.state().session

    def single_statement(self) -> AbstractContextManager[PoolProxiedConnection]:
        """See ``DatabaseState.single_statement``."""
        return self.state().single_statement()

    def new_session(self) -> Session:
        """A session outside the thread registry, for code that manages its own lifetime."""
        return self.state().new_session()

    def dispose(self) -> None:
        """Close every pooled connection of the app in context."""
        self.state().dispose()


WEBHOOK_QUEUE = "loyalty"
"""Webhook drains and the sweeper: short jobs that must never wait behind a slow Shopify."""
JOB_QUEUE = "loyalty-jobs"
"""Jobs that call Shopify or sweep whole shops (standings, reconciliation, codes, upkeep): their own workers."""


class QueueState:
    """One app's Redis connection and RQ queues, or none: then jobs run inline (the embedded default).

    Two queues, each with its own workers in the Procfile: ``default`` (webhooks first) and
    ``jobs`` (anything that waits on Shopify or walks a whole shop), so a slow Admin API never
    delays crediting an order.

    Requests that must answer at once get their own connection (``request_redis``, with
    ``request_queue`` and ``request_jobs`` on it) with timeouts of a few milliseconds: a hung Redis
    then costs a request that long, never seconds. Jobs and commands use the patient one.
    """

    def __init__(self, url: str | None, request_timeout: float = 0.05) -> None:
        self.redis: Redis | None = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None
        self.default: Queue | None = Queue(WEBHOOK_QUEUE, connection=self.redis) if self.redis is not None else None
        self.jobs: Queue | None = Queue(JOB_QUEUE, connection=self.redis) if self.redis is not None else None
        self.request_redis: Redis | None = Redis.from_url(
            url, socket_timeout=request_timeout, socket_connect_timeout=request_timeout) if url else None
        self.request_queue: Queue | None = (Queue(WEBHOOK_QUEUE, connection=self.request_redis)
                                            if self.request_redis is not None else None)
        self.request_jobs: Queue | None = (Queue(JOB_QUEUE, connection=self.request_redis)
                                           if self.request_redis is not None else None)

    @property
    def inline(self) -> bool:
        return self.default is None


class Queues:
    """The current app's queues: ``queues.redis``, ``queues.default``, ``queues.jobs``, ``queues.inline``."""

    def init_app(self, app: Flask) -> None:
        app.extensions["queues"] = QueueState(app.config.get("REDIS_URL"), app.config.get("REDIS_REQUEST_TIMEOUT", 0.05))

    @staticmethod
    def state() -> QueueState:
        """The queues of the app in context."""
        return current_app.extensions["queues"]  # type: ignore[no-any-return]

    @property
    def redis(self) -> Redis | None:
        return self.state().redis

    @property
    def default(self) -> Queue | None:
        return self.state().default

    @property
    def jobs(self) -> Queue | None:
        return self.state().jobs

    @property
    def inline(self) -> bool:
        return self.state().inline


db = Database()
queues = Queues()
