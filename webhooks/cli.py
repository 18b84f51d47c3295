"""``flask --app app webhooks …``: the on-call engineer's view of the inbox."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from loyalty_app.extensions import db
from loyalty_app.models import WebhookEvent
from loyalty_app.services import inbox

from . import jobs

webhooks_cli = AppGroup("webhooks", help="The webhook inbox: status, sweep, drain, retry.")


@webhooks_cli.command("status")
def status() -> None:
    """Count inbox events by status."""
    rows = db.session.execute(
        select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status).order_by(WebhookEvent.status)).all()
    if not rows:
        click.echo("the inbox is empty: no webhook has been received")
    for name, count in rows:
        click.echo(f"{name}: {count}")


@webhooks_cli.command("sweep")
def sweep() -> None:
    """Hand back claims of dead workers and schedule a drain for what is waiting, whatever Redis's flag says."""
    swept = jobs.sweep_inbox()
    click.echo(f"released stale claims: {swept.released}; overdue events: {swept.overdue}")


@webhooks_cli.command("drain")
def drain() -> None:
    """Process every due event now, in this process."""
    click.echo(f"processed events: {jobs.run_drain(current_app)}")  # type: ignore[arg-type]


@webhooks_cli.command("retry")
@click.argument("event_ids", nargs=-1, type=int, required=True)
def retry(event_ids: tuple[int, ...]) -> None:
    """Put failed events back in the queue (after fixing what failed them); unknown ids change nothing."""
    session = db.session()
    statuses = dict(session.execute(select(WebhookEvent.id, WebhookEvent.status)
                                    .where(WebhookEvent.id.in_(event_ids))).all())
    unknown = sorted(set(event_ids) - set(statuses))
    if unknown:
        session.rollback()
        click.echo(f"no webhook event with id {', '.join(map(str, unknown))}; nothing requeued", err=True)
        sys.exit(1)
    for event_id in sorted(set(event_ids)):
        if statuses[event_id] != "failed":
            click.echo(f"event {event_id} is {statuses[event_id]}, not failed: left as it is")
    requeued = inbox.requeue_failed(session, event_ids)
    session.commit()
    click.echo(f"requeued {requeued} event(s)")
    if requeued:
        jobs.schedule_drain(current_app)  # type: ignore[arg-type]
