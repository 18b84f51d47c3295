"""Periodic jobs, run by the Procfile's clock process (``python -m webhooks.clock``, RQ's cron scheduler)."""
from rq import cron

from loyalty_app.extensions import JOB_QUEUE, WEBHOOK_QUEUE
from webhooks.jobs import (credit_birthdays, daily_upkeep, expire_codes, reconcile_recent, remind_expiring_points,
                           send_all_store_credit, send_flow_triggers, settle_reservations, sweep_inbox)

# The sweeper keeps the webhook lane moving, so it runs there; the rest call Shopify or walk whole shops.
cron.register(sweep_inbox, queue_name=WEBHOOK_QUEUE, interval=15)
cron.register(daily_upkeep, queue_name=JOB_QUEUE, cron="15 3 * * *")
cron.register(reconcile_recent, queue_name=JOB_QUEUE, cron="45 3 * * *")
cron.register(expire_codes, queue_name=JOB_QUEUE, cron="5 * * * *")
cron.register(credit_birthdays, queue_name=JOB_QUEUE, cron="7 * * * *")  # hourly: each shop's own midnight
cron.register(settle_reservations, queue_name=JOB_QUEUE, interval=120)
cron.register(send_flow_triggers, queue_name=JOB_QUEUE, interval=60)
cron.register(remind_expiring_points, queue_name=JOB_QUEUE, cron="30 3 * * *")
cron.register(send_all_store_credit, queue_name=JOB_QUEUE, interval=300)
