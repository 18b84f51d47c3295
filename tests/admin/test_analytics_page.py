"""The Analytics page and Home's last 30 days: figures rendered with the page, charts drawn as SVG on the server."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from loyalty_app.web.admin.charts import line_chart, nice_ceiling
from tests.admin.test_analytics import SINCE, TODAY, UNTIL, fill, fill_other_shop
from tests.conftest import SHOP_DOMAIN


@pytest.fixture
def filled(app, session, shop):  # type: ignore[no-untyped-def]
    fill(session, shop)
    fill_other_shop(app, session)
    session.commit()


def chart(html: str, name: str) -> str:
    """The markup of one chart's figure."""
    match = re.search(rf'<figure class="chart-figure" data-chart="{name}">(.*?)</figure>', html, re.S)
    assert match, f"no chart {name}"
    return re.sub(r"\s+", " ", match.group(1))


def circles(markup: str, series: str) -> int:
    group = re.search(rf'<g class="chart-series" data-series="{series}"[^>]*>(.*?)</g>', markup, re.S)
    assert group, f"no series {series}"
    return group.group(1).count("<circle ")


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}"><span>[^<]*</span><strong>([^<]*)</strong>', html).group(1)  # type: ignore[union-attr]


def page(client, staff_token, path: str, **query: str) -> str:  # type: ignore[no-untyped-def]
    params = "&".join(f"{k}={v}" for k, v in {"shop": SHOP_DOMAIN, "host": "abc", "id_token": staff_token(),
                                               **query}.items())
    response = client.get(f"{path}?{params}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_analytics_page_draws_both_charts_with_a_point_per_value(client, staff_token, filled):
    html = page(client, staff_token, "/admin/analytics", since=SINCE.isoformat(), until=UNTIL.isoformat())
    points = chart(html, "points-chart")
    assert 'role="img" aria-labelledby="points-chart-title points-chart-desc"' in points
    assert '<title id="points-chart-title">Points issued and redeemed per day</title>' in points
    assert "275 points issued and 120 redeemed" in points
    assert circles(points, "issued") == 8 and circles(points, "redeemed") == 8  # every day of the window
    assert points.count('<tr><th scope="row">') == 8  # the table of the same numbers
    aov = chart(html, "aov-chart")
    assert circles(aov, "members") == 3  # days with members' orders: 0, 2, 3
    assert circles(aov, "non_members") == 3  # days 3, 5, 6
    assert "<td class=\"num\">110.00</td><td class=\"num\">–</td>" in aov
    assert figure(html, "points_issued") == "275"
    assert figure(html, "members_enrolled") == "2"
    assert figure(html, "liability") == "2.60 USD"
    assert figure(html, "redemption_rate") == "43.6%"


def test_a_bad_period_is_shown_and_the_last_30_days_drawn(client, staff_token, filled):
    html = page(client, staff_token, "/admin/analytics", since=UNTIL.isoformat(), until=SINCE.isoformat())
    assert '<span data-error-for="since">Must not be later than until.</span>' in html
    assert circles(chart(html, "points-chart"), "issued") == 30


def test_the_page_speaks_the_merchants_language(client, staff_token, filled):
    html = page(client, staff_token, "/admin/analytics", locale="nb-NO", since=SINCE.isoformat(),
                until=UNTIL.isoformat())
    assert "Poeng opptjent og innløst per dag" in chart(html, "points-chart")
    assert figure(html, "redemption_rate") == "43,6 %"


def test_home_shows_the_last_30_days_with_a_small_chart(client, staff_token, filled):
    html = page(client, staff_token, "/admin")
    assert circles(chart(html, "home-points-chart"), "issued") == 30
    assert figure(html, "points_issued") == "435"  # every entry of the fixture is within 30 days
    assert figure(html, "members_active") == "3"  # m3 earned today


def test_the_chart_scales_to_a_round_top_and_breaks_at_days_without_a_value():
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(5)]
    drawn = line_chart(days, [("a", "A", [0, 130, None, 40, 5])], width=124, height=140, left=12, top=10,
                       right_pad=12, bottom_pad=30)
    assert [tick.value for tick in drawn.ticks] == [0, 50, 100, 150, 200]
    series = drawn.series[0]
    assert [(p.x, p.y) for p in series.points] == [(12, 110), (37, 45), (87, 90), (112, 107.5)]
    assert series.path == "M12.0,110.0 L37.0,45.0 M87.0,90.0 L112.0,107.5"
    assert [label.day.day for label in drawn.labels] == [1, 2, 3, 4, 5]
    assert drawn.rows[2] == (days[2], [None])


@pytest.mark.parametrize(("value", "step"), [("0", "1"), ("0.3", "0.5"), ("7", "10"), ("130", "200"), ("2.4", "2.5"),
                                              ("1000", "1000")])
def test_axis_steps_are_round(value, step):
    assert nice_ceiling(Decimal(value)) == Decimal(step)


def test_days_without_data_still_draw_a_flat_line():
    drawn = line_chart([TODAY], [("a", "A", [0])])
    assert len(drawn.series[0].points) == 1 and drawn.ticks[-1].value == 4
