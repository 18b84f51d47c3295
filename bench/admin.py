#!/usr/bin/env python
"""Admin API benchmark on PostgreSQL: analytics, member search and the member page of a large shop.

Builds a shop with 100,000 members and 1,000,000 ledger entries over the last year (plus orders,
guests' orders and used reward codes, so every analytics query has rows to read), in set-based SQL
(``generate_series``), never through the ORM; a second, small shop shares the tables, as tenants do.
Then it times requests through the Flask app with a valid session token, as the embedded admin
sends them, and prints p50/p99 per route (target: p99 < 300 ms each).

The database is ``<DATABASE_URL's name>_bench_admin`` unless ``--database`` (or
``BENCH_ADMIN_DATABASE``) names another; it is dropped and rebuilt unless ``--reuse`` finds it
already built with the same sizes.

Usage: ``.venv/bin/python bench/admin.py [--json] [--samples 200] [--reuse]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loyalty_app import create_app  # noqa: E402
from loyalty_app.extensions import db  # noqa: E402
from loyalty_app.migrate import upgrade  # noqa: E402
from loyalty_app.models import utcnow  # noqa: E402
from loyalty_app.services.shops import install_shop  # noqa: E402
from tests.helpers import session_token  # noqa: E402

SECRET = "bench-admin-secret-0123456789abcdef"
API_KEY = "bench-api-key"
DOMAIN = "bench-admin.myshopify.com"
NEIGHBOUR = "bench-neighbour.myshopify.com"
TARGET_P99_MS = 300


def database_url(base_url: str, name: str, reuse: bool, sizes: dict[str, int]) -> tuple[str, bool]:
    """The benchmark's database (created fresh unless reusable); returns (url, needs_building)."""
    base = make_url(base_url).set(drivername="postgresql+psycopg")
    url = base.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if reuse and exists and _built_with(url) == sizes:
            admin.dispose()
            return url, False
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url, True


def _built_with(url: str) -> dict[str, int] | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT obj_description('members'::regclass)")).scalar()
            return json.loads(row) if row else None
    except Exception:  # noqa: BLE001 - a half-built database is rebuilt
        return None
    finally:
        engine.dispose()


def build(engine: Engine, shop_id: int, neighbour_id: int, members: int, entries: int, orders: int,
          codes: int) -> dict[str, float]:
    """Fill the shop in set-based SQL; returns seconds per step."""
    timings: dict[str, float] = {}

    def step(name: str, sql: str, **params: Any) -> None:
        start = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text(sql), params)
        timings[name] = round(time.monotonic() - start, 1)

    first_names = "ARRAY['Kari','Ola','Lars','Mette','Ingrid','Johan','Sofia','Erik','Anna','Nils','Freja','Emil']"
    last_names = "ARRAY['Nordmann','Hansen','Svensson','Johansson','Larsen','Nielsen','Berg','Lund','Dahl','Holm']"
    step("members", f"""
        WITH tiers AS (SELECT array_agg(id ORDER BY threshold) AS ids FROM tiers WHERE shop_id = :shop)
        INSERT INTO members (shop_id, customer_id, email, first_name, last_name, balance, pending, lifetime,
                             tier_id, excluded, last_activity_at, created_at)
        SELECT :shop, 7000000000 + g, 'member' || g || '@example.com',
               ({first_names})[1 + g % 12], ({last_names})[1 + (g / 12) % 10], 0, 0, 0,
               tiers.ids[1 + (g % 7) / 3], g % 500 = 0, NULL, now() - make_interval(secs => (g * 7919 % 63072000))
        FROM generate_series(1::bigint, :n) AS g, tiers""", shop=shop_id, n=members)
    # Kinds in proportion: earn 70 %, action 8 %, bonus 2 %, redeem 10 %, reversal 5 %, expire 3 %, adjust 2 %.
    step("ledger_entries", """
        WITH ids AS (SELECT min(id) AS first FROM members WHERE shop_id = :shop),
        draws AS (SELECT g, (g * 2654435761) % 100 AS k, random() AS r FROM generate_series(1::bigint, :n) AS g)
        INSERT INTO ledger_entries (shop_id, member_id, amount, kind, source, idempotency_key, state, available_at,
                                    created_at, actor)
        SELECT :shop, ids.first + (g * 48271) % :members,
               CASE WHEN k < 70 THEN 10 + (r * 490)::int WHEN k < 78 THEN 100 WHEN k < 80 THEN 250
                    WHEN k < 90 THEN -(100 * (1 + (r * 4)::int)) WHEN k < 95 THEN -(5 + (r * 100)::int)
                    WHEN k < 98 THEN -(10 + (r * 200)::int) ELSE (CASE WHEN r < 0.5 THEN -50 ELSE 75 END) END,
               CASE WHEN k < 70 THEN 'earn' WHEN k < 78 THEN 'action' WHEN k < 80 THEN 'bonus'
                    WHEN k < 90 THEN 'redeem' WHEN k < 95 THEN 'reversal' WHEN k < 98 THEN 'expire' ELSE 'adjust' END,
               'bench:' || g, 'bench:' || g, 'available', NULL,
               now() - make_interval(secs => (r * 31536000)::int) AS created_at, 'system'
        FROM draws, ids ORDER BY created_at""", shop=shop_id, n=entries, members=members)
    step("member_balances", """
        UPDATE members SET balance = s.total, lifetime = s.earned, last_activity_at = s.last
        FROM (SELECT member_id, sum(amount) AS total,
                     sum(CASE WHEN kind IN ('earn', 'action', 'bonus', 'reversal') THEN amount ELSE 0 END) AS earned,
                     max(created_at) AS last
              FROM ledger_entries WHERE shop_id = :shop GROUP BY member_id) AS s
        WHERE members.id = s.member_id""", shop=shop_id)
    # Orders over the year: 70 % members' (some members buy again), 30 % guests' (a pool of guest emails).
    # Rows go in in time order, as a live shop appends them (entries too), so a window's rows sit together.
    step("orders", """
        WITH ids AS (SELECT min(id) AS first FROM members WHERE shop_id = :shop)
        INSERT INTO orders (shop_id, order_id, member_id, email, eligible_amount, refunded_amount, points_earned,
                            points_reversed, total_amount, presentment_total, taxes_included, cancelled, placed_at,
                            created_at)
        SELECT :shop, 5000000000 + g,
               CASE WHEN g % 10 < 7 THEN ids.first + (g * 16807) % :members END,
               CASE WHEN g % 10 < 7 THEN NULL ELSE 'guest' || (g * 31) % 40000 || '@example.com' END,
               20 + (g % 280), 0, CASE WHEN g % 10 < 7 THEN 20 + (g % 280) END, 0,
               25 + (g % 280) + (g % 7), 25 + (g % 280) + (g % 7), false, g % 97 = 0,
               now() - make_interval(secs => (g * 104729 % 31536000)) AS placed_at, now()
        FROM generate_series(1::bigint, :n) AS g, ids ORDER BY placed_at""", shop=shop_id, n=orders, members=members)
    step("redemptions", """
        INSERT INTO redemptions (shop_id, member_id, reward_id, idempotency_key, code, cost, state, order_id,
                                 used_at, created_at)
        SELECT :shop, o.member_id, NULL, 'bench:' || o.order_id, 'LOY-BENCH-' || o.order_id, 500, 'used',
               o.order_id, o.placed_at, o.placed_at
        FROM orders o WHERE o.shop_id = :shop AND o.member_id IS NOT NULL ORDER BY o.order_id LIMIT :n""",
         shop=shop_id, n=codes)
    step("neighbour_members", """
        INSERT INTO members (shop_id, customer_id, email, balance, pending, lifetime, excluded, created_at)
        SELECT :shop, 7000000000 + g, 'member' || g || '@example.com', 100, 0, 100, false, now()
        FROM generate_series(1, 1000) AS g""", shop=neighbour_id)
    step("neighbour_entries", """
        INSERT INTO ledger_entries (shop_id, member_id, amount, kind, source, idempotency_key, state, created_at,
                                    actor)
        SELECT :shop, id, 100, 'earn', 'bench', 'bench:n' || id, 'available', now(), 'system'
        FROM members WHERE shop_id = :shop""", shop=neighbour_id)
    start = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    timings["vacuum_analyze"] = round(time.monotonic() - start, 1)
    return timings


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p99 (nearest rank) in milliseconds."""
    ordered = sorted(samples)
    rank = lambda q: ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]  # noqa: E731
    return {"p50_ms": round(rank(0.50) * 1000, 1), "p99_ms": round(rank(0.99) * 1000, 1)}


def timed(call: Callable[[int], Any], samples: int, warmup: int = 5) -> dict[str, float]:
    """Time ``call(i)`` for i in range(samples), after a few untimed calls."""
    for i in range(warmup):
        call(i)
    durations = []
    for i in range(samples):
        start = time.perf_counter()
        call(i)
        durations.append(time.perf_counter() - start)
    return percentiles(durations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--codes", type=int, default=20_000, help="used reward codes (matched to orders)")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per route")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/loyalty"))
    parser.add_argument("--database", default=os.environ.get("BENCH_ADMIN_DATABASE"),
                        help="database to build (default: DATABASE_URL's name + '_bench_admin')")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it was built with these sizes")
    args = parser.parse_args()
    name = args.database or f"{make_url(args.database_url).database}_bench_admin"
    sizes = {"members": args.members, "entries": args.entries, "orders": args.orders, "codes": args.codes,
             "layout": 2}  # bumped when the generated data changes, so --reuse rebuilds

    url, needs_building = database_url(args.database_url, name, args.reuse, sizes)
    app = create_app({"DATABASE_URL": url, "SHOPIFY_API_SECRET": SECRET, "SHOPIFY_API_KEY": API_KEY,
                      "AUTO_MIGRATE": False, "LOYALTY_ENV": "test", "REDIS_URL": None})
    engine = create_engine(url)
    timings: dict[str, float] = {}
    if needs_building:
        upgrade(app)
        with app.app_context():
            session = db.session()
            shop_id = install_shop(session, DOMAIN, "t", app.extensions["token_box"], currency="NOK").id
            neighbour_id = install_shop(session, NEIGHBOUR, "t", app.extensions["token_box"]).id
            session.commit()
        timings = build(engine, shop_id, neighbour_id, args.members, args.entries, args.orders, args.codes)
        with engine.begin() as conn:
            conn.execute(text(f"COMMENT ON TABLE members IS '{json.dumps(sizes)}'"))
    with engine.connect() as conn:
        counts = {table: conn.execute(text(f"SELECT count(*) FROM {table} WHERE shop_id = "
                                           "(SELECT id FROM shops WHERE domain = :d)"), {"d": DOMAIN}).scalar_one()
                  for table in ("members", "ledger_entries", "orders", "redemptions")}
        customer_ids = conn.execute(text(
            "SELECT customer_id FROM members WHERE shop_id = (SELECT id FROM shops WHERE domain = :d) "
            "ORDER BY random() LIMIT :n"), {"d": DOMAIN, "n": args.samples + 10}).scalars().all()

    client = app.test_client()
    headers = {"Authorization": f"Bearer {session_token(SECRET, API_KEY, DOMAIN, lifetime=3600)}"}
    rng = random.Random(7)
    queries = [lambda i: f"member{rng.randint(1, args.members)}@example.com", lambda i: "Ingrid",
               lambda i: str(customer_ids[i % len(customer_ids)]), lambda i: f"member{rng.randint(1, 999)}"]

    def get(path: str) -> Any:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
        return response

    figures: dict[str, Any] = {"database": name, **{f"{table}": n for table, n in counts.items()},
                               "build_seconds": timings, "samples": args.samples, "target_p99_ms": TARGET_P99_MS}
    # The same client, token check and a one-row query: what the machine gives any route right now.
    figures["reference_keys"] = timed(lambda i: get("/admin/api/keys"), args.samples)
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    figures["cpus"] = os.cpu_count()
    figures["analytics_30d"] = timed(lambda i: get("/admin/api/analytics"), args.samples)
    figures["analytics_365d"] = timed(lambda i: get("/admin/api/analytics?since=" + _days_ago(364)), args.samples // 4)

    figures["member_search"] = timed(lambda i: get(f"/admin/api/members?query={queries[i % 4](i)}"), args.samples)
    figures["member_page"] = timed(lambda i: get(f"/admin/api/members/{customer_ids[i % len(customer_ids)]}"),
                                   args.samples)
    engine.dispose()

    for key in ("reference_keys", "analytics_30d", "analytics_365d", "member_search", "member_page"):
        print(f"{key:<16} p50 {figures[key]['p50_ms']:>7} ms  p99 {figures[key]['p99_ms']:>7} ms")
    print(f"{counts['members']} members, {counts['ledger_entries']} ledger entries, {counts['orders']} orders; "
          f"target p99 < {TARGET_P99_MS} ms; load average {figures['load_average']} on {figures['cpus']} CPUs")
    if args.json:
        print(json.dumps(figures))


def _days_ago(days: int) -> str:
    return (utcnow().date() - timedelta(days=days)).isoformat()


if __name__ == "__main__":
    main()
