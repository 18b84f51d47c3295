"""Signature helpers against the vectors published in Shopify's own libraries and docs."""
import json
from urllib.parse import parse_qsl

import pytest

from loyalty_app.security import (
    ProxySignatureError, proxy_message, proxy_signature, sanitize_shop_domain, verify_proxy, verify_webhook,
    webhook_hmac,
)
from tests.helpers import SHOPIFY_DATA

VECTORS = json.loads((SHOPIFY_DATA / "test-vectors.json").read_text())


@pytest.mark.parametrize("case", VECTORS["webhook_hmac"]["cases"], ids=lambda c: c["source"][:40])
def test_webhook_hmac_vectors(case):
    body = case["body"].encode()
    assert webhook_hmac(case["secret"], body) == case["expected_header"]
    assert verify_webhook(body, case["expected_header"], [case["secret"]])
    assert not verify_webhook(body + b" ", case["expected_header"], [case["secret"]])


def test_webhook_previous_secret_accepted_during_rotation():
    case = VECTORS["webhook_hmac"]["cases"][0]
    assert verify_webhook(case["body"].encode(), case["expected_header"], ["new-secret", case["secret"]])
    assert not verify_webhook(case["body"].encode(), case["expected_header"], ["new-secret", None])
    assert not verify_webhook(case["body"].encode(), None, [case["secret"]])


PROXY_CASES = [c for c in VECTORS["app_proxy_signature"]["cases"] if "query" in c]


@pytest.mark.parametrize("case", PROXY_CASES, ids=lambda c: c["source"][:40])
def test_app_proxy_vectors(case):
    params = parse_qsl(case["query"], keep_blank_values=True)
    assert proxy_message(params) == case["message"]
    assert proxy_signature(case["secret"], params) == case["expected_signature"]
    timestamp = int(dict(params)["timestamp"])
    verify_proxy(params, case["secret"], max_age=300, now=timestamp + 10)
    for bad in case.get("must_fail", []):
        with pytest.raises(ProxySignatureError):
            verify_proxy(parse_qsl(bad, keep_blank_values=True), case["secret"], max_age=300, now=timestamp)


def test_app_proxy_tampered_stale_and_repeated():
    params = [("shop", "s.myshopify.com"), ("logged_in_customer_id", "1"), ("path_prefix", "/apps/loyalty"),
              ("timestamp", "1000")]
    signed = params + [("signature", proxy_signature("k", params))]
    verify_proxy(signed, "k", max_age=300, now=1100)
    with pytest.raises(ProxySignatureError, match="does not match"):
        verify_proxy([("logged_in_customer_id", "2") if k == "logged_in_customer_id" else (k, v) for k, v in signed],
                     "k", max_age=300, now=1100)
    with pytest.raises(ProxySignatureError, match="too old"):
        verify_proxy(signed, "k", max_age=300, now=2000)
    with pytest.raises(ProxySignatureError, match="exactly once"):
        verify_proxy(signed + [("shop", "other.myshopify.com")], "k", max_age=300, now=1100)


DOMAINS = VECTORS["shop_domain_validation"]


@pytest.mark.parametrize(("raw", "expected"), sorted(DOMAINS["valid"].items()))
def test_valid_shop_domains(raw, expected):
    assert sanitize_shop_domain(raw) == expected


@pytest.mark.parametrize("raw", DOMAINS["invalid"] + ["evil.com", "x.myshopify.com.evil.com", "", None])
def test_invalid_shop_domains(raw):
    assert sanitize_shop_domain(raw) is None
