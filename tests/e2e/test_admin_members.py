"""Members in a real Chromium without Shopify's CDN: find a member, adjust their points, exclude them.

``find_member`` and ``adjust_member`` are steps the admin walkthrough calls too; they read and
drive the page by its markup (names, data attributes), so they work in any of the four languages.
"""
from __future__ import annotations

import re
from typing import Any

from loyalty_app.demo import DEMO_CUSTOMERS


def _whole_number(text: str) -> int:
    """A number as the page writes it in any language (``1,040``, ``1 040``, ``1.040``, ``−5``) as an int."""
    digits = re.sub(r"[^\d]", "", text)
    return -int(digits) if text.strip().startswith(("-", "−")) else int(digits)


def find_member(admin: Any, query: str) -> list[dict[str, Any]]:
    """Search the Members page (``?query=``, as its search form sends it); the rows the merchant sees."""
    admin.open("/admin/members", query=query)
    found = []
    for row in admin.page.locator("tr[data-customer-id]").all():
        cells = row.locator("td").all_inner_texts()
        found.append({"customer_id": int(row.get_attribute("data-customer-id")), "name": cells[0].strip(),
                      "email": cells[1].strip(), "available": _whole_number(cells[3]), "tier": cells[5].strip()})
    return found


def adjust_member(admin: Any, customer_id: int, points: int, reason: str) -> int:
    """Adjust a member's points with the form on their page; returns the available balance the page then shows."""
    admin.open(f"/admin/members/{customer_id}")
    page = admin.page
    before = page.locator("tr[data-entry-id]").count()
    page.fill("form.adjustment [name=points]", str(points))
    page.fill("form.adjustment [name=reason]", reason)
    with page.expect_navigation():  # the page reloads once the API has taken the adjustment
        page.click("form.adjustment [type=submit]")
    page.wait_for_selector("html[data-ready]")
    assert page.locator("tr[data-entry-id]").count() in (before + 1, 50), "the adjustment is not in the history"
    return _whole_number(page.locator("[data-figure=available] strong").inner_text())


def test_a_merchant_finds_kari_adjusts_her_points_and_excludes_her(admin, artifacts):
    kari_id, kari_email, kari_first, kari_last, _ = DEMO_CUSTOMERS[0]
    everyone = find_member(admin, "")
    assert [m["customer_id"] for m in everyone] == [c[0] for c in reversed(DEMO_CUSTOMERS)]

    found = find_member(admin, kari_first.lower())
    assert [(m["customer_id"], m["name"], m["email"]) for m in found] == [(kari_id, f"{kari_first} {kari_last}",
                                                                           kari_email)]
    before = found[0]["available"]
    assert find_member(admin, str(DEMO_CUSTOMERS[1][0]))[0]["name"] == "Lars Svensson"
    admin.open("/admin/members", locale="nb")
    assert admin.page.locator("s-section[heading='Alle medlemmer, nyeste først'] tbody tr").count() == len(DEMO_CUSTOMERS)
    assert admin.page.locator("tr[data-customer-id]").first.locator("td").nth(3).inner_text() == "100"
    admin.page.screenshot(path=str(artifacts / "members.png"), full_page=True)

    assert adjust_member(admin, kari_id, 250, "Sorry about the late parcel") == before + 250
    assert adjust_member(admin, kari_id, -50, "Points given twice by mistake") == before + 200
    page = admin.page
    newest = page.locator("tr[data-entry-id]").first.locator("td").all_inner_texts()
    assert newest[1:5] == ["Adjustment", "−50", "Available", "Points given twice by mistake"]
    assert newest[5] == "Staff member 1"

    # A double click posts once: both requests carry the key this render of the form was given.
    page.fill("form.adjustment [name=points]", "10")
    page.fill("form.adjustment [name=reason]", "Double click")
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.method) if "/adjustments" in request.url else None)
    with page.expect_navigation():
        page.dblclick("form.adjustment [type=submit]")
    assert posted == ["POST", "POST"]
    admin.open(f"/admin/members/{kari_id}")
    assert page.locator("tr[data-entry-id]", has_text="Double click").count() == 1
    assert _whole_number(page.locator("[data-figure=available] strong").inner_text()) == before + 210

    # Taking more than she has is refused where the merchant typed it, and nothing changes.
    page.fill("form.adjustment [name=points]", "-999999")
    page.fill("form.adjustment [name=reason]", "Too much")
    page.click("form.adjustment [type=submit]")
    page.wait_for_selector("[data-error-for=points]:has-text('points available')")
    assert page.locator(".notice-error").is_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("button[data-api$='/excluded']")
    page.wait_for_selector("html[data-ready]")
    assert page.locator("[data-excluded]").inner_text() == "Excluded"
    assert page.locator("button[data-api$='/excluded']").inner_text() == "Include in the program again"
    page.screenshot(path=str(artifacts / "member.png"), full_page=True)
    assert find_member(admin, kari_first)[0]["available"] == before + 210
