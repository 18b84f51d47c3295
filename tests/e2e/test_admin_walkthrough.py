"""A merchant's first session in the embedded admin, in one real Chromium run (issue #10's walkthrough).

Signed in with a session token as Shopify's id-token flow provides it: the merchant changes the
earning rate, creates a tier after seeing its preview, creates a reward, finds a member and adjusts
their points, imports opening balances (check, apply, undo) and reads the dashboard with its chart.
Every page is saved as a screenshot in test-artifacts/walkthrough-*.png.
"""
from __future__ import annotations

from tests.e2e.test_admin_analytics import see_dashboard
from tests.e2e.test_admin_members import adjust_member, find_member
from tests.e2e.test_admin_program import change_earning_rate, create_reward, create_tier_with_preview
from tests.e2e.test_admin_transfer import import_csv_dry_run_apply_undo

PAGES = {"home": "/admin", "program": "/admin/program", "members": "/admin/members",
         "member": "/admin/members/1001", "analytics": "/admin/analytics", "transfer": "/admin/transfer",
         "activity": "/admin/activity"}


def test_a_merchant_runs_the_program_from_the_admin(admin, artifacts):
    page = admin.page

    change_earning_rate(admin, 2)
    assert page.locator('#earning-form input[name="points_per_unit"]').input_value() == "2"

    summary = create_tier_with_preview(admin, "Platinum", 5000, screenshot=artifacts / "walkthrough-tier-preview.png")
    assert summary.strip()  # the merchant saw who would move before it applied
    assert "Platinum" in page.locator("body").inner_text()

    create_reward(admin, "50 kr off", 400, kind="fixed_amount", value=50)
    assert "50 kr off" in page.locator("body").inner_text()

    [kari] = find_member(admin, "kari")
    balance = adjust_member(admin, kari["customer_id"], 250, "Welcome gift from the shop")
    assert balance == kari["available"] + 250

    imported = import_csv_dry_run_apply_undo(admin, "customer_id,email,points,note\n1002,,900,opening balance\n",
                                             artifacts=artifacts)
    assert imported["undone_at"] is not None

    see_dashboard(admin)
    for name, path in PAGES.items():
        admin.open(path)
        page.screenshot(path=str(artifacts / f"walkthrough-{name}.png"), full_page=True)
