"""The Program page in Chromium without Shopify's CDN: change the earning rate, create a tier after seeing its
preview, create a reward. The step functions are shared with the admin walkthrough."""
from __future__ import annotations

from pathlib import Path


def _submit_and_wait_for_reload(admin, button) -> None:  # type: ignore[no-untyped-def]
    """Click a form's submit button and wait for the page to come back after the API accepted it."""
    with admin.page.expect_navigation():
        button.click()
    admin.page.wait_for_selector("html[data-ready]")


def change_earning_rate(admin, rate: str | int | float, locale: str = "en") -> None:  # type: ignore[no-untyped-def]
    """Open Program, set the points earned per unit of the shop's currency, save, and wait for the page to reload."""
    admin.open("/admin/program", locale=locale)
    form = admin.page.locator("#earning-form")
    form.locator('input[name="points_per_unit"]').fill(str(rate))
    _submit_and_wait_for_reload(admin, form.locator('button[type="submit"]'))


def create_tier_with_preview(admin, name: str, threshold: str | int, screenshot: Path | None = None,  # type: ignore[no-untyped-def]
                             locale: str = "en") -> str:
    """Fill in a new tier, preview who would move, then apply it; returns the preview's summary as shown.

    ``screenshot``: where to save the page while the preview is on screen, before applying.
    """
    admin.open("/admin/program", locale=locale)
    page = admin.page
    form = page.locator("#new-tier")
    form.locator('input[name="name"]').fill(name)
    form.locator('input[name="threshold"]').fill(str(threshold))
    form.locator('button[type="submit"]').click()
    summary = form.locator(".preview:not([hidden]) .preview-summary")
    summary.wait_for()
    text = summary.inner_text()
    if screenshot is not None:
        form.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot), full_page=True)
    _submit_and_wait_for_reload(admin, form.locator("[data-apply]"))
    return text


def create_reward(admin, name: str, cost: int, kind: str = "fixed_amount", value: str | int = 0,  # type: ignore[no-untyped-def]
                  locale: str = "en") -> None:
    """Open Program, fill in the new-reward form and create it; waits for the page to reload."""
    admin.open("/admin/program", locale=locale)
    page = admin.page
    page.locator("#new-reward-details > summary").click()
    form = page.locator("#new-reward")
    form.locator('input[name="name"]').fill(name)
    form.locator('select[name="kind"]').select_option(kind)
    form.locator('input[name="cost"]').fill(str(cost))
    form.locator('input[name="value"]').fill(str(value))
    _submit_and_wait_for_reload(admin, form.locator('button[type="submit"]'))


def test_merchant_changes_the_rate_creates_a_tier_after_its_preview_and_a_reward(admin, artifacts):
    page = admin.page
    change_earning_rate(admin, "2.5")
    assert page.locator('#earning-form input[name="points_per_unit"]').input_value() == "2.5"
    assert page.locator('[data-change="settings-update"]').count() == 1

    # A rate the program cannot take is refused in place, and nothing changes.
    form = page.locator("#earning-form")
    form.locator('input[name="points_per_unit"]').fill("5000")
    form.locator('button[type="submit"]').click()
    page.locator('#earning-form [data-error-for="points_per_unit"]').filter(has_text="1000").wait_for()
    assert page.locator(".notice-error").is_visible()

    # Kari has 1,144 points of progress (Silver); Lars 360 and Mette 100 (Bronze). Platinum at 1,000 takes Kari.
    summary = create_tier_with_preview(admin, "Platinum", 1000, screenshot=artifacts / "tier-preview.png")
    assert summary == "Members moving up: 1, moving down: 0, staying: 2."
    platinum = page.locator('tr[data-tier="Platinum"]')
    assert platinum.locator("td").nth(1).inner_text() == "1,000"
    assert platinum.locator("td").nth(4).inner_text() == "1"  # Kari was re-ranked when the tier was created
    assert page.locator('tr[data-tier="Silver"] td').nth(4).inner_text() == "0"

    create_reward(admin, "Tote bag", 900, "fixed_amount", 50)
    tote = page.locator('tr[data-reward="Tote bag"]')
    assert tote.locator("td").nth(2).inner_text() == "900" and "50.00 NOK" in tote.locator("td").nth(3).inner_text()
    history = page.locator("#history tbody tr")
    assert history.first.get_attribute("data-change") == "reward-create" and history.count() == 3
    page.screenshot(path=str(artifacts / "program.png"), full_page=True)


def test_the_program_page_reads_in_norwegian_and_previews_an_edit(admin, artifacts):
    admin.open("/admin/program", locale="nb")
    page = admin.page
    assert page.locator("#tiers").get_attribute("heading") == "Nivåer"
    silver = page.locator('tr[data-tier="Silver"]')
    silver.locator("summary").click()
    silver.locator('input[name="threshold"]').fill("1200")
    silver.locator('button[type="submit"]').click()
    summary = silver.locator(".preview:not([hidden]) .preview-summary")
    summary.wait_for()
    assert summary.inner_text() == "Medlemmer som går opp: 0, går ned: 1, blir der de er: 2."
    assert "Silver → Bronze: 1 (ned)" in silver.locator(".preview-moves").inner_text()


def test_the_merchant_turns_on_cashback_and_creates_a_store_credit_reward(admin, artifacts):
    admin.open("/admin/program", locale="nb")
    page = admin.page
    assert page.locator("#store-credit").get_attribute("heading") == "Butikkreditt"
    form = page.locator("#store-credit-form")
    form.locator('select[name="earning_mode"]').select_option("cashback")
    form.locator('input[name="cashback_percent"]').fill("3")
    form.locator('input[name="store_credit_expiry_days"]').fill("365")
    _submit_and_wait_for_reload(admin, form.locator('button[type="submit"]'))
    form = page.locator("#store-credit-form")
    assert form.locator('select[name="earning_mode"]').input_value() == "cashback"
    assert form.locator('input[name="cashback_percent"]').input_value() == "3"

    form.locator('input[name="cashback_percent"]').fill("2.555")  # the server refuses it in place
    form.locator('button[type="submit"]').click()
    page.locator('#store-credit-form [data-error-for="cashback_percent"]').filter(has_text="2").wait_for()

    create_reward(admin, "Butikkreditt 100", 1000, "store_credit", 100, locale="nb")
    reward = page.locator('tr[data-reward="Butikkreditt 100"]')
    assert reward.locator("td").nth(1).inner_text() == "Butikkreditt" and "100" in reward.locator("td").nth(3).inner_text()
    page.screenshot(path=str(artifacts / "program-store-credit.png"), full_page=True)
