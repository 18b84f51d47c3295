"""The dashboard in a real Chromium: Home's last 30 days and the Analytics page with their server-drawn charts."""
from __future__ import annotations

from datetime import timedelta

from loyalty_app.models import utcnow


def see_dashboard(admin) -> None:  # type: ignore[no-untyped-def]
    """Open Home and Analytics as the demo shop's staff and check the figures and charts are drawn.

    The demo shop (``loyalty_app.demo``) has three members who got a signup bonus today, and
    four orders placed 27 to 30 days ago; the walkthrough may have added more, so the checks
    are lower bounds and shapes, not exact sums (those are in tests/admin/test_analytics*.py).
    """
    page = admin.page
    admin.open("/admin")
    chart = page.locator("[data-chart=home-points-chart] svg[role=img]")
    assert chart.locator("title").first.text_content() == "Points issued and redeemed per day"
    assert chart.locator("[data-series=issued] circle").count() == 30  # one point per day
    assert int(page.locator("[data-figure=members_active] strong").inner_text().replace(",", "")) >= 3
    assert int(page.locator("[data-figure=points_issued] strong").inner_text().replace(",", "")) > 0

    today = utcnow().date()
    since = (today - timedelta(days=59)).isoformat()
    admin.open("/admin/analytics", since=since, until=today.isoformat())
    points = page.locator("[data-chart=points-chart] svg[role=img]")
    assert points.get_attribute("aria-labelledby") == "points-chart-title points-chart-desc"
    assert points.locator("[data-series=issued] circle").count() == 60
    assert points.locator("[data-series=redeemed] circle").count() == 60
    aov = page.locator("[data-chart=aov-chart] svg[role=img]")
    assert aov.locator("[data-series=members] circle").count() >= 3  # days with members' orders
    assert page.locator("[data-chart=aov-chart] table tbody tr").count() == 60
    assert page.locator("tr[data-group=members] [data-aov]").inner_text().endswith("NOK")
    assert int(page.locator("[data-figure=members_enrolled] strong").inner_text().replace(",", "")) >= 3
    assert page.locator("[data-figure=liability] strong").inner_text().endswith("NOK")

    admin.open("/admin/analytics", since=today.isoformat(), until=(today - timedelta(days=1)).isoformat())
    assert page.locator("[data-error-for=since]").inner_text() == "Must not be later than until."
    assert page.locator("[data-chart=points-chart] [data-series=issued] circle").count() == 30  # the default period


def test_dashboard(admin, artifacts):  # type: ignore[no-untyped-def]
    see_dashboard(admin)
    admin.open("/admin")
    admin.page.screenshot(path=str(artifacts / "home.png"), full_page=True)
    admin.open("/admin/analytics", locale="nb")
    assert admin.page.locator("[data-chart=points-chart] svg title").first.text_content() == \
        "Poeng opptjent og innløst per dag"
    admin.page.screenshot(path=str(artifacts / "analytics.png"), full_page=True)
