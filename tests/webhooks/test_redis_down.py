"""With Redis unreachable a delivery is still acknowledged and kept, and the sweeper gets it processed."""
import json

import pytest
from rq import SimpleWorker

from loyalty_app import create_app
from loyalty_app.extensions import db, queues
from loyalty_app.models import WebhookEvent
from loyalty_app.services.members import find_member
from tests.conftest import BASE_CONFIG
from tests.helpers import post_webhook, simple_order
from loyalty_app.services.inbox import Swept
from webhooks.jobs import DRAIN_FLAG, sweep_inbox

pytestmark = pytest.mark.integration


def test_acknowledged_kept_and_swept_when_redis_is_down(pg_redis_app, redis_shop, pg_url, redis_url):
    shop_id = redis_shop.id

    down = create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "REDIS_URL": "redis://127.0.0.1:1/0",
                       "AUTO_MIGRATE": False})
    response = post_webhook(down.test_client(), "orders/paid", simple_order(1, 5, "64.00"), webhook_id="lost?")
    assert response.status_code == 200 and response.json == {"status": "received"}
    with down.app_context():
        event = db.session().query(WebhookEvent).one()
        assert (event.status, event.webhook_id) == ("received", "lost?")
        assert find_member(db.session(), shop_id, 5) is None

    back = create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "AUTO_MIGRATE": False,
                       "INBOX_GRACE_SECONDS": 0})
    with back.app_context():
        assert sweep_inbox().overdue == 1
        assert queues.default.count == 1
        SimpleWorker([queues.default], connection=queues.redis).work(burst=True)
        session = db.session()
        event = session.query(WebhookEvent).one()
        assert (event.status, event.result) == ("processed", "earned 64")
        assert find_member(session, shop_id, 5).balance == 64
        assert sweep_inbox() == Swept(released=0, overdue=0)


def test_a_drain_flag_without_its_job_does_not_wedge_the_inbox(pg_redis_app, redis_shop):
    """Redis hung after the flag was set and before the job was queued: the sweeper still drains."""
    app = pg_redis_app
    app.config["INBOX_GRACE_SECONDS"] = 0
    with app.app_context():
        queues.redis.set(DRAIN_FLAG, "1", ex=300)  # the flag of an enqueue that never happened
        session = db.session()
        session.add(WebhookEvent(webhook_id="stranded", topic="orders/paid", shop_domain=redis_shop.domain,
                                 shop_id=redis_shop.id, body=json.dumps(simple_order(1, 5, "64.00"))))
        session.commit()
        assert sweep_inbox().overdue == 1
        assert queues.default.count == 1  # queued although the flag was set
        SimpleWorker([queues.default], connection=queues.redis).work(burst=True)
        assert find_member(db.session(), redis_shop.id, 5).balance == 64


def test_a_killed_workers_claims_come_back_within_the_claim_timeout(pg_redis_app, redis_shop):
    """kill -9 mid-batch leaves events 'processing'; on-call `webhooks sweep` hands them back and says so."""
    from datetime import timedelta

    from loyalty_app.models import utcnow
    from loyalty_app.services import inbox

    app = pg_redis_app
    with app.app_context():
        session = db.session()
        session.add(WebhookEvent(webhook_id="claimed", topic="orders/paid", shop_domain=redis_shop.domain,
                                 shop_id=redis_shop.id, body='{"id": 7}', status="processing",
                                 claimed_at=utcnow() - timedelta(seconds=app.config["INBOX_CLAIM_TIMEOUT"] + 1)))
        session.commit()
    result = app.test_cli_runner().invoke(args=["webhooks", "sweep"])
    assert result.exit_code == 0, result.output
    assert "released stale claims: 1" in result.output
    with app.app_context():
        assert db.session().query(WebhookEvent).one().status == "received"
        assert queues.default.count == 1
