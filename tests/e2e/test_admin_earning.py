"""In Chromium: the follow URLs and photo bonus saved from the Program page's rule forms (nested ``settings``),
the review secret replaced, and a member's birthday set, refused when it does not exist, and cleared."""
from __future__ import annotations

from loyalty_app.demo import DEMO_CUSTOMERS


def _reload_after(admin, button) -> None:  # type: ignore[no-untyped-def]
    with admin.page.expect_navigation():
        button.click()
    admin.page.wait_for_selector("html[data-ready]")


def _save_rule_setting(admin, action: str, field: str, value: str) -> str:  # type: ignore[no-untyped-def]
    row = admin.page.locator(f'tr[data-action="{action}"]')
    row.locator("summary").click()
    row.locator(f'input[name="settings.{field}"]').fill(value)
    _reload_after(admin, row.locator('button[type="submit"]'))
    return admin.page.locator(f'tr[data-action="{action}"] input[name="settings.{field}"]').input_value()


def test_rule_settings_the_review_secret_and_a_birthday_from_the_admin(admin, artifacts):
    page = admin.page
    admin.open("/admin/program")
    saved = _save_rule_setting(admin, "social_follow", "follow_urls",
                               "https://instagram.com/demo, https://tiktok.com/@demo")
    assert saved == "https://instagram.com/demo, https://tiktok.com/@demo"
    assert _save_rule_setting(admin, "product_review", "photo_bonus", "15") == "15"
    assert page.locator('[data-change="action-update"]').count() == 2

    before = page.locator("[data-review-secret-value]").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    _reload_after(admin, page.locator('[data-api="POST /admin/api/review-secret/rotate"]'))
    after = page.locator("[data-review-secret-value]").inner_text()
    assert len(after) == 64 and after != before
    page.locator("#reviews").screenshot(path=str(artifacts / "program-reviews.png"))

    kari_id = DEMO_CUSTOMERS[0][0]
    admin.open(f"/admin/members/{kari_id}")
    form = page.locator("form.birthday")
    form.locator('input[name="birthday"]').fill("02-30")
    form.locator('button[type="submit"]').click()
    page.locator('form.birthday [data-error-for="birthday"]').filter(has_text="MM-DD").wait_for()
    form.locator('input[name="birthday"]').fill("02-29")
    _reload_after(admin, form.locator('button[type="submit"]'))
    assert page.locator('form.birthday input[name="birthday"]').input_value() == "02-29"
    page.locator('form.birthday input[name="birthday"]').fill("")
    _reload_after(admin, page.locator('form.birthday button[type="submit"]'))
    assert page.locator('form.birthday input[name="birthday"]').input_value() == ""
