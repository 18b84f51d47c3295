"""The Program page: earning, tiers (with a preview before a change applies), rewards, ways to earn, campaigns,
settings and the history of changes, rendered with their data; every form posts to ``/admin/api``."""
from __future__ import annotations

from flask import g, render_template, request

from ...extensions import db
from ...program.actions import ACTIONS, LIMITS
from ...program.orders import REVERSE_ON
from ...program.settings import EARN_TRIGGERS, EARNING_MODES, ROUNDING_MODES, TIER_BASES, TIER_WINDOWS
from ...schemas.program import REWARD_KINDS, TierSchema
from ...services.program_admin import changed_fields, program_page
from ..reviews import shown_endpoint
from ..admin_auth import current_shop
from . import bp, page
from .i18n import LANGUAGES as WIDGET_LANGUAGES, catalog, translate


def translation_languages(shop_languages: tuple[str, ...], lang: str) -> list[tuple[str, str]]:
    """The languages a reward or tier name can be entered in, with their names in the admin's language: those the
    widget ships, then any other the shop lists in its ``languages`` setting."""
    codes = list(dict.fromkeys([*WIDGET_LANGUAGES, *shop_languages]))
    return [(code, translate(lang, f"program.language_{code}") if code in WIDGET_LANGUAGES else code) for code in codes]


@bp.get("/program")
@page
def program():  # type: ignore[no-untyped-def]
    """The whole program on one page; ``?cursor=`` pages back through the history."""
    cursor = request.args.get("cursor", "")
    shop = current_shop()
    review = shown_endpoint(shop)
    data = program_page(db.session(), shop, int(cursor) if cursor.isdigit() and len(cursor) < 19  # type: ignore[misc]
                        else None)
    return render_template("admin/program.html", program=data, changed_fields=changed_fields, known_strings=catalog("en"),
                           review=review, translation_languages=translation_languages(data.settings.languages, g.lang),
                           tiers_json=TierSchema(many=True).dump(data.tiers),
                           choices={"rounding": ROUNDING_MODES, "earn_on": EARN_TRIGGERS, "reverse_on": REVERSE_ON,
                                    "tier_basis": TIER_BASES, "tier_window": TIER_WINDOWS, "kind": REWARD_KINDS,
                                    "action": ACTIONS, "limit_kind": LIMITS,
                                    "birthday_source": ("metafield", "tag"), "earning_mode": EARNING_MODES})
