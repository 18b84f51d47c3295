#!/usr/bin/env python
"""Storefront benchmark: what the launcher costs a shop's page, measured by Lighthouse.

A static product-grid page (a hero image, a heading and twelve products with images, as a theme's
collection page) is served from a local HTTP server twice: without the widget, and with the launcher
block as it renders for a signed-in customer (its inline rules, markup and strings, and ``loyalty.js``
with ``loyalty.css`` served as the theme's assets). Lighthouse (npm ``lighthouse``, mobile defaults:
simulated slow 4G and a 4x CPU slowdown) runs against Debian's Chromium on each, interleaved
(without, with, without, …) so drift on the machine hits both alike, and the medians are compared.
Target: the launcher costs 0 performance points and under 25 ms of LCP.

The launcher's markup is the development storefront's (``/dev/storefront``), which a test keeps in step
with the Liquid snippet; it is cut out between its ``lty:launcher`` comments.

Needs Node and ``npm ci --prefix bench`` (installs Lighthouse from bench/package-lock.json), and
Chromium (``CHROME_PATH``, default /usr/bin/chromium).
Usage: ``.venv/bin/python bench/storefront.py [--runs 5] [--json]``.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import os
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LIGHTHOUSE = ROOT / "bench" / "node_modules" / "lighthouse" / "cli" / "index.js"
PRODUCTS = 12

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Collection – Bench store</title>
<meta name="description" content="All products of the bench store.">
<style>
body{{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}}
header{{display:flex;justify-content:space-between;align-items:center;padding:1rem 1.25rem;border-bottom:1px solid #eee}}
header a{{color:inherit;text-decoration:none;font-weight:700}}
.hero img{{display:block;width:100%;height:auto}}
main{{padding:1.25rem;max-width:1200px;margin:0 auto}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:1rem;list-style:none;padding:0}}
.grid img{{width:100%;height:auto;aspect-ratio:1;display:block;background:#f2f2f2}}
.grid h2{{font-size:1rem;margin:.5rem 0 0}}.grid p{{margin:0;color:#555}}
</style>
</head>
<body>
<header><a href="/">Bench store</a><nav><a href="/cart">Cart</a></nav></header>
<div class="hero"><img src="/img/hero.png" width="800" height="400" alt="Autumn collection" fetchpriority="high"></div>
<main>
<h1>All products</h1>
<ul class="grid">
{products}
</ul>
</main>
{launcher}
</body>
</html>
"""


def png(width: int, height: int, seed: int) -> bytes:
    """A photo-like PNG (a gradient with noise, so it does not compress to nothing), without Pillow."""
    rng = random.Random(seed)
    base = [rng.randrange(60, 200) for _ in range(3)]
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            noise = rng.randrange(-1, 2) if (x // 4 + y // 4) % 3 == 0 else 0
            rows += bytes(max(0, min(255, c + (x + y) * 60 // (width + height) + noise)) for c in base)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b"")


def launcher_markup() -> str:
    """The launcher as the development storefront renders it for a signed-in demo customer, with theme asset paths."""
    from loyalty_app import create_app
    from loyalty_app.demo import seed
    from loyalty_app.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"LOYALTY_ENV": "development", "TESTING": True, "REDIS_URL": None, "AUTO_MIGRATE": True,
                          "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                          "SHOPIFY_API_SECRET": "bench-secret-0123456789abcdef0123"})
        with app.app_context():
            seed(db.session(), app.extensions["token_box"])
            db.session.commit()  # type: ignore[union-attr]
        html = app.test_client().get("/dev/storefront?customer=1001").get_data(as_text=True)
        app.extensions["db"].dispose()
    markup = re.search(r"<!-- lty:launcher -->(.*)<!-- /lty:launcher -->", html, re.S)
    if markup is None:
        raise SystemExit("the development storefront no longer marks the launcher (lty:launcher comments)")
    return markup.group(1).replace("/dev/assets/", "/assets/")


def build_site(folder: Path) -> None:
    """without.html and with.html, the images, and the extension's assets under /assets/."""
    (folder / "img").mkdir()
    (folder / "assets").mkdir()
    (folder / "img" / "hero.png").write_bytes(png(800, 400, 0))
    for n in range(1, PRODUCTS + 1):
        (folder / "img" / f"p{n}.png").write_bytes(png(300, 300, n))
    for name in ("loyalty.js", "loyalty.css"):
        shutil.copy(ROOT / "storefront_extension" / "assets" / name, folder / "assets" / name)
    products = "\n".join(  # lazy grid images behind a high-priority hero, as Shopify's themes load them
        f'<li><a href="/products/{n}"><img src="/img/p{n}.png" width="300" height="300" alt="Product {n}"'
        f' loading="lazy"><h2>Product {n}</h2></a><p>NOK {199 + n * 50},00</p></li>'
        for n in range(1, PRODUCTS + 1))
    (folder / "without.html").write_text(PAGE.format(products=products, launcher=""))
    (folder / "with.html").write_text(PAGE.format(products=products, launcher=launcher_markup()))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a CDN serves a theme (HTTP/1.0 would open a connection per file)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def lighthouse(url: str, chrome: str) -> dict[str, Any]:
    """One Lighthouse run (mobile defaults, performance only): score, LCP, FCP, TBT, CLS and render-blocking bytes."""
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            ["node", str(LIGHTHOUSE), url, "--output=json", "--quiet", "--only-categories=performance",
             f"--chrome-flags=--headless=new --no-sandbox --disable-gpu --user-data-dir={profile}"],
            capture_output=True, text=True, env={**os.environ, "CHROME_PATH": chrome}, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}: {out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    audits = report["audits"]
    blocking = audits.get("render-blocking-resources", {}).get("details", {}).get("items", [])
    requests = audits["network-requests"]["details"]["items"]
    loaded = audits["metrics"]["details"]["items"][0]["observedLoad"]  # ms after navigation start, as requests are
    return {
        "score": round(report["categories"]["performance"]["score"] * 100),
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "fcp_ms": audits["first-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "render_blocking": [item["url"] for item in blocking],
        "widget_requests": sorted(r["url"].rsplit("/", 1)[1] for r in requests
                                  if "/assets/loyalty" in r["url"] or "/apps/loyalty" in r["url"]),
        "widget_requests_before_load": sorted(r["url"].rsplit("/", 1)[1] for r in requests
                                              if ("/assets/loyalty" in r["url"] or "/apps/loyalty" in r["url"])
                                              and r["networkRequestTime"] < loaded),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    parser.add_argument("--runs", type=int, default=5, help="Lighthouse runs per page, interleaved (default 5)")
    args = parser.parse_args()
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is missing: npm ci --prefix bench")
    if not shutil.which(chrome):
        raise SystemExit(f"{chrome} is missing: apt-get install chromium, or set CHROME_PATH")

    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder)
        build_site(site)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
        try:
            for _ in range(args.runs):
                for page in ("without", "with"):
                    runs[page].append(lighthouse(f"{base}/{page}.html", chrome))
        finally:
            server.shutdown()
        html = {page: len(gzip.compress((site / f"{page}.html").read_bytes(), 9)) for page in ("without", "with")}

    def median(page: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[page])

    figures: dict[str, Any] = {"runs_per_page": args.runs, "lighthouse_preset": "mobile (defaults)"}
    for page in ("without", "with"):
        for key in ("score", "lcp_ms", "fcp_ms", "tbt_ms", "cls"):
            figures[f"{page}_{key}"] = round(median(page, key), 3 if key == "cls" else 1)
        figures[f"{page}_scores"] = [run["score"] for run in runs[page]]
        figures[f"{page}_lcp_runs_ms"] = [round(run["lcp_ms"]) for run in runs[page]]
    figures["score_delta"] = figures["with_score"] - figures["without_score"]
    figures["lcp_delta_ms"] = round(figures["with_lcp_ms"] - figures["without_lcp_ms"], 1)
    figures["render_blocking_with"] = sorted({url for run in runs["with"] for url in run["render_blocking"]})
    figures["widget_requests_with"] = runs["with"][0]["widget_requests"]
    figures["widget_requests_before_load"] = sorted({url for run in runs["with"] for url in run["widget_requests_before_load"]})
    figures["launcher_html_gzip_bytes"] = html["with"] - html["without"]
    figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
    figures["target"] = {"score_delta": 0, "lcp_delta_ms_below": 25}
    figures["meets_target"] = figures["score_delta"] >= 0 and figures["lcp_delta_ms"] < 25

    print(f"Lighthouse mobile, product grid, {args.runs} interleaved runs per page (medians)")
    for page in ("without", "with"):
        print(f"  {page:>7} launcher: score {figures[f'{page}_score']:.0f}  LCP {figures[f'{page}_lcp_ms']:.0f} ms  "
              f"FCP {figures[f'{page}_fcp_ms']:.0f} ms  TBT {figures[f'{page}_tbt_ms']:.0f} ms  CLS {figures[f'{page}_cls']}"
              f"  (scores {figures[f'{page}_scores']})")
    print(f"  launcher costs {-figures['score_delta']:.0f} points and {figures['lcp_delta_ms']:.0f} ms of LCP "
          f"(target: 0 points, < 25 ms); render-blocking from the widget: {figures['render_blocking_with'] or 'none'};"
          f" widget requests before the load event: {figures['widget_requests_before_load'] or 'none'}"
          f" (after: {figures['widget_requests_with']}); launcher markup adds {figures['launcher_html_gzip_bytes']} B"
          f" gzipped to the page; load average {figures['load_average']}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
