"""With Redis unreachable a delivery is still acknowledged and kept, and the sweeper gets it processed."""
import pytest
from rq import SimpleWorker

from loyalty_app import create_app
from loyalty_app.extensions import db, queues
from loyalty_app.models import WebhookEvent
from loyalty_app.services.members import find_member
from tests.conftest import BASE_CONFIG
from tests.helpers import post_webhook, simple_order
from webhooks.jobs import sweep_inbox

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
        assert sweep_inbox() == 1
        assert queues.default.count == 1
        SimpleWorker([queues.default], connection=queues.redis).work(burst=True)
        session = db.session()
        event = session.query(WebhookEvent).one()
        assert (event.status, event.result) == ("processed", "earned 64")
        assert find_member(session, shop_id, 5).balance == 64
        assert sweep_inbox() == 0
