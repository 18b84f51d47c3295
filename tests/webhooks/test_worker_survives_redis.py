"""A real `rq worker` and the clock (as the Procfile runs them) outlive a Redis restart and go on working (#11)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

from loyalty_app.extensions import WEBHOOK_QUEUE
from tests.webhooks.test_redis_hung import _free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _redis_server(port: int, directory: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(directory)], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            Redis(port=port).ping()
            return process
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def _stop(*processes: subprocess.Popen) -> None:  # type: ignore[type-arg]
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_worker_reconnects_after_redis_restarts(pg_url, tmp_path):
    """The jobs worker as the Procfile runs it (with the scheduler): Redis stops, comes back empty, work goes on."""
    port = _free_port()
    redis_process = _redis_server(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "LOYALTY_ENV": "test", "DATABASE_URL": pg_url, "REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "-w", "webhooks.worker.Worker", WEBHOOK_QUEUE,
                               "--url", url, "--with-scheduler"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert _wait(lambda: Redis(port=port).keys("rq:worker:*"), 30), "the worker never registered"
        redis_process.terminate()
        redis_process.wait(5)
        time.sleep(5)  # Redis is gone for a while
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
        redis_process = _redis_server(port, tmp_path)
        job = Queue(WEBHOOK_QUEUE, connection=Redis(port=port)).enqueue("webhooks.jobs.sweep_inbox")
        assert _wait(lambda: job.get_status(refresh=True) == "finished", 60), (tmp_path / "worker.log").read_text()[-3000:]
        assert worker.poll() is None
        worker.terminate()  # a platform's stop still ends it: the restart loop is only for a lost Redis
        assert worker.wait(15) == 0, (tmp_path / "worker.log").read_text()[-2000:]
    finally:
        _stop(worker, redis_process)


def test_the_clock_outlives_a_redis_restart_and_schedules_again(pg_url, tmp_path):
    """`rq cron` exits on the first Redis error; the Procfile's clock starts its schedule again."""
    port = _free_port()
    redis_process = _redis_server(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "LOYALTY_ENV": "test", "DATABASE_URL": pg_url, "REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "clock.log").open("w")
    clock = subprocess.Popen([sys.executable, "-m", "webhooks.clock"], cwd=ROOT, env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    sweeps = lambda: Redis(port=port).llen(f"rq:queue:{WEBHOOK_QUEUE}")  # noqa: E731
    try:
        assert _wait(lambda: sweeps() > 0, 30), (tmp_path / "clock.log").read_text()[-2000:]
        redis_process.terminate()
        redis_process.wait(5)
        time.sleep(20)  # past the sweeper's 15 s interval: the clock meets the outage
        assert clock.poll() is None, (tmp_path / "clock.log").read_text()[-2000:]
        redis_process = _redis_server(port, tmp_path)  # back, and empty
        assert _wait(lambda: sweeps() > 0, 30), (tmp_path / "clock.log").read_text()[-2000:]
        clock.terminate()  # and a platform's stop still ends it
        assert clock.wait(15) == 0, (tmp_path / "clock.log").read_text()[-2000:]
    finally:
        _stop(clock, redis_process)
