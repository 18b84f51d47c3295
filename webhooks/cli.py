"""``flask --app app webhooks …``: the on-call engineer's view of the inbox."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select, update

from loyalty_app.extensions import db
from loyalty_app.models import WebhookEvent

from . import jobs

webhooks_cli = AppGroup("webhooks", help="The webhook inbox: status, sweep, drain, retry.")


@webhooks_cli.command("status")
def status() -> None:
    """Count inbox events by status."""
    rows = db.session.execute(  # type: ignore[union-attr]
        select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status).order_by(WebhookEvent.status))
    for name, count in rows:
        click.echo(f"{name}: {count}")


@webhooks_cli.command("sweep")
def sweep() -> None:
    """Hand back stale claims and schedule a drain for overdue events."""
    click.echo(f"overdue events: {jobs.sweep_inbox()}")


@webhooks_cli.command("drain")
def drain() -> None:
    """Process every due event now, in this process."""
    click.echo(f"processed events: {jobs.run_drain(current_app)}")  # type: ignore[arg-type]


@webhooks_cli.command("retry")
@click.argument("event_ids", nargs=-1, type=int, required=True)
def retry(event_ids: tuple[int, ...]) -> None:
    """Put failed events back in the queue (after fixing what failed them)."""
    session = db.session()  # type: ignore[misc]
    result = session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids), WebhookEvent.status == "failed")
                             .values(status="received", next_attempt_at=None, attempts=0))
    session.commit()
    click.echo(f"requeued {result.rowcount} event(s)")
    jobs.schedule_drain(current_app)  # type: ignore[arg-type]
