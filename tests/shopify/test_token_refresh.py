"""Refreshing an expiring offline token: once per expiry across workers, re-authorisation only on invalid_grant."""
import json
import threading
import time
from datetime import timedelta

import pytest
import requests
import responses

from loyalty_app.connections import client_for, token_endpoint
from loyalty_app.extensions import db
from loyalty_app.models import Shop, utcnow
from loyalty_app.services.connection import ReauthRequired, fresh_access_token
from loyalty_app.shopify.errors import GrantRefused, OAuthError, ShopifyUnavailable, TokenEndpointUnavailable

SHOP = "demo-shop.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
FRESH = {"access_token": "shpat_fresh", "expires_in": 3600, "refresh_token": "shprt_new",
         "refresh_token_expires_in": 7776000, "scope": "read_orders"}


def expire(app, session, shop, in_minutes=-1):
    """Give the shop a refresh token and an access token that expires ``in_minutes`` from now, committed."""
    box = app.extensions["token_box"]
    shop.refresh_token_encrypted = box.seal("shprt_old")
    shop.token_expires_at = utcnow() + timedelta(minutes=in_minutes)
    session.commit()
    return box


def stored(shop_id):
    """The shop as committed, read in a session of its own."""
    other = db.new_session()
    try:
        return other.get(Shop, shop_id)
    finally:
        other.close()


@responses.activate
def test_expiring_token_is_refreshed_once_and_the_new_pair_stored(app, session, shop):
    box = expire(app, session, shop, in_minutes=2)
    responses.post(TOKEN_URL, json=FRESH)

    assert fresh_access_token(session, shop, box, token_endpoint(app), db.new_session) == "shpat_fresh"
    sent = json.loads(responses.calls[0].request.body)
    assert (sent["grant_type"], sent["refresh_token"]) == ("refresh_token", "shprt_old")
    committed = stored(shop.id)
    assert box.open(committed.refresh_token_encrypted) == "shprt_new"
    assert committed.token_expires_at - utcnow() > timedelta(minutes=59)
    assert box.open(shop.refresh_token_encrypted) == "shprt_new"  # the caller's copy follows
    assert fresh_access_token(session, shop, box, token_endpoint(app), db.new_session) == "shpat_fresh"
    assert len(responses.calls) == 1


@responses.activate
def test_refused_refresh_marks_the_shop_even_when_the_caller_rolls_back(app, session, shop):
    box = expire(app, session, shop)
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant",
                                                "error_description": "Token has been expired or revoked."})
    caller_shop = session.get(Shop, shop.id)  # the caller is inside its own transaction, as a view or job is

    with pytest.raises(ReauthRequired):
        fresh_access_token(session, caller_shop, box, token_endpoint(app), db.new_session)
    session.rollback()  # what the redeem view does when the code cannot be created

    assert stored(shop.id).needs_reauth is True
    with pytest.raises(ReauthRequired):  # the next shopper click does not ask Shopify again
        fresh_access_token(session, session.get(Shop, shop.id), box, token_endpoint(app), db.new_session)
    assert len(responses.calls) == 1


@pytest.mark.parametrize("answer, raised", [
    ({"body": requests.exceptions.ConnectTimeout("timed out")}, TokenEndpointUnavailable),
    ({"body": requests.exceptions.ReadTimeout("timed out")}, TokenEndpointUnavailable),
    ({"status": 503, "body": "Service Unavailable"}, TokenEndpointUnavailable),
    ({"status": 500, "json": {"error": "server_error"}}, TokenEndpointUnavailable),
    ({"status": 429, "json": {"errors": "Exceeded"}}, TokenEndpointUnavailable),
    ({"status": 401, "json": {"error": "invalid_client"}}, OAuthError),
], ids=["connect-timeout", "read-timeout", "503", "500", "429", "invalid-client"])
@responses.activate
def test_only_invalid_grant_marks_the_shop(app, session, shop, answer, raised):
    box = expire(app, session, shop)
    responses.post(TOKEN_URL, **answer)
    caller_shop = session.get(Shop, shop.id)

    with pytest.raises(raised) as failure:
        fresh_access_token(session, caller_shop, box, token_endpoint(app), db.new_session)
    assert not isinstance(failure.value, (ReauthRequired, GrantRefused))
    if raised is TokenEndpointUnavailable:
        assert isinstance(failure.value, ShopifyUnavailable)  # jobs retry it later
    session.rollback()
    assert stored(shop.id).needs_reauth is False
    assert box.open(stored(shop.id).refresh_token_encrypted) == "shprt_old"  # kept for the next try


@responses.activate
def test_a_refused_refresh_fails_the_redemption_and_marks_the_shop(app, session, shop):
    """The shopper's click: the view rolls back after Shopify refused, and the mark survives."""
    box = expire(app, session, shop)
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with app.app_context():
        caller_shop = session.get(Shop, shop.id)
        with pytest.raises(ReauthRequired):
            client_for(app, session, caller_shop)
        session.rollback()
    assert stored(shop.id).needs_reauth is True


@pytest.mark.integration
@responses.activate
def test_two_workers_refreshing_at_once_make_one_token_request(pg_app):
    """Two threads find the token expiring; the shop-row lock lets one refresh and the other reuse its pair."""
    from loyalty_app.services.shops import install_shop

    with pg_app.app_context():
        setup = db.new_session()
        box = pg_app.extensions["token_box"]
        shop = install_shop(setup, SHOP, "shpat_old", box, refresh_token="shprt_old",
                            token_expires_at=utcnow() + timedelta(minutes=1))
        setup.commit()
        shop_id = shop.id
        setup.close()

    def slow_grant(request):
        time.sleep(0.5)  # long enough for the other thread to find the token expiring too
        return 200, {}, json.dumps(FRESH)

    responses.add_callback(responses.POST, TOKEN_URL, callback=slow_grant)
    both_read = threading.Barrier(2)
    tokens, errors = [], []

    def worker():
        try:
            with pg_app.app_context():
                session = db.new_session()
                try:
                    caller_shop = session.get(Shop, shop_id)
                    both_read.wait(5)  # both saw the old, expiring token before either refreshed
                    tokens.append(fresh_access_token(session, caller_shop, box, token_endpoint(pg_app),
                                                     db.new_session))
                    session.commit()
                finally:
                    session.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert tokens == ["shpat_fresh", "shpat_fresh"]
    assert len(responses.calls) == 1
    with pg_app.app_context():
        assert box.open(stored(shop_id).refresh_token_encrypted) == "shprt_new"
