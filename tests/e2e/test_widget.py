"""The storefront widget in real headless Chromium, on the development storefront."""
import json
import re
from pathlib import Path

import pytest

from loyalty_app.demo import DEMO_SHOP
from tests.conftest import BASE_CONFIG, SECRET
from tests.helpers import session_token

pytestmark = pytest.mark.e2e
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
PANEL = "[data-lty-panel]"


def open_panel(page, path="/dev/storefront?customer=1001"):
    """Load the page, open the launcher and wait for /me; returns /me's body."""
    page.goto(path)
    with page.expect_response(re.compile(r"/apps/loyalty/me")) as response:
        page.locator("[data-lty-open]").click()
    page.locator(f"{PANEL} .lty-section").first.wait_for()
    return response.value.json()


def intl(page, expression):
    """A value formatted by the browser's own Intl, which the widget must show."""
    return page.evaluate(expression)


def test_member_opens_panel_confirms_redeems_and_sees_the_code(page, artifacts):
    page.goto("/dev/storefront?customer=1001")
    launcher = page.locator("[data-lty-open]")
    # First paint from the metafield-equivalent markup, before any request to the proxy.
    assert page.locator("[data-lty-balance]").inner_text() == "1244"
    assert page.locator(PANEL).is_hidden()

    with page.expect_response(re.compile(r"/apps/loyalty/me")):
        launcher.click()
    panel = page.locator(PANEL)
    panel.wait_for()
    assert launcher.get_attribute("aria-expanded") == "true"
    assert page.locator("[data-lty-me-balance]").inner_text() == "1,244 points"
    assert "Silver" in page.locator(".lty-tier").inner_text()
    assert "356 more to Gold" in panel.inner_text()
    progress = page.get_by_role("progressbar", name="Progress to Gold")
    assert progress.get_attribute("aria-valuenow") == "64"  # (1144 - 500) / (1500 - 500)
    assert page.evaluate("document.activeElement.hasAttribute('data-lty-close')")
    page.screenshot(path=str(artifacts / "widget-open.png"))

    # Redeem asks first: nothing is spent until the shopper confirms.
    redeemed = []
    page.on("request", lambda request: redeemed.append(request.url) if "/apps/loyalty/redeem" in request.url else None)
    page.get_by_role("button", name="Redeem 5 off your order").click()
    assert "Spend 500 points on 5 off your order?" in panel.inner_text()
    assert page.evaluate("document.activeElement.hasAttribute('data-lty-confirm')")
    page.get_by_role("button", name="Cancel").click()
    assert redeemed == [] and page.locator("[data-lty-confirm]").count() == 0
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Redeem 5 off your order"

    page.get_by_role("button", name="Redeem 5 off your order").click()
    page.screenshot(path=str(artifacts / "widget-confirm.png"))
    with page.expect_response(re.compile(r"/apps/loyalty/redeem")) as response:
        page.get_by_role("button", name="Yes, redeem").click()
    assert response.value.status == 200
    code = page.locator("[data-lty-code]")
    code.wait_for()
    assert re.fullmatch(r"LOYAL-[A-Z2-9]{4}-[A-Z2-9]{4}", code.inner_text())
    assert page.locator("[data-lty-status]").inner_text() == f"Your code {code.inner_text()} is ready."
    assert page.locator("[data-lty-me-balance]").inner_text() == "744 points"
    assert page.locator("[data-lty-balance]").inner_text() == "744"
    apply = page.get_by_role("link", name="Apply at checkout")
    assert apply.get_attribute("href") == f"/discount/{code.inner_text()}?redirect=/cart"
    page.get_by_role("button", name="Copy code").click()
    assert page.evaluate("navigator.clipboard.readText()") == code.inner_text()
    page.screenshot(path=str(artifacts / "widget-redeemed.png"))
    issued = code.inner_text()

    page.keyboard.press("Escape")
    assert panel.is_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-lty-open')")

    # The code is still there after a reload: /me lists the active codes.
    open_panel(page)
    assert page.locator("[data-lty-code]").all_inner_texts() == [issued]


def test_only_status_messages_are_live_regions(page):
    open_panel(page)
    live = page.evaluate("""[...document.querySelectorAll('[aria-live],[role=status],[role=alert],[role=log]')]
                            .map((el) => el.hasAttribute('data-lty-status'))""")
    assert live == [True]


def test_focus_stays_in_the_open_panel(page):
    open_panel(page, "/dev/storefront?customer=1002")
    for _ in range(25):
        page.keyboard.press("Tab")
        assert page.evaluate("!!document.activeElement.closest('[data-lty-panel]')")


def test_escape_anywhere_and_a_click_outside_close_the_panel(page):
    open_panel(page)
    page.evaluate("document.activeElement.blur()")  # focus is on the page itself, not in the panel
    page.keyboard.press("Escape")
    assert page.locator(PANEL).is_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-lty-open')")

    page.locator("[data-lty-open]").click()
    page.locator(PANEL).wait_for()
    page.locator(PANEL).click(position={"x": 10, "y": 10})  # a click inside keeps it open
    assert page.locator(PANEL).is_visible()
    page.mouse.click(40, 300)
    assert page.locator(PANEL).is_hidden()
    assert page.locator("[data-lty-open]").get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.hasAttribute('data-lty-open')")


def test_unaffordable_rewards_name_themselves_and_say_what_is_missing(page):
    open_panel(page, "/dev/storefront?customer=1002")  # 360 points; the cheapest reward costs 500
    buttons = page.locator("[data-lty-redeem]")
    assert buttons.count() == 3 and all(buttons.nth(i).is_disabled() for i in range(3))
    labels = [buttons.nth(i).get_attribute("aria-label") for i in range(3)]
    assert labels == ["Redeem 5 off your order", "Redeem Free shipping", "Redeem 10% off your order"]
    assert page.locator(PANEL).get_by_text("140 more points needed").is_visible()
    # Disabled text keeps WCAG AA contrast (4.5:1) against its background.
    ratio = page.evaluate("""(() => {
      const b = document.querySelector('[data-lty-redeem]');
      const lum = (c) => { const [r, g, bl] = c.match(/\\d+/g).slice(0, 3).map((v) => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * bl; };
      const s = getComputedStyle(b); const [x, y] = [lum(s.color), lum(s.backgroundColor)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05); })()""")
    assert ratio >= 4.5, ratio


def test_guest_sees_the_join_prompt_with_the_themes_account_links(page):
    page.goto("/dev/storefront")
    assert page.locator("[data-lty-balance]").count() == 0
    page.locator("[data-lty-open]").click()
    join = page.get_by_role("link", name="Join")
    join.wait_for()
    root = page.locator("[data-lty]")
    assert join.get_attribute("href") == root.get_attribute("data-lty-register") == "/account/register"
    assert page.get_by_role("link", name="Sign in").get_attribute("href") == root.get_attribute("data-lty-login")
    assert page.locator("[data-lty-redeem]").count() == 0
    assert page.locator("[data-lty-birthday]").count() == 0


def test_ways_to_earn_show_only_what_can_be_credited_with_their_state(page):
    me = open_panel(page)
    shown = {w["action"]: w["state"] for w in me["ways_to_earn"]}
    assert shown["signup"] == "done" and "custom" not in shown
    rows = page.locator(".lty-section", has=page.get_by_role("heading", name="Ways to earn")).locator("li")
    assert rows.count() == len(me["ways_to_earn"])
    assert "Create an account" in rows.nth(1).inner_text() and "Done" in rows.nth(1).inner_text()
    order = intl(page, "new Intl.NumberFormat('en', {style: 'currency', currency: 'NOK'}).format(1)")
    assert rows.nth(0).inner_text() == f"Points for every {order} spent: 1"


def test_follow_and_newsletter_buttons_call_the_action_endpoint(page):
    sent = []

    def answer(route):
        sent.append((route.request.url.rsplit("/", 1)[1], json.loads(route.request.post_data)))
        if "newsletter" in route.request.url:
            route.fulfill(status=409, json={"error": "consent_required"})
        else:
            route.fulfill(status=200, json={"points": 25, "balance": 1269, "state": "done"})

    page.route("**/apps/loyalty/actions/*", answer)
    open_panel(page)
    page.get_by_role("button", name="Follow us (+25)").click()
    status = page.locator("[data-lty-status]")
    page.wait_for_function("document.querySelector('[data-lty-status]').textContent.includes('25')")
    assert status.inner_text() == "You earned 25 points."
    page.get_by_role("button", name="Claim +50").click()
    page.wait_for_function("document.querySelector('[data-lty-status]').textContent.includes('emails')")
    assert "Subscribe to our emails first" in status.inner_text()
    assert [name for name, _ in sent] == ["social_follow", "newsletter"]
    keys = [body["idempotency_key"] for _, body in sent]
    assert all(re.fullmatch(r"[\w-]{8,}", key) for key in keys) and len(set(keys)) == 2


def test_birthday_form_posts_month_and_day_and_explains_refusals(page):
    answers = iter([(400, {"error": "bad_request"}), (409, {"error": "birthday_locked"}),
                    (200, {"birthday": "03-07"})])
    sent = []

    def answer(route):
        sent.append(json.loads(route.request.post_data))
        status, body = next(answers)
        route.fulfill(status=status, json=body)

    page.route("**/apps/loyalty/birthday", answer)
    open_panel(page)
    form = page.locator("[data-lty-birthday]")
    assert form.get_by_role("group", name="Your birthday").is_visible()
    form.get_by_label("Month").select_option("2")
    form.get_by_label("Day").select_option("30")
    status = page.locator("[data-lty-status]")
    form.get_by_role("button", name="Save").click()
    page.wait_for_function("document.querySelector('[data-lty-status]').textContent.length > 0")
    assert status.inner_text() == "Please choose a date that exists."
    form.get_by_label("Month").select_option("3")
    form.get_by_label("Day").select_option("7")
    form.get_by_role("button", name="Save").click()
    page.wait_for_function("document.querySelector('[data-lty-status]').textContent.includes('already')")
    with page.expect_response(re.compile(r"/apps/loyalty/me")):
        page.locator("[data-lty-birthday]").get_by_role("button", name="Save").click()
    assert status.inner_text() == "Saved. We will celebrate with you!"
    assert sent == [{"birthday": "02-30"}, {"birthday": "03-07"}, {"birthday": "03-07"}]


def test_referral_link_copy_and_share(page):
    page.add_init_script("navigator.share = (data) => { window.__shared = data; return Promise.resolve(); };")
    me = open_panel(page)
    link = page.get_by_role("textbox", name="Refer a friend: your link")
    assert link.input_value() == me["referral_url"]
    assert me["referral_url"].startswith(f"https://{DEMO_SHOP}/apps/loyalty/r/")
    page.get_by_role("button", name="Copy link").click()
    assert page.evaluate("navigator.clipboard.readText()") == me["referral_url"]
    page.get_by_role("button", name="Share").click()
    assert page.evaluate("window.__shared") == {"url": me["referral_url"]}


def test_no_share_button_without_the_web_share_api(page):
    page.add_init_script("delete Navigator.prototype.share;")
    open_panel(page)
    assert page.get_by_role("button", name="Copy link").is_visible()
    assert page.get_by_role("button", name="Share").count() == 0


def test_activity_has_dates(page):
    me = open_panel(page)
    rows = page.locator(f"{PANEL} .lty-section").last.locator("li")
    assert rows.count() == len(me["activity"]) > 0
    first = intl(page, f"new Intl.DateTimeFormat('en', {{dateStyle: 'medium'}}).format(new Date('{me['activity'][0]['created_at']}'))")
    assert first in rows.nth(0).inner_text()


def test_norwegian_shopper_reads_money_numbers_dates_and_names_in_norwegian(page, live_server, artifacts):
    token = session_token(SECRET, BASE_CONFIG["SHOPIFY_API_KEY"], DEMO_SHOP, lifetime=600)
    headers = {"Authorization": f"Bearer {token}"}
    tiers = {t["name"]: t["id"] for t in page.request.get(live_server + "/admin/api/tiers", headers=headers).json()}
    for name, norwegian in (("Silver", "Sølv"), ("Gold", "Gull")):
        response = page.request.put(f"{live_server}/admin/api/tiers/{tiers[name]}", headers=headers,
                                    data={"translations": {"nb": norwegian}})
        assert response.ok, response.text()
    rewards = page.request.get(live_server + "/admin/api/rewards", headers=headers).json()
    fixed = next(r for r in rewards if r["kind"] == "fixed_amount")
    assert page.request.put(f"{live_server}/admin/api/rewards/{fixed['id']}", headers=headers,
                            data={"translations": {"nb": "Rabatt på bestillingen"}}).ok

    page.goto("/dev/storefront?customer=1001&lang=nb")
    assert page.locator(".lty-launcher__label").inner_text() == "Fordeler"
    me = open_panel(page, "/dev/storefront?customer=1001&lang=nb")
    text = page.locator(PANEL).inner_text()
    kroner = intl(page, "new Intl.NumberFormat('nb', {style: 'currency', currency: 'NOK'}).format(5)")
    assert "kr" in kroner and "5,00" in kroner
    assert f"{kroner} avslag" in text and "5 off" not in text  # a NOK shop reads kroner, not "5 off"
    assert "1\u00a0244 poeng" in text and "Belønninger" in text and "Slik tjener du poeng" in text
    assert "Nivå: Sølv" in text and "356 til Gull" in text and "Rabatt på bestillingen" in text
    assert page.get_by_role("button", name="Løs inn Rabatt på bestillingen").is_visible()
    assert page.get_by_role("progressbar", name="Fremgang mot Gull").is_visible()
    when = intl(page, f"new Intl.DateTimeFormat('nb', {{dateStyle: 'medium'}}).format(new Date('{me['activity'][0]['created_at']}'))")
    assert when in text
    page.screenshot(path=str(artifacts / "widget-nb.png"))


def clipped(page):
    """Elements of the open panel whose content overflows them or that stick out of the panel or the viewport."""
    return page.evaluate("""(() => {
      const panel = document.querySelector('[data-lty-panel]');
      const box = panel.getBoundingClientRect();
      const out = [];
      if (box.left < 0 || box.right > innerWidth + 1 || box.top < 0) out.push('panel outside the viewport');
      if (panel.scrollWidth > panel.clientWidth + 1) out.push('panel scrolls sideways');
      for (const el of panel.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (!r.width) continue;
        if (r.left < box.left - 1 || r.right > box.right + 1) out.push(el.outerHTML.slice(0, 80));
        const s = getComputedStyle(el);
        if (s.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'INPUT') out.push('clips ' + el.outerHTML.slice(0, 80));
      }
      return out;
    })()""")


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_nothing_clips_at_200_percent(browser, live_server, artifacts, lang):
    # Browser zoom at 200 % of a 1100 × 800 window: half the CSS viewport at twice the pixel density.
    context = browser.new_context(viewport={"width": 550, "height": 400}, device_scale_factor=2, base_url=live_server)
    page = context.new_page()
    try:
        open_panel(page, f"/dev/storefront?customer=1001&lang={lang}")
        assert clipped(page) == []
        page.screenshot(path=str(artifacts / f"widget-200-{lang}.png"))
        # Text alone at 200 % (the browser's text-size setting): every em in the widget doubles.
        page.set_viewport_size({"width": 1100, "height": 800})
        page.evaluate("document.body.style.fontSize = '32px'")
        assert clipped(page) == []
        page.get_by_role("button", name=re.compile("Redeem|Løs inn")).first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"widget-text-200-{lang}.png"))
    finally:
        context.close()


@pytest.mark.parametrize("customer", ["1001", "1002", ""])
def test_axe_finds_no_serious_or_critical_violation_in_the_open_panel(page, customer):
    open_panel(page, f"/dev/storefront?customer={customer}")
    if customer == "1001":  # the confirmation step is part of the panel too
        page.get_by_role("button", name="Redeem 5 off your order").click()
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document.querySelector('[data-lty]'), {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"], [n["html"][:80] for n in v["nodes"]]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_no_request_no_script_and_no_stylesheet_before_the_page_has_loaded(page):
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/dev/storefront?customer=1001")
    assert not [url for url in asked if "/apps/loyalty" in url]
    # Untouched, the launcher fetches its script 3 s after load and the panel's stylesheet when idle after that,
    # so the first open is instant.
    page.wait_for_function("[...document.styleSheets].some((s) => s.href && s.href.includes('loyalty.css'))")
    started = page.evaluate("""(() => { const load = performance.getEntriesByType('navigation')[0].loadEventStart;
      return performance.getEntriesByType('resource').filter((e) => e.name.includes('/loyalty.'))
        .map((e) => [e.name.split('/').pop(), e.startTime >= load]); })()""")
    assert sorted(started) == [["loyalty.css", True], ["loyalty.js", True]]
    assert not [url for url in asked if "/apps/loyalty" in url]


def test_a_click_before_the_script_arrived_opens_the_panel_once_it_does(page):
    held = []
    page.route("**/loyalty.js", lambda route: held.append(route))
    page.goto("/dev/storefront?customer=1001")
    assert page.locator("script[data-lty-js]").count() == 0  # not during the page's load
    page.locator("[data-lty-open]").hover()  # reaching for the launcher fetches the script
    page.wait_for_function("!!document.querySelector('script[data-lty-js]')")
    page.locator("[data-lty-open]").click()
    assert page.locator(PANEL).is_hidden() and len(held) == 1
    with page.expect_response(re.compile(r"/apps/loyalty/me")):
        held[0].continue_()
    page.locator(f"{PANEL} .lty-section").first.wait_for()
    assert page.locator("[data-lty-open]").get_attribute("aria-expanded") == "true"
    assert page.locator("script[data-lty-js]").count() == 1


def test_merchant_enters_a_norwegian_reward_name_on_the_program_page_and_the_shopper_reads_it(admin, browser,
                                                                                             live_server):
    admin.open("/admin/program")
    page = admin.page
    row = page.locator('tr[data-reward="Free shipping"]')
    row.locator("summary").click()
    form = row.locator("form")
    form.get_by_label("Name in Norwegian (optional)").fill("Gratis frakt")
    form.get_by_label("Name in Swedish (optional)").fill("Fri frakt")
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    page.wait_for_selector("html[data-ready]")
    row = page.locator('tr[data-reward="Free shipping"]')
    row.locator("summary").click()
    assert row.get_by_label("Name in Norwegian (optional)").input_value() == "Gratis frakt"

    shopper = browser.new_context(base_url=live_server).new_page()
    try:
        open_panel(shopper, "/dev/storefront?customer=1001&lang=nb")
        assert shopper.get_by_role("button", name="Løs inn Gratis frakt").is_visible()
        open_panel(shopper, "/dev/storefront?customer=1001&lang=da")  # no Danish name: the plain one
        assert shopper.get_by_role("button", name="Indløs Free shipping").is_visible()
    finally:
        shopper.context.close()


def test_the_panel_block_shows_the_panel_inline_without_a_launcher(page):
    with page.expect_response(re.compile(r"/apps/loyalty/me")):
        page.goto("/dev/storefront?customer=1001&mode=inline")
    panel = page.locator(PANEL)
    panel.locator(".lty-section").first.wait_for()
    assert page.locator("[data-lty-open]").count() == 0 and panel.get_attribute("role") is None
    assert page.locator("[data-lty-me-balance]").inner_text() == "1,244 points"
    page.wait_for_function("[...document.styleSheets].some((s) => s.href && s.href.includes('loyalty.css'))")
    page.keyboard.press("Escape")
    assert panel.is_visible()
