"""Deterministic errors fail an event at once; only transient ones are retried with backoff."""
from __future__ import annotations

from decimal import InvalidOperation

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from loyalty_app.models import WebhookEvent
from loyalty_app.services import inbox
from tests.helpers import simple_order
from tests.webhooks.test_privacy import stored


def _database_refuses(session, *_):  # type: ignore[no-untyped-def]
    raise DataError("INSERT …", {}, ValueError("integer out of range"))


def _overflow(*_):  # type: ignore[no-untyped-def]
    raise OverflowError("int too large to convert")


def _not_an_object(*_):  # type: ignore[no-untyped-def]
    line = "a line item that is a string"
    return line["quantity"]  # type: ignore[index]  # TypeError, as a handler would meet it


def _bad_decimal(*_):  # type: ignore[no-untyped-def]
    raise InvalidOperation("[<class 'decimal.ConversionSyntax'>]")


@pytest.mark.parametrize("handler", [_database_refuses, _overflow, _not_an_object, _bad_decimal],
                         ids=["database-refuses-value", "overflow", "not-an-object", "bad-decimal"])
def test_a_deterministic_error_fails_the_event_at_once(session, shop, handler):
    event_id = stored(session, shop, "orders/paid", simple_order(5, 6, "10.00"), "bad")
    inbox.claim(session, 10)
    assert inbox.process(session, event_id, {"orders/paid": handler}, max_attempts=8) == "failed"
    event = session.get(WebhookEvent, event_id)
    assert event.attempts == 1 and event.error and event.body is not None


def test_a_lost_connection_is_retried(session, shop):
    event_id = stored(session, shop, "orders/paid", simple_order(5, 6, "10.00"), "flaky")

    def lost(*_):  # type: ignore[no-untyped-def]
        raise ConnectionError("server closed the connection")

    inbox.claim(session, 10)
    assert inbox.process(session, event_id, {"orders/paid": lost}, max_attempts=8) == "received"


def test_a_real_database_refusal_is_permanent_on_postgresql(pg_app):
    """PostgreSQL's own out-of-range error arrives as DataError, so it is classified the same way."""
    from loyalty_app.extensions import db

    with pg_app.app_context():
        session = db.session()
        with pytest.raises(DataError) as caught:
            session.execute(text("SELECT CAST(:n AS integer)"), {"n": 10**12})
        session.rollback()
        assert isinstance(caught.value, inbox.PERMANENT_ERRORS)
