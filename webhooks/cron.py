"""Periodic jobs for ``rq cron webhooks/cron.py`` (the Procfile's clock process)."""
from rq import cron

from webhooks.jobs import daily_upkeep, expire_codes, reconcile_recent, settle_reservations, sweep_inbox

cron.register(sweep_inbox, queue_name="loyalty", interval=30)
cron.register(daily_upkeep, queue_name="loyalty", cron="15 3 * * *")
cron.register(reconcile_recent, queue_name="loyalty", cron="45 3 * * *")
cron.register(expire_codes, queue_name="loyalty", cron="5 * * * *")
cron.register(settle_reservations, queue_name="loyalty", interval=120)
