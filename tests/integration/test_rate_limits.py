"""Redemption limits live in Redis, so every web process counts the same shopper together."""
import pytest
from flask import Flask

from loyalty_app import rate_limits

pytestmark = pytest.mark.integration


def limits_app(redis_url: str) -> Flask:
    app = Flask(__name__)
    app.config.update(REDIS_URL=redis_url, REDEEM_RATE_LIMIT="3 per minute", CLICK_RATE_LIMIT="10 per minute",
                      REVIEW_RATE_LIMIT="60 per minute")
    rate_limits.init_app(app)
    return app


def test_two_processes_share_one_count(redis_url, pg_redis_app):  # pg_redis_app flushes the Redis database
    first, second = limits_app(redis_url), limits_app(redis_url)
    allowed = []
    for app in (first, second, first, second):
        with app.app_context():
            allowed.append(rate_limits.redemption_allowed(1, 5))
    assert allowed == [True, True, True, False]
    with first.app_context():
        assert rate_limits.redemption_allowed(1, 6)  # another shopper
        assert rate_limits.redemption_allowed(2, 5)  # the same customer id in another shop


def test_an_unreachable_store_lets_redemptions_through():
    app = limits_app("redis://127.0.0.1:1/0")
    with app.app_context():
        assert all(rate_limits.redemption_allowed(1, 5) for _ in range(5))
