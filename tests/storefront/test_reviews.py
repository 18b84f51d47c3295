"""``POST /hooks/reviews/<shop>``: signed by the shop's review secret, replay-safe, within the rule's limit."""
import json
import subprocess
from pathlib import Path

import pytest

from loyalty_app.extensions import db
from loyalty_app.models import EarningRule, LedgerEntry
from loyalty_app.services import reviews
from loyalty_app.services.shops import install_shop
from tests.conftest import SHOP_DOMAIN

URL = f"/hooks/reviews/{SHOP_DOMAIN}"


@pytest.fixture
def secret(app, session, shop):
    made = reviews.review_secret(shop, app.extensions["token_box"])
    session.commit()
    return made


def send(client, body, secret, *, url=URL, signature=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json",
            "X-Loyalty-Hmac-Sha256": signature if signature is not None else reviews.signature(secret, raw)}
    return client.post(url, data=raw, headers={**sent, **(headers or {})})


def review(review_id="r-1", customer_id=5, rating=5, has_media=False):
    return {"customer_id": customer_id, "review_id": review_id, "rating": rating, "has_media": has_media}


def review_entries(session):
    return session.query(LedgerEntry).filter_by(source="action:product_review").order_by(LedgerEntry.id).all()


def test_a_review_earns_the_rules_points_and_a_replay_changes_nothing(client, session, shop, secret):
    first = send(client, review(), secret)
    assert first.status_code == 200
    assert {k: first.json[k] for k in ("points", "balance", "state", "replayed")} == {
        "points": 25, "balance": 25, "state": "done", "replayed": False}
    replay = send(client, review(), secret)
    assert (replay.status_code, replay.json["entry_id"], replay.json["replayed"]) == (200, first.json["entry_id"], True)
    assert replay.json["balance"] == 25 and len(review_entries(session)) == 1


def test_media_adds_the_rules_photo_bonus(client, session, shop, secret):
    session.query(EarningRule).filter_by(action="product_review").update({"settings": {"photo_bonus": 15}})
    session.commit()
    assert send(client, review("r-1", has_media=True), secret).json["points"] == 40
    assert send(client, review("r-2", has_media=False), secret).json["points"] == 25
    entry = review_entries(session)[0]
    assert (entry.detail["photo_bonus"], entry.detail["rule_points"], entry.detail["review_id"]) == (15, 25, "r-1")


def test_a_member_over_the_limit_gets_409_and_nothing(client, session, shop, secret):
    session.query(EarningRule).filter_by(action="product_review").update(
        {"limit_kind": "per_period", "limit_count": 2, "period_days": 30})
    session.commit()
    answers = [send(client, review(f"r-{i}"), secret) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 409]
    assert answers[2].json["error"] == "limit_reached"
    assert len(review_entries(session)) == 2
    assert send(client, review("r-0"), secret).status_code == 200  # a replay of a credited one still answers it
    assert send(client, review("r-9", customer_id=6), secret).status_code == 200  # another customer has room


def test_a_review_id_credited_to_one_customer_earns_nothing_for_another(client, session, shop, secret):
    assert send(client, review("r_1", customer_id=5), secret).status_code == 200
    other = send(client, review("r_1", customer_id=6), secret)
    assert (other.status_code, other.json["error"]) == (409, "review_claimed")
    assert send(client, review("r-1", customer_id=6), secret).status_code == 200  # "_" is no LIKE wildcard here


@pytest.mark.parametrize("signature", ["", "00" * 32, "not hex at all", "ø" * 10])
def test_a_bad_signature_is_a_401(client, session, shop, secret, signature):
    response = send(client, review(), secret, signature=signature)
    assert (response.status_code, response.json["error"]) == (401, "bad_signature")
    assert review_entries(session) == []


def test_a_missing_signature_or_the_wrong_secret_is_a_401(client, session, shop, secret):
    raw = json.dumps(review()).encode()
    assert client.post(URL, data=raw, content_type="application/json").status_code == 401
    assert send(client, raw, "another-secret").status_code == 401


def test_a_rotated_secret_stops_the_old_one(app, client, session, shop, secret):
    new = reviews.rotate_secret(shop, app.extensions["token_box"])
    session.commit()
    assert new != secret
    assert send(client, review(), secret).status_code == 401
    assert send(client, review(), new).status_code == 200


def test_a_shop_that_never_made_a_secret_refuses_everything(client, session, shop):
    assert send(client, review(), "").status_code == 401


def test_an_unknown_or_uninstalled_shop_is_a_404(app, client, session, shop, secret):
    response = send(client, review(), secret, url="/hooks/reviews/nobody.myshopify.com")
    assert (response.status_code, response.json["error"]) == (404, "unknown_shop")
    assert send(client, review(), secret, url="/hooks/reviews/" + "x" * 300).status_code == 404
    from loyalty_app.models import utcnow
    shop.uninstalled_at = utcnow()
    session.commit()
    assert send(client, review(), secret).status_code == 404


def test_a_shop_without_a_review_rule_is_a_404(client, session, shop, secret):
    session.query(EarningRule).filter_by(action="product_review").update({"active": False})
    session.commit()
    response = send(client, review(), secret)
    assert (response.status_code, response.json["error"]) == (404, "action_inactive")


def test_another_shops_secret_does_not_sign_for_this_shop(app, client, session, shop, secret):
    other = install_shop(session, "other.myshopify.com", "t", app.extensions["token_box"])
    other_secret = reviews.review_secret(other, app.extensions["token_box"])
    session.commit()
    assert send(client, review(), other_secret).status_code == 401
    assert send(client, review(), other_secret, url="/hooks/reviews/other.myshopify.com").status_code == 200


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b"null", b'"text"'])
def test_malformed_json_is_a_400(client, session, shop, secret, raw):
    response = send(client, raw, secret)
    assert response.status_code == 400 and response.json["error"] in ("bad_json", "bad_request")


@pytest.mark.parametrize("change", [
    {"customer_id": 0}, {"customer_id": -5}, {"customer_id": 2**63}, {"customer_id": "5"}, {"customer_id": None},
    {"customer_id": 5.5}, {"review_id": 0}, {"review_id": 2**63}, {"review_id": ""}, {"review_id": "x" * 101},
    {"review_id": "has space"}, {"review_id": True}, {"review_id": ["r"]}, {"rating": 0}, {"rating": 6},
    {"rating": "5"}, {"rating": 4.5}, {"has_media": "yes"}, {"has_media": 1},
])
def test_out_of_range_or_wrong_type_fields_are_a_400(client, session, shop, secret, change):
    response = send(client, {**review(), **change}, secret)
    assert (response.status_code, response.json["error"]) == (400, "bad_request"), change
    assert review_entries(session) == []


@pytest.mark.parametrize("missing", ["customer_id", "review_id", "rating"])
def test_missing_fields_are_a_400(client, session, shop, secret, missing):
    body = review()
    del body[missing]
    assert send(client, body, secret).status_code == 400


def test_an_oversized_body_is_a_413_before_it_is_read(client, session, shop, secret):
    body = {**review(), "comment": "x" * 5000}
    response = send(client, body, secret)
    assert (response.status_code, response.json["error"]) == (413, "too_large")


def test_the_endpoint_is_rate_limited_per_shop(app, client, session, shop, secret):
    app.extensions["rate_limits"].review = __import__("limits").parse_many("3 per minute")
    answers = [send(client, review(f"r-{i}", customer_id=10 + i), secret).status_code for i in range(4)]
    assert answers == [200, 200, 200, 429]


def test_the_readmes_curl_example_signs_as_the_endpoint_verifies(client, session, shop, secret):
    """Run the README's own BODY= and SIG= lines (openssl) and send what they make: it is credited."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    lines = [line for line in readme.splitlines() if line.startswith(("BODY=", "SIG="))]
    assert len(lines) == 2 and "openssl dgst -sha256 -hmac" in lines[1]
    script = "\n".join(lines + ['printf "%s\\n%s" "$BODY" "$SIG"'])
    out = subprocess.run(["bash", "-c", script], env={"REVIEW_SECRET": secret, "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True).stdout
    body, digest = out.split("\n")
    assert digest == reviews.signature(secret, body.encode())
    response = send(client, body.encode(), secret, signature=digest)
    assert response.status_code == 200 and response.json["points"] == 25 and not response.json["replayed"]
