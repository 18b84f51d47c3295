"""The admin's shell in a real Chromium without Shopify's CDN: it reads, navigates and signs its calls."""
from __future__ import annotations


def test_home_reads_without_the_cdn_and_calls_the_api_with_the_token(admin, artifacts):
    admin.open("/admin", locale="nb")
    page = admin.page
    assert page.locator("html.no-polaris").count() == 1
    assert page.locator(".fallback-nav a").first.inner_text() == "Hjem"
    assert page.locator("[data-figure=members] strong").inner_text().strip() != ""
    page.screenshot(path=str(artifacts / "admin-home.png"), full_page=True)
    answer = page.evaluate("LoyaltyAdmin.api('GET', '/admin/api/keys').then(r => r.status)")
    assert answer == 200
