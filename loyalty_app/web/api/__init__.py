"""The merchant's JSON API under ``/admin/api/``: what the embedded admin pages call, and the public headless API.

Every route is declared with ``route()``, which names its input and output schemas. The same
declaration validates the request (422 with field errors, nothing applied), serialises the
answer and describes the route in ``/admin/api/openapi.json``, so the documentation cannot
drift from the code. Every request is authenticated first (a staff session token or a shop's
API key) and every query is scoped to that shop: another shop's id answers 404.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, g, jsonify, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException

from ...extensions import db
from ..admin_auth import Unauthorised, authenticate_fetch, current_principal, current_shop

bp = Blueprint("api", __name__, url_prefix="/admin/api")
PREFIX = "/admin/api/"
Model = TypeVar("Model")


@dataclass(frozen=True)
class Operation:
    """What ``route()`` knows about one view, for validation and for the OpenAPI description."""

    method: str
    summary: str
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    many: bool
    status: int
    produces: str
    consumes: str
    staff_only: bool
    errors: tuple[int, ...] = ()


def route(rule: str, method: str, *, summary: str, body: type[Schema] | None = None,
          query: type[Schema] | None = None, response: type[Schema] | None = None, many: bool = False,
          status: int = 200, produces: str = "application/json", consumes: str = "application/json",
          staff_only: bool = False, errors: tuple[int, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view on ``bp``: its body arrives as ``data``, its query as ``params``, validated.

    A view returns a plain object (dumped with ``response``), None (204) or a ready Response.
    ``staff_only`` views refuse API keys (403): only a person in the admin manages keys.
    ``errors`` names the statuses this view answers with ``error()`` beyond the ones every route
    may answer (400, 401, 403, 404, 422), e.g. 409, so the OpenAPI document declares them.
    """
    operation = Operation(method.upper(), summary, body, query, response, many, status, produces, consumes, staff_only,
                          tuple(errors))

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handle(**path: Any) -> Any:
            if staff_only and not current_principal().is_staff:
                return error("forbidden", "only staff signed in to the Shopify admin may do this", 403)
            if body is not None:
                if consumes != "application/json":
                    path["data"] = request.get_data()
                else:
                    payload = request.get_json(silent=True)
                    if not isinstance(payload, dict):
                        return error("bad_request", "the body must be a JSON object", 400)
                    _refuse_nul(payload)
                    path["data"] = body().load(payload)
            if query is not None:
                arguments = request.args.to_dict()
                _refuse_nul(arguments)
                path["params"] = query().load(arguments)
            result = view(**path)
            if isinstance(result, Response):
                return result
            if result is None:
                return Response(status=204)
            return jsonify(response(many=many).dump(result) if response else result), status

        handle.operation = operation  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=handle, methods=[operation.method])
        return handle

    return register


def _refuse_nul(fields: dict[str, Any]) -> None:
    """422 for any field holding a NUL character anywhere inside it: PostgreSQL's text cannot store one.

    Checked before the schema so that no field type, present or future, lets one through to a
    database error (a 500); SQLite would store it, so the two would also disagree.
    """
    def holds_nul(value: Any) -> bool:
        if isinstance(value, str):
            return "\x00" in value
        if isinstance(value, dict):
            return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
        if isinstance(value, list):
            return any(holds_nul(item) for item in value)
        return False

    bad = {name: ["must not contain NUL characters"] for name, value in fields.items()
           if holds_nul(name) or holds_nul(value)}
    if bad:
        raise ValidationError(bad)


def error(code: str, message: str, status: int, **extra: Any) -> Response:
    """A JSON error answer: ``{"error": code, "message": …}`` plus any detail."""
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


def owned(model: type[Model], object_id: int) -> Model:
    """The row of ``model`` with this id if it belongs to the caller's shop; 404 otherwise (never 403)."""
    found = db.session().get(model, object_id)  # type: ignore[misc]
    if found is None or getattr(found, "shop_id") != current_shop().id:
        abort(404)
    return found


@bp.before_request
def _authenticate() -> Response | None:
    try:
        g.principal = authenticate_fetch(request)
    except Unauthorised as exc:
        return exc.response
    return None


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> Response:
    return error("invalid", "the request has invalid fields", 422, errors=exc.messages)


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    """Under /admin/api/ every error is JSON (an unmatched path or method too); elsewhere Flask's own page."""
    if not request.path.startswith(PREFIX):
        return exc
    response = error(exc.name.lower().replace(" ", "_"), exc.description or exc.name, exc.code or 500)
    for name, value in exc.get_headers():
        if name == "Allow":  # a 405 names the methods the route takes
            response.headers[name] = value
    return response


from . import activity, analytics, earning, keys, members, openapi, program, referrals, transfer, vitals  # noqa: E402,F401  (routes register on bp)
