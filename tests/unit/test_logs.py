"""Structured logs: one JSON object per line, tagged with the shop, webhook and job (#11)."""
from __future__ import annotations

import io
import json
import logging

from loyalty_app.config import load_settings
from loyalty_app.logs import JsonFormatter, tagged
from loyalty_app.services import inbox
from tests.helpers import simple_order
from tests.webhooks.test_privacy import stored


def capture() -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    return stream, handler


def test_a_failing_webhook_logs_one_json_line_tagged_with_its_shop_and_webhook(session, shop):
    event_id = stored(session, shop, "orders/paid", simple_order(5, 6, "10.00"), "wh-tagged")

    def broken(*_):  # type: ignore[no-untyped-def]
        raise KeyError("line_items")

    stream, handler = capture()
    try:
        inbox.claim(session, 10)
        inbox.process(session, event_id, {"orders/paid": broken}, max_attempts=3)
    finally:
        logging.getLogger().removeHandler(handler)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines() if "wh-tagged" in text]
    assert line["level"] == "WARNING" and line["logger"] == "loyalty_app.services.inbox"
    assert (line["shop"], line["webhook_id"], line["topic"]) == (shop.domain, "wh-tagged", "orders/paid")


def test_tags_nest_and_end_with_their_block():
    stream, handler = capture()
    log = logging.getLogger("tests.logs")
    try:
        with tagged(job_id="j-1"):
            with tagged(shop="a.myshopify.com"):
                log.warning("inside")
            log.warning("outer")
        log.warning("outside")
    finally:
        logging.getLogger().removeHandler(handler)
    inside, outer, outside = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (inside["job_id"], inside["shop"]) == ("j-1", "a.myshopify.com")
    assert outer["job_id"] == "j-1" and "shop" not in outer
    assert "job_id" not in outside and outside["message"] == "outside"


def test_production_logs_json_and_development_text():
    production = {"LOYALTY_ENV": "production", "SECRET_KEY": "s", "SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "x",
                  "APP_URL": "https://l.example.com", "TOKEN_ENCRYPTION_KEY": "t", "DATABASE_URL": "postgresql://d/l",
                  "REDIS_URL": "redis://r/0"}
    assert load_settings(production)["LOG_FORMAT"] == "json"
    assert load_settings({})["LOG_FORMAT"] == "text"
