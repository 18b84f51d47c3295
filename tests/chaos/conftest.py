"""Fixtures for the chaos tests: a database of their own, and stacks of real processes that are always ended.

The database is named after DATABASE_URL's (``<name>_chaos_<xdist worker>``), so it never meets
another suite's. Each test truncates it and installs the chaos shop before starting its stack.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from loyalty_app import create_app
from loyalty_app.migrate import upgrade
from loyalty_app.models import Base
from tests.conftest import _require

from .stack import Stack, fresh_database, install_shop


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every chaos test is slow and needs the real PostgreSQL (and redis-server, which it starts itself)."""
    for item in items:
        if "tests/chaos/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def chaos_url(worker_id: str) -> str:
    """A migrated database of the chaos tests' own, derived from DATABASE_URL."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    base = make_url(_require("DATABASE_URL"))
    url = fresh_database(str(base.render_as_string(hide_password=False)), f"{base.database}_chaos_{worker_id}")
    app = create_app({"LOYALTY_ENV": "test", "DATABASE_URL": url, "AUTO_MIGRATE": False, "REDIS_URL": None})
    upgrade(app)
    app.extensions["db"].dispose()
    return url


def empty_database(url: str) -> None:
    """Truncate every table (ending any connection a killed process left idle in a transaction)."""
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid()"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def make_stack(chaos_url: str, tmp_path) -> Iterator[Callable[..., Stack]]:  # type: ignore[no-untyped-def]
    """``make_stack(**env)``: an emptied database with the chaos shop, and a Stack ended after the test."""
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        empty_database(chaos_url)
        install_shop(chaos_url)
        directory = tmp_path / f"stack{len(stacks)}"
        directory.mkdir()
        stack = Stack(chaos_url, directory, env)
        stacks.append(stack)
        return stack

    try:
        yield make
    finally:
        for stack in stacks:
            stack.close()
