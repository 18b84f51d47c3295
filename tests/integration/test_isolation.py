"""Two suites on one machine, given different database names and Redis numbers, never touch each other's data."""
import os
import uuid
from urllib.parse import urlsplit

from redis import Redis
from sqlalchemy.engine import make_url


def test_redis_tests_use_exactly_the_database_number_in_redis_url(redis_url, request):
    given = Redis.from_url(os.environ["REDIS_URL"])
    number = given.connection_pool.connection_kwargs.get("db", 0)
    # Another suite's data, in the neighbouring database: building the test app flushes its own database only.
    neighbour_url = urlsplit(os.environ["REDIS_URL"])._replace(path=f"/{(number + 1) % 16}").geturl()
    neighbour = Redis.from_url(neighbour_url)
    key = f"loyalty-test-isolation:{uuid.uuid4()}"
    neighbour.set(key, "another suite's data")
    try:
        app = request.getfixturevalue("pg_redis_app")
        redis = app.extensions["queues"].redis
        assert redis.connection_pool.connection_kwargs.get("db", 0) == number
        redis.set(key, "ours")
        assert given.get(key) == b"ours"
        assert neighbour.get(key) == b"another suite's data"
    finally:
        neighbour.delete(key)
        given.delete(key)


def test_postgresql_databases_are_named_after_database_url(pg_url, worker_id):
    given = make_url(os.environ["DATABASE_URL"])
    used = make_url(pg_url)
    assert used.database == f"{given.database}_{worker_id}"
    assert (used.host, used.port) == (given.host, given.port)
