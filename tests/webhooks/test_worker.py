"""The RQ worker builds its app once (webhooks.worker_app) and runs every job in that app's context."""
import ast
import inspect

import pytest
from rq import SimpleWorker

from loyalty_app.services.inbox import Swept
from webhooks import jobs, worker, worker_app


def test_jobs_do_not_import_the_app_factory():
    """No cycle jobs -> create_app -> receiver -> jobs: only webhooks.worker_app builds an app."""
    tree = ast.parse(inspect.getsource(jobs))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert "create_app" not in imported
    assert "create_app" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def test_a_job_outside_an_app_context_says_how_to_run_it():
    with pytest.raises(RuntimeError, match="webhooks.worker.Worker"):
        jobs.sweep_inbox()


@pytest.mark.integration
def test_the_worker_runs_each_job_in_its_app(pg_redis_app, redis_shop, monkeypatch):
    """Enqueued by one app, run by the worker (no context of its own) in the worker's app: the same database."""
    monkeypatch.setattr(worker_app, "_app", pg_redis_app)  # what worker_app() built from the environment

    class InProcessWorker(worker.Worker, SimpleWorker):
        """The project's worker without the fork, so the test sees the job's result."""

    queue = pg_redis_app.extensions["queues"].default
    job = queue.enqueue(jobs.sweep_inbox)
    InProcessWorker([queue], connection=pg_redis_app.extensions["queues"].redis).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == Swept(released=0, overdue=0)


def test_a_replacement_worker_retries_the_scheduler_lock_soon_after_a_kill(pg_redis_app, monkeypatch):
    """The lock a killed worker held expires after 61 s; the replacement must try again soon after, not in 10 minutes."""
    from rq.scheduler import RQScheduler

    monkeypatch.setattr(worker_app, "_app", pg_redis_app)
    queue = pg_redis_app.extensions["queues"].jobs
    replacement = worker.Worker([queue], connection=pg_redis_app.extensions["queues"].redis)
    lock_ttl = RQScheduler([queue], connection=queue.connection).interval + 60
    assert replacement.maintenance_interval <= lock_ttl
