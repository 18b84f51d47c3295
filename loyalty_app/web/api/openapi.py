"""``GET /admin/api/openapi.json``: the OpenAPI 3 description, built by apispec from the routes and their schemas."""
from __future__ import annotations

import re
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify
from marshmallow import Schema, fields

from ..converters import MAX_ID
from . import Operation, bp

_PATH_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


class ErrorSchema(Schema):
    """Every error answer: a stable code, a sentence, and for 422 the errors per field."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict()


_ERRORS = {
    "400": "The body is not what the route takes (not JSON, not an object).",
    "401": "No valid session token or API key.",
    "403": "Allowed to staff only.",
    "404": "No such object in this shop.",
    "422": "Invalid fields; nothing was changed.",
}
_OPTIONAL_ERRORS = {
    409: "The object is not in a state that allows this; nothing was changed.",
}
"""Statuses a route declares with ``route(errors=...)``: described only where they can happen."""


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _decimals_as_strings(_converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Document a Decimal written ``as_string`` as the string it is, its range kept as ``x-minimum``/``x-maximum``.

    apispec calls every Decimal a number and renders a Range's bounds through the field, so an
    ``as_string`` decimal got ``"maximum": "100"``: a string where OpenAPI requires a number, and a
    number type for an answer that is a string (schemathesis refused the document).
    """
    if not (isinstance(field, fields.Decimal) and field.as_string):
        return {}
    for bound in _BOUNDS:  # apispec merges what this returns; the bounds it set must go, so ``ret`` is edited
        if bound in ret:
            ret[f"x-{bound}"] = str(ret.pop(bound))
    return {"type": "string", "format": "decimal"}  # null, where allowed, is ``nullable`` (OpenAPI 3.0)


def _plugin() -> MarshmallowPlugin:
    """apispec's marshmallow plugin with our rules (must be given to an APISpec before use)."""
    plugin = MarshmallowPlugin()
    original = plugin.init_spec

    def init_spec(spec: APISpec) -> None:
        original(spec)
        plugin.converter.add_attribute_function(_decimals_as_strings)  # type: ignore[union-attr]

    plugin.init_spec = init_spec  # type: ignore[method-assign]
    return plugin


def _parameters(rule: str) -> list[dict[str, Any]]:
    parameters = []
    for converter, name in _PATH_ARGUMENT.findall(rule):
        schema = ({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID} if converter == "id"
                  else {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _operation(op: Operation, rule: str) -> dict[str, Any]:
    described: dict[str, Any] = {"summary": op.summary, "security": [{"bearer": []}]}
    parameters = _parameters(rule)
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        schema: Any = op.body if op.consumes == "application/json" else {"type": "string"}
        described["requestBody"] = {"required": True, "content": {op.consumes: {"schema": schema}}}
    responses: dict[str, Any] = {}
    if op.status == 204:
        responses["204"] = {"description": "Done."}
    elif op.produces != "application/json":
        responses[str(op.status)] = {"description": op.summary, "content": {op.produces: {"schema": {"type": "string"}}}}
    elif op.response is not None:
        schema = {"type": "array", "items": op.response} if op.many else op.response
        responses[str(op.status)] = {"description": op.summary, "content": {"application/json": {"schema": schema}}}
    else:
        responses[str(op.status)] = {"description": op.summary,
                                     "content": {"application/json": {"schema": {"type": "object"}}}}
    for status, description in _ERRORS.items():
        responses[status] = {"description": description, "content": {"application/json": {"schema": ErrorSchema}}}
    for code in op.errors:
        responses[str(code)] = {"description": _OPTIONAL_ERRORS[code],
                                "content": {"application/json": {"schema": ErrorSchema}}}
    described["responses"] = responses
    return described


@cache
def _document(app: Flask) -> dict[str, Any]:
    spec = APISpec(title="Loyalty admin API", version="1", openapi_version="3.0.3", plugins=[_plugin()],
                   info={"description": "The program, members, analytics, imports and exports of one shop. "
                                        "Authenticate with an App Bridge session token or an API key "
                                        "(`Authorization: Bearer lyk_…`)."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        operation = getattr(app.view_functions.get(rule.endpoint), "operation", None)
        if operation is None or not rule.endpoint.startswith("api."):
            continue
        path = _PATH_ARGUMENT.sub(r"{\2}", rule.rule)
        paths.setdefault(path, {})[operation.method.lower()] = _operation(operation, rule.rule)
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_document():  # type: ignore[no-untyped-def]
    """The OpenAPI 3 description of every route under /admin/api (built once per app)."""
    return jsonify(_document(current_app._get_current_object()))  # type: ignore[attr-defined]
