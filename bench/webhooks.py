#!/usr/bin/env python
"""Webhook benchmark against gunicorn on loopback, PostgreSQL and Redis.

(a) Acknowledgement: signed ``orders/paid`` deliveries (each a new webhook id) driven by wrk,
    next to the app's own hello-world route (``/ping``) under the same gunicorn in the same run.
(b) End to end: N distinct orders posted; the time until every one is credited, next to the
    rate at which the same RQ workers run N no-op jobs in the same run.

Needs wrk (``apt-get install wrk``). Usage: ``.venv/bin/python bench/webhooks.py [--json]``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median

import requests
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loyalty_app import create_app  # noqa: E402
from loyalty_app.extensions import db  # noqa: E402
from loyalty_app.migrate import upgrade  # noqa: E402
from loyalty_app.security import webhook_hmac  # noqa: E402
from loyalty_app.services.shops import install_shop  # noqa: E402
from tests.helpers import simple_order  # noqa: E402

SECRET = "bench-secret"
DOMAIN = "bench-shop.myshopify.com"
WRK_SCRIPT = """
local bodies = {%(bodies)s}
local signatures = {%(signatures)s}
local counter = 0
local next_id = 1
function setup(thread) thread:set("thread_id", next_id); next_id = next_id + 1 end
function request()
  counter = counter + 1
  local i = (counter %% #bodies) + 1
  local headers = {["Content-Type"] = "application/json", ["X-Shopify-Topic"] = "orders/paid",
    ["X-Shopify-Shop-Domain"] = "%(domain)s", ["X-Shopify-Hmac-Sha256"] = signatures[i],
    ["X-Shopify-Webhook-Id"] = "bench-%(round)d-" .. thread_id .. "-" .. counter, ["X-Shopify-API-Version"] = "2026-10"}
  return wrk.format("POST", "/webhooks", headers, bodies[i])
end
"""
WRK_DONE = """
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('WRK {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
"""


def wrk(url: str, seconds: int, connections: int, script: str) -> dict:
    """Run wrk with a Lua script whose done() prints one JSON line."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + WRK_DONE)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", handle.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    figures = json.loads(re.search(r"^WRK (.*)$", out, re.M).group(1))  # type: ignore[union-attr]
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def procfile_gunicorn() -> tuple[int, int]:
    """The workers and threads the Procfile deploys, so the benchmark measures what runs in production."""
    web = re.search(r"^web:.*$", (ROOT / "Procfile").read_text(), re.M).group(0)  # type: ignore[union-attr]
    return (int(re.search(r"--workers[ =](\d+)", web).group(1)),  # type: ignore[union-attr]
            int(re.search(r"--threads[ =](\d+)", web).group(1)))  # type: ignore[union-attr]


def fresh_database(base_url: str) -> str:
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "loyalty_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "loyalty_bench"'))
    admin.dispose()
    return url.set(database="loyalty_bench").render_as_string(hide_password=False)


def wait_for(predicate, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    parser.add_argument("--seconds", type=int, default=4, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved hello-world/ack rounds; medians are kept")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--orders", type=int, default=2000, help="orders for the end-to-end run")
    workers, threads = procfile_gunicorn()
    parser.add_argument("--gunicorn-workers", type=int, default=workers, help="default: the Procfile's web process")
    parser.add_argument("--gunicorn-threads", type=int, default=threads, help="default: the Procfile's web process")
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    database_url = fresh_database(args.database_url)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "LOYALTY_ENV": "test",
           "SHOPIFY_API_SECRET": SECRET, "AUTO_MIGRATE": "false"}
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "SHOPIFY_API_SECRET": SECRET,
                      "AUTO_MIGRATE": False})
    upgrade(app)
    with app.app_context():
        session = db.session()
        install_shop(session, DOMAIN, "t", app.extensions["token_box"])
        session.commit()
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    engine = create_engine(database_url)

    def count(sql: str) -> int:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()

    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "app:app", "-b", f"127.0.0.1:{args.port}", "-w", str(args.gunicorn_workers),
         "-k", "gthread", "--threads", str(args.gunicorn_threads), "--log-level", "warning"],
        cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    workers: list[subprocess.Popen] = []
    try:
        def up() -> bool:
            try:
                return requests.get(base + "/ping", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(up, 30, "gunicorn")
        # (a) acknowledgement, with no RQ worker running so processing does not compete for the cores.
        bodies = [json.dumps(simple_order(i, 1 + i % 500, f"{10 + i % 90}.00")) for i in range(1, 501)]
        lua = {"bodies": ", ".join(f"[==[{b}]==]" for b in bodies), "domain": DOMAIN,
               "signatures": ", ".join(f'"{webhook_hmac(SECRET, b.encode())}"' for b in bodies)}
        hellos, acks = [], []
        for round_ in range(args.rounds):  # interleaved, so a noisy spell on the machine hits both
            hellos.append(wrk(base + "/ping", args.seconds, args.connections, ""))
            acks.append(wrk(base + "/webhooks", args.seconds, args.connections, WRK_SCRIPT % {**lua, "round": round_}))
        stored = count("SELECT count(*) FROM webhook_events")

        with engine.begin() as conn:
            conn.execute(text("TRUNCATE webhook_events, ledger_entries, order_refunds, orders, members CASCADE"))
        redis.flushdb()

        # (b) no-op RQ jobs, then the end-to-end run, on the same RQ workers.
        workers = [subprocess.Popen([str(bin_dir / "rq"), "worker", "-w", "webhooks.worker.Worker", "loyalty",
                                     "--url", args.redis_url, "-q"],
                                    cwd=ROOT, env=env) for _ in range(args.rq_workers)]
        queue = Queue("loyalty", connection=redis)
        wait_for(lambda: len(redis.keys("rq:worker:*")) >= args.rq_workers, 30, "rq workers")
        start = time.monotonic()
        queue.enqueue_many([Queue.prepare_data("os.getpid", result_ttl=60) for _ in range(args.orders)])
        done = wait_for(lambda: queue.finished_job_registry.count >= args.orders, 600, "no-op jobs")
        noop_rate = args.orders / (done - start)

        orders = [simple_order(10_000_000 + i, 1 + i % 1000, f"{10 + i % 90}.00") for i in range(args.orders)]
        raw = [json.dumps(o).encode() for o in orders]
        signatures = [webhook_hmac(SECRET, body) for body in raw]

        def post_share(share: range) -> list[int]:
            """One keep-alive connection posting its share (plain http.client: the client is not under test)."""
            connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            statuses = []
            for i in share:
                connection.request("POST", "/webhooks", body=raw[i], headers={
                    "X-Shopify-Topic": "orders/paid", "X-Shopify-Shop-Domain": DOMAIN,
                    "X-Shopify-Webhook-Id": f"e2e-{i}", "X-Shopify-Hmac-Sha256": signatures[i],
                    "Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
            connection.close()
            return statuses

        shares = [range(k, args.orders, args.connections) for k in range(args.connections)]
        start = time.monotonic()
        with ThreadPoolExecutor(args.connections) as pool:
            statuses = [status for part in pool.map(post_share, shares) for status in part]
        posted = time.monotonic()
        done = wait_for(lambda: count("SELECT count(*) FROM webhook_events WHERE status IN ('received', 'processing')") == 0,
                        600, "every order credited")
        credited = count("SELECT count(*) FROM ledger_entries WHERE kind = 'earn'")
        e2e_rate = args.orders / (done - start)
    finally:
        for process in workers + [server]:
            process.terminate()
        for process in workers + [server]:
            process.wait(timeout=30)

    hello = {key: median(run[key] for run in hellos) for key in ("rps", "p50_ms", "p99_ms")}
    ack = {key: median(run[key] for run in acks) for key in ("rps", "p50_ms", "p99_ms")}
    ratios = [a["rps"] / h["rps"] for h, a in zip(hellos, acks)]
    figures = {
        "hello_rps": round(hello["rps"], 1), "hello_p50_ms": round(hello["p50_ms"], 2),
        "hello_p99_ms": round(hello["p99_ms"], 2),
        "ack_rps": round(ack["rps"], 1), "ack_p50_ms": round(ack["p50_ms"], 2), "ack_p99_ms": round(ack["p99_ms"], 2),
        "ack_p99_ms_worst": round(max(run["p99_ms"] for run in acks), 2),
        "ack_errors": sum(run["errors"] for run in acks), "ack_requests": sum(run["requests"] for run in acks),
        "ack_stored": stored, "ack_ratio": round(median(ratios), 3), "ack_ratios": [round(r, 3) for r in ratios],
        "connections": args.connections, "gunicorn": f"{args.gunicorn_workers}x{args.gunicorn_threads} gthread",
        "noop_jobs_per_s": round(noop_rate, 1), "e2e_orders": args.orders, "e2e_orders_credited": credited,
        "e2e_non_2xx": sum(1 for s in statuses if s != 200), "e2e_post_seconds": round(posted - start, 2),
        "e2e_orders_per_s": round(e2e_rate, 1), "e2e_ratio": round(e2e_rate / noop_rate, 2),
        "target_ack_ratio": 0.30, "target_ack_p99_ms": 50, "target_e2e_ratio": 2.0,
    }
    print(f"hello-world /ping      {figures['hello_rps']:>9} req/s  p50 {figures['hello_p50_ms']} ms  p99 {figures['hello_p99_ms']} ms")
    print(f"orders/paid /webhooks  {figures['ack_rps']:>9} req/s  p50 {figures['ack_p50_ms']} ms  p99 {figures['ack_p99_ms']} ms"
          f"  ({figures['ack_errors']} errors, {stored} of {figures['ack_requests']} stored)")
    print(f"medians of {args.rounds} interleaved rounds of {args.seconds} s; ack ratio per round {figures['ack_ratios']}")
    print(f"ack ratio {figures['ack_ratio']} (target >= 0.30), p99 {figures['ack_p99_ms']} ms (target < 50 ms)"
          f" at {args.connections} connections, gunicorn {figures['gunicorn']}")
    print(f"no-op RQ jobs          {figures['noop_jobs_per_s']:>9} jobs/s on {args.rq_workers} workers")
    print(f"end to end             {figures['e2e_orders_per_s']:>9} orders/s ({credited}/{args.orders} credited)")
    print(f"end-to-end ratio {figures['e2e_ratio']} x the no-op job rate (target >= 2)")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
