#!/usr/bin/env python
"""Soak: a mixed load for a set time against the app as the Procfile runs it, on loopback.

gunicorn (web), two ``rq worker`` on ``loyalty`` (worker), one on ``loyalty-jobs`` with the
scheduler (jobs) and the clock (RQ's cron scheduler), on PostgreSQL and a private redis-server, with a fake
Admin API on loopback that validates every document against Shopify's schema. The load, each
stream paced to its own rate: signed ``orders/paid`` webhooks, app proxy reads of ``/proxy/me``,
and redemptions through ``/proxy/redeem`` (each creates a discount code in the fake Admin).

Prints throughput, p50/p99 per route, errors, and each process's resident memory at the start
(after a warm-up) and at the end. Targets: 0 errors, memory growth under 10 % per process.

Usage: ``.venv/bin/python bench/soak.py [--seconds 300] [--json]`` (DATABASE_URL names the server;
a database ``<name>_soak`` is created next to it).
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loyalty_app import create_app  # noqa: E402
from loyalty_app.migrate import upgrade  # noqa: E402
from loyalty_app.security import proxy_signature  # noqa: E402
from tests.chaos.admin_server import AdminServer  # noqa: E402
from tests.chaos.stack import (  # noqa: E402
    DOMAIN, SECRET, Delivery, Stack, fresh_database, install_shop, order_deliveries, percentile, procfile_command,
    send, signed_headers, wait_for)

REDEEMERS = range(900_001, 900_051)
"""Customers with a large first order, so each can redeem many times."""
SHOPPERS = 2000


def proxy_path(path: str, customer: int) -> str:
    params = [("shop", DOMAIN), ("logged_in_customer_id", str(customer)), ("path_prefix", "/apps/loyalty"),
              ("timestamp", str(int(time.time())))]
    params.append(("signature", proxy_signature(SECRET, params)))
    return f"/proxy/{path}?{urlencode(params)}"


class Recorder:
    """Per-route latencies and failures, shared by the load threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, route: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[route].append(seconds)
            if error:
                self.errors[route].append(error)


def paced(rate: float, until: float, stop: threading.Event):  # type: ignore[no-untyped-def]
    """Yield at ``rate`` per second until ``until`` (monotonic); late ticks are not made up in a burst."""
    step, due = 1.0 / rate, time.monotonic()
    while not stop.is_set() and (now := time.monotonic()) < until:
        if due > now:
            time.sleep(due - now)
        due = max(due + step, time.monotonic() - step)
        yield


def stream(port: int, route: str, rate: float, until: float, stop: threading.Event, recorder: Recorder,
           request) -> None:  # type: ignore[no-untyped-def]
    """One keep-alive connection making ``request(i) -> (method, path, body, headers, ok_statuses)`` at ``rate``."""
    connection: http.client.HTTPConnection | None = None
    for i in zip(itertools.count(), paced(rate, until, stop)):
        method, path, body, headers, ok = request(i[0])
        started = time.monotonic()
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read()
            error = None if response.status in ok else f"{response.status} {text[:200]!r}"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if connection is not None:
                connection.close()
            connection = None
        recorder.add(route, time.monotonic() - started, error)
    if connection is not None:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    parser.add_argument("--seconds", type=int, default=300, help="duration of the measured load")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of the same load before memory is first taken")
    parser.add_argument("--webhooks-per-s", type=float, default=25.0)
    parser.add_argument("--reads-per-s", type=float, default=25.0)
    parser.add_argument("--redeems-per-s", type=float, default=1.0)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()

    base = make_url(args.database_url)
    database_url = fresh_database(args.database_url, f"{base.database}_soak")
    app = create_app({"LOYALTY_ENV": "test", "DATABASE_URL": database_url, "AUTO_MIGRATE": False, "REDIS_URL": None})
    upgrade(app)
    app.extensions["db"].dispose()
    install_shop(database_url)
    admin = AdminServer()
    directory = Path(tempfile.mkdtemp(prefix="soak-"))
    # Production refuses a fake Admin URL, so the processes run as "test" with production's shape otherwise.
    stack = Stack(database_url, directory, {"LOYALTY_ENV": "test", "SHOPIFY_ADMIN_URL": admin.url_template,
                                            "REDEEM_RATE_LIMIT": "100000 per minute", "LOG_FORMAT": "json"})
    recorder = Recorder()
    stop = threading.Event()
    try:
        stack.start_web()
        stack.start_worker()
        stack.start_worker()
        stack.spawn("jobs", procfile_command("jobs", REDIS_URL=stack.redis.url))
        stack.start_clock()
        # Redeemers first get one large order each (100,000 points), credited before the load starts.
        big = [Delivery(f"soak-big-{c}", json.dumps(_order(c, c, "100000.00")).encode()) for c in REDEEMERS]
        assert all(o.status == 200 for o in send(stack.port, big, connections=4))
        wait_for(lambda: stack.scalar("SELECT count(*) FROM members WHERE balance >= 100000") == len(REDEEMERS),
                 120, "the redeemers' points")

        order_ids = itertools.count(10_000_000)
        lock = threading.Lock()

        def webhook(_: int):  # type: ignore[no-untyped-def]
            with lock:
                order_id = next(order_ids)
            [delivery] = order_deliveries("soak", [order_id], lambda o: 1 + o % SHOPPERS)
            return "POST", "/webhooks", delivery.body, signed_headers(delivery), {200}

        def read(i: int):  # type: ignore[no-untyped-def]
            return "GET", proxy_path("me", 1 + (i * 7919) % SHOPPERS), None, {}, {200}

        def redeem(i: int):  # type: ignore[no-untyped-def]
            customer = REDEEMERS[i % len(REDEEMERS)]
            body = json.dumps({"reward_id": 1, "idempotency_key": uuid.uuid4().hex}).encode()
            return ("POST", proxy_path("redeem", customer), body, {"Content-Type": "application/json"}, {200, 202})

        def run(seconds: float) -> list[threading.Thread]:
            until = time.monotonic() + seconds
            plan = [("webhooks", args.webhooks_per_s, webhook), ("proxy_me", args.reads_per_s, read),
                    ("proxy_redeem", args.redeems_per_s, redeem)]
            threads = []
            for route, rate, make in plan:
                connections = max(1, min(8, round(rate / 5)))  # a connection waits for each answer: share the rate
                for _ in range(connections):
                    threads.append(threading.Thread(target=stream, args=(stack.port, route, rate / connections, until,
                                                                         stop, recorder, make)))
            for thread in threads:
                thread.start()
            return threads

        for thread in run(args.warmup):
            thread.join()
        recorder.latencies.clear()
        recorder.errors.clear()
        rss_start = _rss(stack)
        started = time.monotonic()
        for thread in run(args.seconds):
            thread.join()
        elapsed = time.monotonic() - started
        rss_end = _rss(stack)
        backlog_drained = True
        try:
            wait_for(lambda: stack.scalar("SELECT count(*) FROM webhook_events WHERE status IN ('received', 'processing')") == 0,
                     120, "the inbox to drain")
        except TimeoutError:
            backlog_drained = False
        failed_events = stack.scalar("SELECT count(*) FROM webhook_events WHERE status = 'failed'")
        with stack.engine.connect() as conn:
            redemptions = dict(conn.execute(text("SELECT state, count(*) FROM redemptions GROUP BY state")).all())
        audit = stack.flask("loyalty", "audit")
    finally:
        stop.set()
        stack.close()
        admin.close()

    routes = {}
    for route, values in recorder.latencies.items():
        routes[route] = {"requests": len(values), "per_s": round(len(values) / elapsed, 1),
                         "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                         "p99_ms": round(percentile(values, 0.99) * 1000, 1),
                         "errors": len(recorder.errors.get(route, []))}
    memory = {name: {"start_kib": rss_start[name], "end_kib": rss_end.get(name),
                     "growth_pct": round(100 * (rss_end[name] - rss_start[name]) / rss_start[name], 1)
                     if name in rss_end else None} for name in rss_start}
    figures = {
        "seconds": round(elapsed, 1), "routes": routes,
        "errors": sum(r["errors"] for r in routes.values()),
        "error_samples": {route: errors[:3] for route, errors in recorder.errors.items() if errors},
        "memory": memory, "max_growth_pct": max((m["growth_pct"] or 0) for m in memory.values()),
        "inbox_drained": backlog_drained, "failed_events": failed_events, "redemptions": redemptions,
        "admin_calls": admin.calls, "admin_rejected": admin.rejected[:5], "codes_in_admin": len(admin.codes),
        "audit": audit.stdout.strip() or audit.stderr.strip()[-300:],
        "targets": {"errors": 0, "max_growth_pct": 10},
    }
    for route, r in routes.items():
        print(f"{route:<14} {r['requests']:>7} requests  {r['per_s']:>6}/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms"
              f"  errors {r['errors']}")
    for name, m in memory.items():
        print(f"{name:<28} RSS {m['start_kib'] / 1024:.1f} MiB -> "
              f"{(m['end_kib'] or 0) / 1024:.1f} MiB ({m['growth_pct']} %)")
    print(f"errors {figures['errors']}, inbox drained {backlog_drained}, failed events {failed_events}, "
          f"redemptions {redemptions}, codes in the fake Admin {len(admin.codes)}, audit: {figures['audit']}")
    if args.json:
        print(json.dumps(figures))


def _order(order_id: int, customer_id: int, subtotal: str) -> dict:  # type: ignore[type-arg]
    from tests.helpers import simple_order

    return simple_order(order_id, customer_id, subtotal)


def _rss(stack: Stack) -> dict[str, int]:
    """Long-lived processes only: gunicorn's master and workers, the rq workers and clock (not their short work horses)."""
    sizes = stack.rss_kib()
    return {name: kib for name, kib in sizes.items() if name.startswith("web") or "(child)" not in name}


if __name__ == "__main__":
    main()
