"""Hypothesis against the three signature checks: no tampered input is ever accepted (#11).

Each property signs a random valid input, changes it in one random way, and requires the
check to refuse it; the untouched input must pass, so the property cannot hold vacuously.
"""
from __future__ import annotations

import time

import jwt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loyalty_app.security import ProxySignatureError, proxy_signature, verify_proxy, verify_webhook, webhook_hmac
from loyalty_app.shopify.oauth import SessionTokenError, decode_session_token

SECRET = "fuzz-secret-0123456789abcdef0123"
API_KEY = "fuzz-api-key"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(body=st.binary(max_size=2000), position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7),
       grow=st.binary(min_size=1, max_size=5))
def test_a_webhook_body_changed_anywhere_is_refused(body, position, bit, grow):
    header = webhook_hmac(SECRET, body)
    assert verify_webhook(body, header, [SECRET])
    if body:
        flipped = bytearray(body)
        flipped[position % len(body)] ^= 1 << bit
        assert not verify_webhook(bytes(flipped), header, [SECRET])
    assert not verify_webhook(body + grow, header, [SECRET])
    assert not verify_webhook(body[:-1], header, [SECRET]) or not body


@FUZZ
@given(body=st.binary(max_size=500), header=st.text(max_size=60))
def test_a_made_up_webhook_header_is_refused(body, header):
    assume(header != webhook_hmac(SECRET, body))
    assert not verify_webhook(body, header, [SECRET, None])


PARAM = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="&=#%+"),
                min_size=1, max_size=12)


@FUZZ
@given(extra=st.lists(st.tuples(PARAM, PARAM), max_size=5), victim=st.integers(min_value=0),
       change=st.sampled_from(["value", "drop", "add", "timestamp"]))
def test_an_app_proxy_query_changed_in_any_way_is_refused(extra, victim, change):
    now = int(time.time())
    params = [("shop", "demo.myshopify.com"), ("timestamp", str(now)), ("path_prefix", "/apps/loyalty"),
              ("logged_in_customer_id", "5"), *[(k, v) for k, v in extra if k not in {"shop", "timestamp", "signature"}]]
    signed = [*params, ("signature", proxy_signature(SECRET, params))]
    verify_proxy(signed, SECRET, max_age=300, now=now)
    index = victim % len(params)
    tampered = list(params)
    if change == "value":
        key, value = tampered[index]
        tampered[index] = (key, value + "x")
    elif change == "drop" and tampered[index][0] not in ("shop", "timestamp"):
        del tampered[index]
    elif change == "add":
        tampered.append(("logged_in_customer_id", "6"))
    else:
        tampered[1] = ("timestamp", str(now + 1))
    assume(sorted(tampered) != sorted(params))
    with pytest.raises(ProxySignatureError):
        verify_proxy([*tampered, ("signature", signed[-1][1])], SECRET, max_age=300, now=now)


def _token(**claims):  # type: ignore[no-untyped-def]
    now = int(time.time())
    body = {"iss": "https://demo.myshopify.com/admin", "dest": "https://demo.myshopify.com", "aud": API_KEY,
            "sub": "1", "exp": now + 60, "nbf": now - 1, "iat": now, "jti": "j", "sid": "s", **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@FUZZ
@given(position=st.integers(min_value=0), replacement=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
def test_a_session_token_changed_anywhere_is_refused(position, replacement):
    token = _token()
    assert decode_session_token(token, API_KEY, SECRET) == "demo.myshopify.com"
    index = position % len(token)
    assume(token[index] != "." and token[index] != replacement)
    tampered = token[:index] + replacement + token[index + 1:]
    try:
        shop = decode_session_token(tampered, API_KEY, SECRET)
    except SessionTokenError:
        return
    # base64url's last character can carry unused bits: a change there may decode to the same bytes
    assert jwt.api_jws.base64url_decode(tampered.split(".")[2]) == jwt.api_jws.base64url_decode(token.split(".")[2])
    assert tampered.split(".")[:2] == token.split(".")[:2] and shop == "demo.myshopify.com"


@FUZZ
@given(claims=st.fixed_dictionaries({}, optional={
    "iss": st.sampled_from(["https://evil.myshopify.com/admin", "https://demo.myshopify.com.evil.com/admin"]),
    "dest": st.sampled_from(["https://evil.myshopify.com", "http://evil.com", "demo.myshopify.com"]),
    "aud": st.text(max_size=10), "exp": st.integers(max_value=int(time.time()) - 11)}))
def test_a_session_token_is_accepted_only_with_consistent_claims(claims):
    """A wrong audience or an expired token never passes; a shop is returned only when iss and dest agree on it."""
    from urllib.parse import urlparse

    try:
        shop = decode_session_token(_token(**claims), API_KEY, SECRET)
    except SessionTokenError:
        assert claims
        return
    assert "aud" not in claims and "exp" not in claims
    dest = urlparse(claims.get("dest", "https://demo.myshopify.com")).hostname
    assert shop == dest == urlparse(claims.get("iss", "https://demo.myshopify.com/admin")).hostname
