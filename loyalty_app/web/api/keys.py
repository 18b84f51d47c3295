"""API keys: a merchant's own systems call this API with one; staff create and revoke them in the admin."""
from __future__ import annotations

from typing import Any

from flask import abort

from ...extensions import db
from ...schemas.keys import ApiKeyInputSchema, ApiKeySchema, NewApiKeySchema
from ...services.api_keys import create_key, list_keys, revoke_key
from ..admin_auth import current_principal, current_shop
from . import route


@route("/keys", "GET", summary="The shop's API keys (never their secrets)", response=ApiKeySchema, many=True,
       staff_only=True)
def list_api_keys() -> Any:
    """Every key, revoked ones too, so the list doubles as the audit trail."""
    return list_keys(db.session(), current_shop())  # type: ignore[misc]


@route("/keys", "POST", summary="Create an API key; the answer is the only time its secret is shown",
       body=ApiKeyInputSchema, response=NewApiKeySchema, status=201, staff_only=True)
def create_api_key(data: dict[str, Any]) -> Any:
    """Made by a person, named, and shown once."""
    new = create_key(db.session(), current_shop(), data["name"], current_principal().actor)  # type: ignore[misc]
    db.session.commit()  # type: ignore[union-attr]
    return new


@route("/keys/<id:key_id>", "DELETE", summary="Revoke an API key at once", status=204, staff_only=True)
def revoke_api_key(key_id: int) -> None:
    """Revoked keys stay listed; a second revoke changes nothing."""
    if revoke_key(db.session(), current_shop(), key_id) is None:  # type: ignore[misc]
        abort(404)
    db.session.commit()  # type: ignore[union-attr]

