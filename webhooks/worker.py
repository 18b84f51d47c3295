"""The RQ worker class: ``rq worker -w webhooks.worker.Worker loyalty``.

RQ forks a work horse per job. Building the app in each one costs about 300 ms, so this worker
builds it once in the parent, before any fork, and every work horse inherits it; each job runs
inside that app's context, which is how jobs find their database and Redis.
"""
from __future__ import annotations

from typing import Any

import rq
import rq.job

from loyalty_app.logs import tagged

from .worker_app import worker_app


class Worker(rq.Worker):
    """An RQ worker whose work horses inherit an app built once and run each job in its context."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = worker_app()

    def perform_job(self, job: rq.job.Job, *args: Any, **kwargs: Any) -> bool:
        """Run the job inside the app's context (popped afterwards, which returns its session), its logs tagged."""
        with self.app.app_context(), tagged(job_id=job.id, job=job.func_name):
            return super().perform_job(job, *args, **kwargs)
