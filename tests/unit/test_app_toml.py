"""shopify.app.toml subscribes exactly the topics the receiver handles, and declares scopes and the app proxy."""
import tomllib
from pathlib import Path

from loyalty_app.config import API_VERSION
from webhooks.handlers import HANDLERS

TOML = tomllib.loads((Path(__file__).resolve().parents[2] / "shopify.app.toml").read_text())


def test_every_handled_topic_is_subscribed_and_vice_versa():
    subscribed = set()
    for subscription in TOML["webhooks"]["subscriptions"]:
        assert subscription["uri"].endswith("/webhooks")
        subscribed |= set(subscription.get("topics", [])) | set(subscription.get("compliance_topics", []))
    assert subscribed == set(HANDLERS)


def test_compliance_topics_are_declared_as_such():
    compliance = {t for s in TOML["webhooks"]["subscriptions"] for t in s.get("compliance_topics", [])}
    assert compliance == {"customers/data_request", "customers/redact", "shop/redact"}


def test_scopes_proxy_and_extensions():
    scopes = set(TOML["access_scopes"]["scopes"].split(","))
    assert {"read_orders", "read_customers", "write_customers", "write_discounts"} <= scopes
    assert TOML["embedded"] is True
    assert TOML["webhooks"]["api_version"] == API_VERSION
    assert (TOML["app_proxy"]["prefix"], TOML["app_proxy"]["subpath"]) == ("apps", "loyalty")
    assert TOML["app_proxy"]["url"].endswith("/proxy")
    assert TOML["extension_directories"][0] == "storefront_extension"


def test_every_extension_is_listed_and_configured():
    """Each extensions/<name>/ with a shopify.extension.toml is listed, and every listed folder has one."""
    root = Path(__file__).resolve().parents[2]
    listed = TOML["extension_directories"]
    on_disk = sorted(str(p.parent.relative_to(root)) for p in root.glob("extensions/*/shopify.extension.toml"))
    assert on_disk and set(on_disk) <= set(listed)
    assert all((root / folder / "shopify.extension.toml").is_file() for folder in listed)
