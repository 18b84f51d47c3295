"""The storefront widget in real headless Chromium, on the development storefront."""
import re

import pytest

pytestmark = pytest.mark.e2e


def test_member_opens_panel_redeems_and_sees_the_code(page, artifacts):
    page.goto("/dev/storefront?customer=1001")
    launcher = page.locator("[data-lty-open]")
    # First paint from the metafield-equivalent markup, before any request to the proxy.
    assert page.locator("[data-lty-balance]").inner_text() == "1244"
    assert page.locator("[data-lty-panel]").is_hidden()

    with page.expect_response(re.compile(r"/apps/loyalty/me")):
        launcher.click()
    panel = page.locator("[data-lty-panel]")
    assert panel.is_visible() and launcher.get_attribute("aria-expanded") == "true"
    assert page.locator("[data-lty-me-balance]").inner_text() == "1244 points"
    assert "Silver" in page.locator(".lty-tier").inner_text()
    assert "356 more to Gold" in panel.inner_text()
    assert page.evaluate("document.activeElement.hasAttribute('data-lty-close')")

    page.screenshot(path=str(artifacts / "widget-open.png"))
    redeem = page.locator("[data-lty-redeem]").first
    with page.expect_response(re.compile(r"/apps/loyalty/redeem")) as response:
        redeem.click()
    assert response.value.status == 200
    code = page.locator("[data-lty-code]")
    code.wait_for()
    assert re.fullmatch(r"LOYAL-[A-Z2-9]{4}-[A-Z2-9]{4}", code.inner_text())
    assert page.locator("[data-lty-me-balance]").inner_text() == "744 points"
    assert page.locator("[data-lty-balance]").inner_text() == "744"
    apply = page.get_by_role("link", name="Apply at checkout")
    assert apply.get_attribute("href") == f"/discount/{code.inner_text()}?redirect=/cart"
    page.get_by_role("button", name="Copy code").click()
    assert page.evaluate("navigator.clipboard.readText()") == code.inner_text()
    page.screenshot(path=str(artifacts / "widget-redeemed.png"))

    page.keyboard.press("Escape")
    assert panel.is_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-lty-open')")


def test_focus_stays_in_the_open_panel(page):
    page.goto("/dev/storefront?customer=1002")
    page.locator("[data-lty-open]").click()
    page.locator("[data-lty-me-balance]").wait_for()
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('[data-lty-panel]')")


def test_unaffordable_rewards_cannot_be_redeemed(page):
    page.goto("/dev/storefront?customer=1002")  # 360 points; the cheapest reward costs 500
    page.locator("[data-lty-open]").click()
    page.locator("[data-lty-me-balance]").wait_for()
    buttons = page.locator("[data-lty-redeem]")
    assert buttons.count() == 3 and all(buttons.nth(i).is_disabled() for i in range(3))


def test_guest_sees_the_join_prompt(page):
    page.goto("/dev/storefront")
    assert page.locator("[data-lty-balance]").count() == 0
    page.locator("[data-lty-open]").click()
    join = page.get_by_role("link", name="Join")
    join.wait_for()
    assert join.get_attribute("href") == "/account/register"
    assert page.get_by_role("link", name="Sign in").get_attribute("href") == "/account/login"
    assert page.locator("[data-lty-redeem]").count() == 0


def test_norwegian_shopper(page):
    page.goto("/dev/storefront?customer=1001&lang=nb")
    assert page.locator(".lty-launcher__label").inner_text() == "Fordeler"
    page.locator("[data-lty-open]").click()
    page.locator("[data-lty-me-balance]").wait_for()
    text = page.locator("[data-lty-panel]").inner_text()
    assert "1244 poeng" in text and "Belønninger" in text and "Løs inn" in text and "Slik tjener du poeng" in text
