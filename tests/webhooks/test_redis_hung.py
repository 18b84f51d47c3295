"""A hung Redis (SIGSTOP: connections open, nothing answers) costs an acknowledgement milliseconds, not seconds.

Uses a private redis-server the test starts and freezes, so the machine's Redis is never touched.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from loyalty_app import create_app
from loyalty_app.extensions import db
from loyalty_app.models import WebhookEvent
from loyalty_app.services.shops import install_shop
from tests.conftest import BASE_CONFIG, SHOP_DOMAIN
from tests.helpers import post_webhook, simple_order
from webhooks import jobs

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:  # type: ignore[type-arg]
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            time.sleep(0.05)
    try:
        yield url, process
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(5)


def test_an_ack_while_redis_hangs_is_fast_and_the_event_is_kept(pg_url, private_redis):
    url, redis_process = private_redis
    app = create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "REDIS_URL": url, "AUTO_MIGRATE": False})
    from tests.conftest import _truncate

    _truncate(app)
    with app.app_context():
        install_shop(db.session(), SHOP_DOMAIN, "shpat_t", app.extensions["token_box"])
        db.session.commit()  # type: ignore[union-attr]
    client = app.test_client()
    os.kill(redis_process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        responses = [post_webhook(client, "orders/paid", simple_order(i, 5, "10.00")) for i in range(1, 4)]
        elapsed = time.monotonic() - started
    finally:
        os.kill(redis_process.pid, signal.SIGCONT)
    assert [r.status_code for r in responses] == [200, 200, 200]
    # Three acknowledgements, each allowed REDIS_REQUEST_TIMEOUT (0.05 s) per Redis call; the patient
    # client's 2 s timeout would make this take at least 6 s.
    assert elapsed < 1.5
    with app.app_context():
        assert db.session().query(WebhookEvent).filter_by(status="received").count() == 3
        assert jobs.run_drain(app) == 3  # Redis is back: every acknowledged event is processed
    app.extensions["db"].dispose()


def test_changes_outside_the_inbox_schedule_their_sync_without_waiting_on_a_hung_redis(pg_url, private_redis,
                                                                                       staff_token, caplog):
    """A Flow adjustment and a staff adjustment commit, then mark the member over the request-path connection."""
    from tests.flow.test_action import body as flow_body
    from tests.flow.test_action import post as flow_post
    from tests.helpers import AdminApi

    url, redis_process = private_redis
    app = create_app({**BASE_CONFIG, "DATABASE_URL": pg_url, "REDIS_URL": url, "AUTO_MIGRATE": False})
    from tests.conftest import _truncate

    _truncate(app)
    with app.app_context():
        install_shop(db.session(), SHOP_DOMAIN, "shpat_t", app.extensions["token_box"])
        db.session.commit()  # type: ignore[union-attr]
        client = app.test_client()
        admin = AdminApi(client, staff_token(lifetime=3600))
        os.kill(redis_process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            flowed = flow_post(client, flow_body(points=40, customer_id=5))
            adjusted = admin.post("/members/5/adjustments",
                                  json={"points": 10, "reason": "Goodwill", "idempotency_key": "goodwill-1"})
            elapsed = time.monotonic() - started
        finally:
            os.kill(redis_process.pid, signal.SIGCONT)
    assert (flowed.status_code, flowed.get_json()["balance"]) == (200, 40)
    assert (adjusted.status_code, adjusted.get_json()["member"]["balance"]) == (201, 50)
    assert caplog.text.count("could not schedule the standings sync of 1 member(s)") == 2
    assert elapsed < 1.5  # the patient client's 2 s timeout would make this at least 4 s
    app.extensions["db"].dispose()
