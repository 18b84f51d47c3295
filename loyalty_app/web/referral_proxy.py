"""The referral landing page on the storefront (``/apps/loyalty/r/<code>``) and the friend's code behind it.

The page is answered as ``application/liquid``, so Shopify renders it inside the shop's theme. It
carries every shipped language and lets Liquid pick the storefront's (``request.locale``). Shopify's
app proxy forwards no cookies, so the page's small script keeps the code itself: a cookie, and a
cart attribute set through ``/cart/update.js`` that Shopify copies to the order's ``note_attributes``.
It then asks ``POST …/r/<code>/reward`` for the friend's code with a visitor id it keeps in a cookie,
so reloading the page shows the same code instead of making another.

Nothing from the request is written into the Liquid except the code, which must match
``CODE_PATTERN`` first (a request value inside a Liquid response would run as Liquid).
"""
from __future__ import annotations

import functools
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Response, current_app, g, jsonify, request
from markupsafe import escape

from ..connections import client_for
from ..extensions import db
from ..program.referrals import CART_ATTRIBUTE
from ..services import referrals
from ..services.shops import program_settings
from ..shopify.discounts import create_code, find_code
from .errors import json_error
from .proxy import bp, signed

LANGUAGES = ("en", "nb", "sv", "da")
LOCALES = Path(__file__).resolve().parent / "referral_locales"
LIQUID = "application/liquid; charset=utf-8"
_PREFIX = re.compile(r"^/(?:apps|a|community|tools)/[A-Za-z0-9_-]{1,100}$")
_VISITOR = re.compile(referrals.VISITOR_PATTERN)


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """One language's strings; none may hold Liquid's delimiters, since the page is rendered as Liquid."""
    catalog: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    for key, text in catalog.items():
        if "{{" in text or "{%" in text:
            raise ValueError(f"referral string {lang}.{key} holds a Liquid delimiter")
    return catalog


def _offer(lang: str, kind: str, value: Decimal, currency: str) -> str:
    return strings(lang)[f"offer_{kind}"].format(value=format(value.normalize(), "f"), currency=currency)


def _landing_block(lang: str, code: str, reward_url: str, offer: str) -> str:
    """The page in one language: the offer, a live status line, and the strings the script shows."""
    text = strings(lang)
    script_strings = json.dumps({key: text[key] for key in ("loading", "failed", "own_link", "too_many")},
                                ensure_ascii=True).replace("<", "\\u003c")
    return (f'<div class="page-width loyalty-referral" id="loyalty-referral" data-code="{escape(code)}" '
            f'data-reward-url="{escape(reward_url)}" data-cart-attribute="{CART_ATTRIBUTE}">'
            f'<h1>{escape(text["heading"])}</h1><p>{escape(offer)}</p>'
            f'<p role="status" data-referral-status>{escape(text["loading"])}</p>'
            f'<p hidden data-referral-result>{escape(text["your_code"])}: <strong data-referral-code></strong><br>'
            f'{escape(text["applies"])}</p>'
            f'<p><a class="button" href="{{{{ routes.all_products_collection_url }}}}" data-referral-shop>'
            f'{escape(text["shop_now"])}</a></p>'
            f'<script type="application/json" data-referral-strings>{script_strings}</script></div>')


def _unknown_block(lang: str) -> str:
    text = strings(lang)
    return (f'<div class="page-width loyalty-referral" id="loyalty-referral-unknown">'
            f'<h1>{escape(text["unknown_heading"])}</h1><p>{escape(text["unknown_body"])}</p>'
            f'<p><a class="button" href="{{{{ routes.root_url }}}}">{escape(text["shop_now"])}</a></p></div>')


def _in_every_language(block: Any) -> str:
    """Liquid that shows the storefront's language (English for any language we do not ship)."""
    cases = "".join(f"{{% when '{lang}' %}}{block(lang)}" for lang in LANGUAGES if lang != "en")
    return f"{{% case request.locale.iso_code %}}{cases}{{% else %}}{block('en')}{{% endcase %}}"


SCRIPT = """<script>
(function () {
  var root = document.getElementById("loyalty-referral");
  if (!root) return;
  var code = root.getAttribute("data-code"), text = JSON.parse(root.querySelector("[data-referral-strings]").textContent);
  var status = root.querySelector("[data-referral-status]"), year = 31536000;
  function cookie(name) { var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([A-Za-z0-9_-]{16,64})")); return m && m[1]; }
  document.cookie = "loyalty_referral=" + code + ";path=/;max-age=2592000;samesite=lax";
  var visitor = cookie("loyalty_visitor");
  if (!visitor) {
    var bytes = new Uint8Array(16); crypto.getRandomValues(bytes);
    visitor = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  document.cookie = "loyalty_visitor=" + visitor + ";path=/;max-age=" + year + ";samesite=lax";
  var attributes = {}; attributes[root.getAttribute("data-cart-attribute")] = code;
  fetch("/cart/update.js", {method: "POST", headers: {"Content-Type": "application/json"},
                            body: JSON.stringify({attributes: attributes})});
  fetch(root.getAttribute("data-reward-url"), {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({visitor: visitor})})
    .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
    .then(function (answer) {
      if (!answer[0]) { status.textContent = text[answer[1].error] || text.failed; return; }
      var reward = answer[1];
      root.querySelector("[data-referral-code]").textContent = reward.code;
      root.querySelector("[data-referral-result]").hidden = false;
      status.textContent = "";
      var shop = root.querySelector("[data-referral-shop]");
      shop.href = "/discount/" + encodeURIComponent(reward.code) + "?redirect=" + encodeURIComponent(shop.getAttribute("href"));
    })
    .catch(function () { status.textContent = text.failed; });
})();
</script>"""


def _liquid(body: str, status: int) -> Response:
    return Response(body, status=status, content_type=LIQUID, headers={"Cache-Control": "no-store"})


@bp.get("/r/<string(maxlength=64):code>")
@signed
def referral_landing(code: str) -> Response:
    """The friend's landing page: the offer, with the code remembered; an unknown code gets a friendly page."""
    session = db.session()  # type: ignore[misc]
    found = referrals.find_code(session, g.shop, code)
    if found is None:
        return _liquid(_in_every_language(_unknown_block), 404)
    prefix = request.args.get("path_prefix", "/apps/loyalty")
    prefix = prefix if _PREFIX.match(prefix) else "/apps/loyalty"
    settings = program_settings(g.shop)
    reward_url = f"{prefix}/r/{found.code}/reward"
    page = _in_every_language(lambda lang: _landing_block(
        lang, found.code, reward_url,
        _offer(lang, settings.referral_friend_kind, settings.referral_friend_value, g.shop.currency)))
    return _liquid(page + SCRIPT, 200)


@bp.post("/r/<string(maxlength=64):code>/reward")
@signed
def referral_reward(code: str) -> Any:
    """The friend's single-use code: made once per visitor (or signed-in customer) and link, then shown again."""
    session = db.session()  # type: ignore[misc]
    found = referrals.find_code(session, g.shop, code)
    if found is None:
        return json_error("unknown_code", "no referral link with this code", 404)
    body = request.get_json(silent=True)
    visitor = body.get("visitor") if isinstance(body, dict) else None
    if g.customer_id is None and not (isinstance(visitor, str) and _VISITOR.match(visitor)):
        return json_error("bad_visitor", "visitor must be 16 to 64 letters, digits, - or _", 400)
    shop = g.shop
    try:
        friend = referrals.reserve_friend_code(session, shop, found, visitor, g.customer_id)
        session.commit()
        client = functools.partial(client_for, current_app, session, shop, max_retries=1, timeout=(3.0, 8.0))
        referrals.activate_friend_code(shop, friend, g.customer_id, lambda req: create_code(client(), req),
                                       lambda name: find_code(client(), name))
    except referrals.ReferralError as exc:
        session.commit()  # a failed attempt is kept, so the next visit asks Shopify for the same code
        status = {"self_referral": 409, "too_many": 429, "shopify_failed": 502, "bad_visitor": 400}[exc.reason]
        return json_error(exc.reason, str(exc), status)
    session.commit()
    return jsonify(code=friend.code, state=friend.state)
