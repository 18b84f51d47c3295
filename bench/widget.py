#!/usr/bin/env python
"""Widget benchmark: what the storefront pays for the widget, and whether /proxy/me grows with history.

(a) gzipped size of loyalty.js + loyalty.css (target: under 6 KB together; Smile.io's widget ships
    about 105 KB of JavaScript);
(b) p50/p99 of ``GET /proxy/me`` (standing, tier progress, ways to earn with the member's state, active
    codes, last ten entries) for a member with 10 entries and one with 100,000 entries, in a shop of
    100,000 members (database ``<DATABASE_URL's name>_bench_widget``), through gunicorn on loopback with
    PostgreSQL (target: the big member's p99 within 1.5x of the small one's).

Needs wrk (``apt-get install wrk``) and PostgreSQL. Usage: ``.venv/bin/python bench/widget.py [--json]``.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loyalty_app import create_app  # noqa: E402
from loyalty_app.extensions import db  # noqa: E402
from loyalty_app.migrate import upgrade  # noqa: E402
from loyalty_app.models import LedgerEntry, Member, utcnow  # noqa: E402
from loyalty_app.security import proxy_signature  # noqa: E402
from loyalty_app.services.shops import install_shop  # noqa: E402

SECRET = "bench-secret-0123456789abcdef0123"
DOMAIN = "bench-shop.myshopify.com"
SMALL, BIG = 1, 2  # customer ids
WRK_DONE = """
function done(summary, latency, requests)
  io.write(string.format('WRK {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
"""


def asset_sizes() -> dict[str, int]:
    sizes = {}
    for name in ("loyalty.js", "loyalty.css"):
        raw = (ROOT / "storefront_extension" / "assets" / name).read_bytes()
        sizes[name] = len(gzip.compress(raw, 9))
    return sizes


def seed(database_url: str, members: int, big_entries: int) -> None:
    """A shop of ``members`` members; customer 1 has 10 entries, customer 2 ``big_entries``."""
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": None, "SHOPIFY_API_SECRET": SECRET,
                      "AUTO_MIGRATE": False, "LOYALTY_ENV": "test"})
    upgrade(app)
    with app.app_context():
        session = db.session()
        shop = install_shop(session, DOMAIN, "t", app.extensions["token_box"])
        session.commit()
        now = utcnow()
        rows = [{"shop_id": shop.id, "customer_id": c, "balance": 0, "pending": 0, "lifetime": 0, "created_at": now}
                for c in range(1, members + 1)]
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Member), rows[start:start + 10_000])
        session.commit()
        ids = dict(session.execute(text("SELECT customer_id, id FROM members WHERE customer_id IN (1, 2)")).all())
        for customer, count in ((SMALL, 10), (BIG, big_entries)):
            entries = [{"shop_id": shop.id, "member_id": ids[customer], "amount": 10, "kind": "earn",
                        "source": f"order:{customer}-{i}", "idempotency_key": f"order:{customer}-{i}",
                        "state": "available", "created_at": now - timedelta(minutes=count - i), "actor": "bench"}
                       for i in range(count)]
            # Both got the signup bonus long ago, so the ways to earn read claims (shown "done") for each.
            entries[0].update(kind="action", source="action:signup", idempotency_key=f"action:signup:{ids[customer]}:once")
            for start in range(0, len(entries), 10_000):
                session.execute(insert(LedgerEntry), entries[start:start + 10_000])
            session.execute(text("UPDATE members SET balance = :b, lifetime = :b WHERE id = :id"),
                            {"b": 10 * count, "id": ids[customer]})
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
    app.extensions["db"].dispose()


def signed_path(customer: int) -> str:
    params = [("shop", DOMAIN), ("logged_in_customer_id", str(customer)), ("path_prefix", "/apps/loyalty"),
              ("timestamp", str(int(time.time())))]
    params.append(("signature", proxy_signature(SECRET, params)))
    return "/proxy/me?" + "&".join(f"{k}={v}" for k, v in params)


def wrk(url: str, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_DONE)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", handle.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    return json.loads(re.search(r"^WRK (.*)$", out, re.M).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--big-entries", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    sizes = asset_sizes()
    url = make_url(args.database_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{url.database or 'loyalty'}_bench_widget"  # next to DATABASE_URL's database, never another's
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    database_url = url.set(database=name).render_as_string(hide_password=False)
    started = time.monotonic()
    seed(database_url, args.members, args.big_entries)
    seeded = time.monotonic() - started

    env = {**os.environ, "DATABASE_URL": database_url, "LOYALTY_ENV": "test", "SHOPIFY_API_SECRET": SECRET,
           "AUTO_MIGRATE": "false", "REDIS_URL": ""}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "app:app", "-b", f"127.0.0.1:{args.port}",
                               "-w", "4", "-k", "gthread", "--threads", "4", "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/ping", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        for customer in (SMALL, BIG):
            response = requests.get(base + signed_path(customer), timeout=5)
            response.raise_for_status()
            body = response.json()
            assert len(body["activity"]) == 10 and body["tier_progress"] is not None
            assert {w["action"]: w["state"] for w in body["ways_to_earn"]}["signup"] == "done"
        for customer in (SMALL, BIG):  # warm both paths so neither figure carries start-up cost
            wrk(base + signed_path(customer), 2, args.connections)
        small = wrk(base + signed_path(SMALL), args.seconds, args.connections)
        big = wrk(base + signed_path(BIG), args.seconds, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=30)

    figures = {
        "js_gzip_bytes": sizes["loyalty.js"], "css_gzip_bytes": sizes["loyalty.css"],
        "assets_gzip_bytes": sum(sizes.values()), "target_assets_gzip_bytes": 6 * 1024,
        "smile_js_bytes_reference": 105 * 1024,
        "members": args.members, "big_member_entries": args.big_entries, "seed_seconds": round(seeded, 1),
        "small_p50_ms": round(small["p50_ms"], 2), "small_p99_ms": round(small["p99_ms"], 2),
        "big_p50_ms": round(big["p50_ms"], 2), "big_p99_ms": round(big["p99_ms"], 2),
        "small_rps": round(small["requests"] / small["seconds"], 1), "big_rps": round(big["requests"] / big["seconds"], 1),
        "errors": small["errors"] + big["errors"],
        "p99_ratio_big_to_small": round(big["p99_ms"] / small["p99_ms"], 2), "target_p99_ratio": 1.5,
    }
    print(f"widget assets (gzip -9): js {sizes['loyalty.js']} B + css {sizes['loyalty.css']} B = "
          f"{figures['assets_gzip_bytes']} B (target < 6144 B; Smile.io's JS ~105 KB)")
    print(f"/proxy/me, member with 10 entries:        p50 {figures['small_p50_ms']} ms  p99 {figures['small_p99_ms']} ms")
    print(f"/proxy/me, member with {args.big_entries} entries:   p50 {figures['big_p50_ms']} ms  p99 {figures['big_p99_ms']} ms")
    print(f"p99 ratio big/small {figures['p99_ratio_big_to_small']} (target <= 1.5), shop of {args.members} members,"
          f" {args.connections} connections")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
