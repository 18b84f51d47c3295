"""The receiver's pooled connections outlive the database ending them (a restart, ``pg_terminate_backend``).

Found by the burst test: after the backends were terminated, a delivery that drew a dead pooled
connection got a 500 (Shopify counts it as a failed delivery and sends it again).
"""
from __future__ import annotations

from sqlalchemy import create_engine, text

from loyalty_app import create_app
from loyalty_app.extensions import db
from loyalty_app.models import WebhookEvent
from tests.helpers import simple_order, post_webhook
from tests.conftest import BASE_CONFIG, SHOP_DOMAIN
from loyalty_app.services.shops import install_shop

from .conftest import empty_database


def test_deliveries_after_the_database_ended_every_connection_are_acknowledged(chaos_url) -> None:  # type: ignore[no-untyped-def]
    empty_database(chaos_url)
    app = create_app({**BASE_CONFIG, "DATABASE_URL": chaos_url, "AUTO_MIGRATE": False})
    with app.app_context():
        install_shop(db.session(), SHOP_DOMAIN, "shpat_t", app.extensions["token_box"])
        db.session.commit()  # type: ignore[union-attr]
    client = app.test_client()
    assert post_webhook(client, "orders/paid", simple_order(1, 5, "10.00")).status_code == 200
    killer = create_engine(chaos_url)
    with killer.connect() as conn:
        ended = conn.execute(text("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    killer.dispose()
    assert ended >= 1  # the receiver's pooled connection among them
    responses = [post_webhook(client, "orders/paid", simple_order(i, 5, "10.00")) for i in (2, 3)]
    assert [r.status_code for r in responses] == [200, 200]
    with app.app_context():
        assert db.session().query(WebhookEvent).count() == 3
        db.session.remove()  # type: ignore[union-attr]
    app.extensions["db"].dispose()


def test_a_drain_that_cannot_reach_redis_still_processes_what_it_claimed(chaos_url) -> None:  # type: ignore[no-untyped-def]
    """Found by the burst test: the drain claimed a batch, then failed to queue a helper drain on a hung Redis
    and left the batch in ``processing`` until the sweeper's claim timeout (30 to 60 s later)."""
    from webhooks import jobs

    from .stack import free_port

    empty_database(chaos_url)
    app = create_app({**BASE_CONFIG, "DATABASE_URL": chaos_url, "AUTO_MIGRATE": False, "STANDINGS_SYNC": False,
                      "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})  # nothing listens there
    with app.app_context():
        install_shop(db.session(), SHOP_DOMAIN, "shpat_t", app.extensions["token_box"])
        db.session.commit()  # type: ignore[union-attr]
    client = app.test_client()
    assert [post_webhook(client, "orders/paid", simple_order(i, 5, "10.00")).status_code for i in (1, 2, 3)] == [200] * 3
    assert jobs.run_drain(app) == 3
    with app.app_context():
        assert db.session().query(WebhookEvent).filter_by(status="processed").count() == 3
        db.session.remove()  # type: ignore[union-attr]
    app.extensions["db"].dispose()
