"""The theme extension's files: translated everywhere, small, and mirrored by the development storefront."""
import gzip
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "storefront_extension"
LANGUAGES = {"en.default": "en", "nb": "nb", "sv": "sv", "da": "da"}


def keys(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


@pytest.mark.parametrize("suffix", [".json", ".schema.json"])
def test_every_language_has_every_string(suffix):
    sets = {lang: set(keys(json.loads((EXTENSION / "locales" / f"{name}{suffix}").read_text())))
            for name, lang in LANGUAGES.items()}
    assert sets["en"] and all(found == sets["en"] for found in sets.values()), sets


def test_every_translation_key_the_snippet_uses_exists():
    used = set(re.findall(r"'(loyalty\.[\w.]+)' \| t", (EXTENSION / "snippets" / "loyalty-root.liquid").read_text()))
    english = set(keys(json.loads((EXTENSION / "locales" / "en.default.json").read_text())))
    assert used and used <= english


def test_assets_stay_small():
    size = sum(len(gzip.compress((EXTENSION / "assets" / name).read_bytes(), 9)) for name in ("loyalty.js", "loyalty.css"))
    assert size < 6 * 1024


def hooks(text):
    return set(re.findall(r"\b(data-lty[\w-]*\w)", text)) | set(re.findall(r"\b(lty-[\w-]*\w)(?![\w{-])", text))


def test_dev_storefront_mirrors_the_liquid_markup():
    liquid = hooks((EXTENSION / "snippets" / "loyalty-root.liquid").read_text()
                   + (EXTENSION / "blocks" / "loyalty-launcher.liquid").read_text())
    jinja = hooks((ROOT / "loyalty_app" / "web" / "templates" / "dev_storefront.html").read_text())
    assert liquid - jinja == set(), "the development storefront is missing hooks the theme extension renders"
    script = hooks((EXTENSION / "assets" / "loyalty.js").read_text())
    made_by_the_script = ("data-lty-me-balance", "data-lty-code", "data-lty-redeem", "data-lty-ready", "data-lty-confirm",
                          "data-lty-action", "data-lty-birthday")
    queried = {h for h in script if h.startswith("data-lty") and h not in made_by_the_script}
    assert queried <= liquid, "loyalty.js looks for hooks the Liquid snippet does not render"


def test_no_stylesheet_blocks_the_first_paint():
    """The blocks load no stylesheet themselves (loyalty.js adds it after load), the launcher's rules are inline
    and the launcher does not load its script during the page's load."""
    for block in ("loyalty-launcher.liquid", "loyalty-panel.liquid"):
        text = (EXTENSION / "blocks" / block).read_text()
        assert "stylesheet_tag" not in text and 'rel="stylesheet"' not in text and '"stylesheet"' not in text
    launcher = (EXTENSION / "blocks" / "loyalty-launcher.liquid").read_text()
    assert "<style>" in launcher and "<script src=" not in launcher and "addEventListener('load'" in launcher


def test_account_links_come_from_the_themes_routes():
    snippet = (EXTENSION / "snippets" / "loyalty-root.liquid").read_text()
    assert "routes.account_login_url" in snippet and "routes.account_register_url" in snippet
    assert "/account/login" not in (EXTENSION / "assets" / "loyalty.js").read_text()
