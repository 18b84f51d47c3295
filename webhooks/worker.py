"""The RQ worker class: ``rq worker -w webhooks.worker.Worker loyalty``.

RQ forks a work horse per job. Building the app in each one costs about 300 ms, so this worker
builds it once in the parent, before any fork, and every work horse inherits it; each job runs
inside that app's context, which is how jobs find their database and Redis.

RQ's loop retries a lost Redis only while it waits for a job: a connection error anywhere else
(its maintenance, its scheduler, a heartbeat) ends the worker. This one starts the loop again
until Redis answers, so a Redis restart never leaves the inbox without workers.
"""
from __future__ import annotations

import time
from typing import Any

import redis
import rq
import rq.job

from loyalty_app.logs import tagged

from .worker_app import worker_app

RESTART_SECONDS = 2
"""How long a worker whose loop ended on a lost Redis waits before it starts again."""
MAINTENANCE_SECONDS = 60
"""How often the worker runs RQ's maintenance, which is also when it retries taking the scheduler's lock.

A worker killed with -9 leaves that lock for 61 s; RQ's own 10-minute interval then left the
replacement without a scheduler (no delayed standings syncs) for ten minutes.
"""


class Worker(rq.Worker):
    """An RQ worker whose work horses inherit an app built once and run each job in its context."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
        super().__init__(*args, **kwargs)
        self.app = worker_app()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """RQ's work loop, begun again after Redis went away; a stop request, burst or job limit still ends it."""
        bounded = kwargs.get("burst") or (args and args[0]) or kwargs.get("max_jobs") or kwargs.get("max_idle_time")
        worked = False
        while True:
            try:
                worked = super().work(*args, **kwargs) or worked
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                self.log.warning("Worker %s: Redis unreachable (%s); starting again in %d s", self.name, exc,
                                 RESTART_SECONDS)
            # a stop request (SIGTERM, SIGINT) sets the date even when RQ ends an idle loop without a flag
            if bounded or self._stop_requested or self._shutdown_requested_date is not None:
                return worked
            time.sleep(RESTART_SECONDS)

    def perform_job(self, job: rq.job.Job, *args: Any, **kwargs: Any) -> bool:
        """Run the job inside the app's context (popped afterwards, which returns its session), its logs tagged."""
        with self.app.app_context(), tagged(job_id=job.id, job=job.func_name):
            return super().perform_job(job, *args, **kwargs)
