"""A burst of 2,000 orders survives a killed worker, a hung Redis, a Redis that comes back empty and cut database connections.

Production settings, the Procfile's commands: gunicorn (web), two ``rq worker`` (worker) and
``python -m webhooks.clock`` (RQ's cron scheduler, which runs the sweeper every 15 s). The inbox in PostgreSQL
is the source of truth: nothing that was acknowledged may be lost, nothing credited twice.
"""
from __future__ import annotations

import threading
import time

from .stack import Stack, children, order_deliveries, percentile, send, wait_for

ORDERS = 2000
CUSTOMERS = 300
BURST_SECONDS = 24.0
ACK_LIMIT = 5.0
RECOVERY = 60.0
"""Every order must be credited this long after the last fault ends: a 30 s sweeper tick plus a 30 s claim timeout."""


def test_burst_with_faults_credits_every_order_once(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack()
    stack.start_web()
    workers = [stack.start_worker(), stack.start_worker()]
    stack.start_clock()
    deliveries = order_deliveries("burst", range(1_000_001, 1_000_001 + ORDERS), lambda o: 1 + o % CUSTOMERS)
    faults: dict[str, float] = {}
    notes: dict[str, int] = {}
    fault_error: list[BaseException] = []

    def at(offset: float) -> None:
        time.sleep(max(0.0, start + offset - time.monotonic()))

    def inject() -> None:
        try:
            at(3)
            # The worker with a work horse is mid-drain: wait (briefly) for one, then kill it and its horse.
            deadline = time.monotonic() + 3
            while not (busy := [w for w in workers if children(w.process.pid)]) and time.monotonic() < deadline:
                time.sleep(0.01)
            victim = (busy or workers)[0]
            notes["killed_mid_job"] = int(bool(busy))
            notes["processing_at_kill"] = stack.scalar("SELECT count(*) FROM webhook_events WHERE status = 'processing'")
            stack.kill9(victim)  # the supervisor starts another, as the platform's process manager would
            faults["worker killed"] = time.monotonic() - start
            at(6)
            stack.redis.freeze()
            faults["redis frozen"] = time.monotonic() - start
            at(16)
            stack.redis.thaw()
            faults["redis thawed"] = time.monotonic() - start
            at(18)
            stack.redis.restart()
            faults["redis restarted empty"] = time.monotonic() - start
            at(21)
            notes["backends_terminated"] = stack.terminate_backends()
            faults["backends terminated"] = time.monotonic() - start
        except BaseException as exc:  # reported by the test, after the burst
            fault_error.append(exc)
            stack.redis.thaw()

    start = time.monotonic()
    injector = threading.Thread(target=inject)
    injector.start()
    outcomes = send(stack.port, deliveries, connections=16, seconds=BURST_SECONDS)
    injector.join(60)
    assert not fault_error, fault_error
    last_fault = start + max(faults.values())

    def every_order_settled() -> bool:
        return stack.scalar("SELECT count(*) FROM webhook_events WHERE status IN ('received', 'processing')") == 0

    try:
        settled = wait_for(every_order_settled, RECOVERY + max(0.0, last_fault - time.monotonic()), "every order credited",
                           interval=0.5)
    except TimeoutError:
        settled = None
    acked = [o for o in outcomes if 200 <= o.status < 300]
    stored = stack.scalar("SELECT count(*) FROM webhook_events WHERE webhook_id LIKE 'burst-%'")
    earns = stack.scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'earn'")
    credited = stack.scalar("SELECT count(DISTINCT idempotency_key) FROM ledger_entries WHERE kind = 'earn'")
    duplicate_keys = stack.scalar("SELECT count(*) FROM (SELECT shop_id, idempotency_key FROM ledger_entries "
                                  "GROUP BY shop_id, idempotency_key HAVING count(*) > 1) d")
    failed = stack.scalar("SELECT count(*) FROM webhook_events WHERE status = 'failed'")
    latencies = [o.seconds for o in outcomes]
    print(f"\nburst: sent {len(outcomes)}, acknowledged {len(acked)}, stored {stored}, credited {credited} "
          f"(earn entries {earns}), duplicates {earns - credited} (duplicate ledger keys {duplicate_keys}), failed {failed}")
    print(f"faults at (s from burst start): " + ", ".join(f"{name} {t:.1f}" for name, t in faults.items())
          + f"; {notes}")
    print(f"ack p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
          f"max {max(latencies):.2f} s; non-2xx {len(outcomes) - len(acked)}")
    print("all credited " + (f"{settled - last_fault:.1f} s after the last fault ended" if settled else
                             f"NOT within {RECOVERY} s of the last fault") + f"; processes restarted after exiting {stack.restarts} (the killed worker is one)")

    assert len(outcomes) == ORDERS
    bad = [(o.webhook_id, o.status, round(o.seconds, 2), o.error) for o in outcomes if not 200 <= o.status < 300]
    assert not bad, bad[:10]
    slow = [(o.webhook_id, round(o.sent_at, 1), round(o.seconds, 2)) for o in outcomes if o.seconds >= ACK_LIMIT]
    assert not slow, slow[:10]
    assert settled is not None, stack.tail("worker") + stack.tail("clock")
    assert (stored, credited, earns, duplicate_keys, failed) == (ORDERS, ORDERS, ORDERS, 0, 0)
    audit = stack.flask("loyalty", "audit")
    assert audit.returncode == 0 and "ledger balanced" in audit.stdout, audit.stdout + audit.stderr
