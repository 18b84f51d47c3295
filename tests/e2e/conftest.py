"""A live development server (werkzeug, threaded) on SQLite with the demo shop, and headless Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from loyalty_app import create_app
from loyalty_app.demo import DEMO_SHOP, seed
from loyalty_app.extensions import db
from tests.conftest import BASE_CONFIG, SECRET
from tests.helpers import session_token

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app({**BASE_CONFIG, "LOYALTY_ENV": "development", "TESTING": False, "APP_URL": base,
                      "SHOPIFY_ADMIN_URL": base + "/dev/admin/{shop}/{version}/graphql.json",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.sqlite3'}", "AUTO_MIGRATE": True})
    with app.app_context():
        seed(db.session(), app.extensions["token_box"])
        db.session.commit()  # type: ignore[union-attr]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1100, "height": 800}, base_url=live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class AdminBrowser:
    """The embedded admin in Chromium as the demo shop's staff member 1, with Shopify's CDN unreachable.

    App Bridge and Polaris cannot load (as in any test), so this drives the pages' no-CDN
    fallback; each ``open`` carries a session token the way Shopify's id-token flow does.
    """

    def __init__(self, page, token: str) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.token = token

    def open(self, path: str = "/admin", **query: str) -> None:
        """Load an admin page as Shopify would (``shop``, ``host``, ``id_token``) and wait for its script."""
        params = {"shop": DEMO_SHOP, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtbw", "id_token": self.token, **query}
        self.page.goto(path + "?" + "&".join(f"{k}={v}" for k, v in params.items()))
        self.page.wait_for_selector("html[data-ready]")


@pytest.fixture
def admin(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=live_server)
    context.route("https://cdn.shopify.com/**", lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield AdminBrowser(page, session_token(SECRET, BASE_CONFIG["SHOPIFY_API_KEY"], DEMO_SHOP, lifetime=3600))
    context.close()
    assert errors == [], errors
