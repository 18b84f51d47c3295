"""The Flow jobs as the clock runs them: ``send_flow_triggers`` (every minute) and ``remind_expiring_points`` (daily)."""
from datetime import timedelta

import importlib

import responses
from rq import cron as rq_cron
from sqlalchemy import select

from loyalty_app import ledger
from loyalty_app.extensions import JOB_QUEUE
from loyalty_app.models import FlowTrigger, utcnow
from loyalty_app.services.members import enrol
from loyalty_app.services.shops import update_settings
from tests.fake_admin import FakeAdmin
from webhooks import cron, jobs

OK = {"flowTriggerReceive": {"userErrors": []}}


def test_the_jobs_send_due_triggers_once_through_the_shops_client(session, shop):
    update_settings(shop, {"flow_triggers": True, "expiry_months": 12})
    member, _ = enrol(session, shop, 207119551)
    ledger.post(session, member.id, amount=40, kind="earn", key="order:1", source="order",
                now=utcnow() - timedelta(days=340))
    session.commit()
    with responses.RequestsMock() as rsps:
        fake = FakeAdmin(rsps).serve("FlowTriggerReceive", lambda _: OK)
        jobs.remind_expiring_points()
        jobs.send_flow_triggers()
        jobs.remind_expiring_points()  # the clock may run a job twice
        jobs.send_flow_triggers()
    assert sorted(v["handle"] for v in fake.sent("FlowTriggerReceive")) == [
        "loyalty-points-earned", "loyalty-points-expiring"]
    session.rollback()
    states = session.execute(select(FlowTrigger.trigger, FlowTrigger.state)).all()
    assert sorted(states) == [("points_earned", "sent"), ("points_expiring", "sent")]


def test_the_clock_runs_both_jobs_on_the_jobs_queue():
    rq_cron._job_data_registry.clear()
    importlib.reload(cron)  # registers every job again, as the clock does when it loads the file
    registered = {job["func"].__name__: job for job in rq_cron._job_data_registry}
    assert (registered["send_flow_triggers"]["queue_name"], registered["send_flow_triggers"]["interval"]) == (
        JOB_QUEUE, 60)
    assert registered["remind_expiring_points"]["queue_name"] == JOB_QUEUE
    assert registered["remind_expiring_points"]["cron"] is not None
