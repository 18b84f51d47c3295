"""The clock process: RQ's cron scheduler over ``webhooks/cron.py``, begun again whenever Redis goes away.

``rq cron`` exits on the first Redis error (its loop only catches a stop request), and the
sweeper that keeps the inbox moving runs from it; a platform may wait minutes before restarting
a process that keeps crashing. Run as ``python -m webhooks.clock`` (the Procfile's clock).
"""
from __future__ import annotations

import logging
import os
import time

from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronScheduler

log = logging.getLogger(__name__)
RESTART_SECONDS = 2
"""How long the clock waits after losing Redis before it starts again."""


def main() -> None:
    """Load the schedule once, then run it until a stop is requested, through any Redis outage."""
    scheduler = CronScheduler(connection=Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5,
                                                        socket_connect_timeout=5))
    scheduler.load_config_from_file("webhooks/cron.py")
    while True:
        try:
            scheduler.start()  # returns when a stop is requested
            return
        except RedisError as exc:
            log.warning("clock: Redis unreachable (%s); starting again in %d s", exc, RESTART_SECONDS)
            time.sleep(RESTART_SECONDS)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    main()
