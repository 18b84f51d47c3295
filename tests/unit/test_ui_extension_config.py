"""The UI extensions' configuration: API version, targets, modules, capabilities, and complete translations."""
import json
import re
import tomllib
from pathlib import Path

import pytest

from loyalty_app.config import API_VERSION

ROOT = Path(__file__).resolve().parents[2] / "extensions"
TARGETS = {
    "customer-account-loyalty": "customer-account.page.render",
    "order-status-points": "customer-account.order-status.block.render",
    "thank-you-points": "purchase.thank-you.block.render",
    "pos-loyalty": "pos.customer-details.block.render",
}
LANGUAGES = ("en.default", "nb", "sv", "da")


def _keys(tree, prefix=""):
    """Every translation key, with plural forms (one/other) counted as one key."""
    if isinstance(tree, dict) and not set(tree) <= {"zero", "one", "two", "few", "many", "other"}:
        return {k for name, value in tree.items() for k in _keys(value, f"{prefix}{name}.")}
    return {prefix.rstrip(".")}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_extension_toml(name):
    config = tomllib.loads((ROOT / name / "shopify.extension.toml").read_text())
    assert config["api_version"] == API_VERSION
    (extension,) = config["extensions"]
    assert (extension["type"], extension["handle"]) == ("ui_extension", name)
    (targeting,) = extension["targeting"]  # a full-page target may not share its extension with another target
    assert targeting["target"] == TARGETS[name]
    assert (ROOT / name / targeting["module"]).is_file()
    if not name.startswith("pos-"):  # fetch() to our backend needs the capability outside POS
        assert extension["capabilities"]["network_access"] is True


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_language_has_every_string(name):
    locales = {lang: json.loads((ROOT / name / "locales" / f"{lang}.json").read_text()) for lang in LANGUAGES}
    english = _keys(locales["en.default"])
    for lang, strings in locales.items():
        assert _keys(strings) == english, lang


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_string_the_code_asks_for_is_shipped(name):
    """Each literal key in t('…') exists in English (keys built at run time are covered by the component tests)."""
    source = "".join(path.read_text() for path in (ROOT / name / "src").glob("*.jsx"))
    used = set(re.findall(r"""\bt\(\s*['"]([\w.]+)['"]""", source))
    assert used and used <= _keys(json.loads((ROOT / name / "locales" / "en.default.json").read_text()))
