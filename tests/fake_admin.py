"""An honest stand-in for Shopify's Admin API at the network boundary (``responses``).

Every GraphQL request is checked against Shopify's published 2026-10 schema, its document
and its variables, before a canned answer goes back; a request Shopify would reject fails
the test instead of passing against a mock that accepts anything.
"""
from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import graphql
from graphql.execution.values import get_variable_values

from tests.helpers import SHARED

ADMIN_URL = "https://demo-shop.myshopify.com/admin/api/2026-10/graphql.json"


@cache
def admin_schema(version: str = "2026-10") -> graphql.GraphQLSchema:
    with gzip.open(SHARED / "admin-graphql" / f"admin_{version}.json.gz") as handle:
        data = json.load(handle)["data"]
    return graphql.build_client_schema(data, assume_valid=True)


def document_errors(query: str) -> list[str]:
    """Why Shopify would reject this document (empty when it would not)."""
    return [e.message for e in graphql.validate(admin_schema(), graphql.parse(query))]


def schema_errors(query: str, variables: dict[str, Any] | None = None) -> list[str]:
    """Why Shopify would reject this document with these variables (empty when it would not)."""
    schema = admin_schema()
    document = graphql.parse(query)
    errors = document_errors(query)
    if errors:
        return errors
    [operation] = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    coerced = get_variable_values(schema, operation.variable_definitions or [], variables or {})
    return [e.message for e in coerced] if isinstance(coerced, list) else []


def answer_errors(query: str, variables: dict[str, Any] | None, data: dict[str, Any]) -> list[str]:
    """Why Shopify could never send ``data`` for this request (empty when it could).

    The canned data is resolved through the document against the schema: a missing non-null
    field, a wrong type, an unknown ``__typename`` or a field the document did not ask for is a
    mock Shopify would never be.
    """
    result = graphql.execute_sync(admin_schema(), graphql.parse(query), root_value=data, variable_values=variables)
    problems = [e.message for e in result.errors or []]
    if not problems and result.data != data:
        problems.append(f"the answer has fields the document did not ask for: {data} != {result.data}")
    return problems


class FakeAdmin:
    """Queue answers for the Admin endpoint; every request is schema-checked and recorded."""

    def __init__(self, rsps: Any, url: str = ADMIN_URL) -> None:
        self.requests: list[dict[str, Any]] = []
        self._answers: list[Callable[[dict[str, Any]], tuple[int, dict[str, str], str]]] = []
        rsps.add_callback("POST", url, callback=self._respond)

    def _respond(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        problems = schema_errors(body["query"], body.get("variables"))
        assert problems == [], f"Shopify would reject this request: {problems}"
        self.requests.append(body)
        assert self._answers, "the app sent a request the test did not expect"
        status, headers, text = self._answers.pop(0)(body)
        data = json.loads(text).get("data")
        if status == 200 and data is not None:
            problems = answer_errors(body["query"], body.get("variables"), data)
            assert problems == [], f"Shopify would never answer this request so: {problems}"
        return status, headers, text

    def answer(self, data: dict[str, Any] | None = None, *, status: int = 200, errors: list[dict] | None = None,
               extensions: dict | None = None, raise_exc: Exception | None = None) -> FakeAdmin:
        def respond(_body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
            if raise_exc is not None:
                raise raise_exc
            payload: dict[str, Any] = {}
            if data is not None:
                payload["data"] = data
            if errors is not None:
                payload["errors"] = errors
            if extensions is not None:
                payload["extensions"] = extensions
            return status, {"Content-Type": "application/json"}, json.dumps(payload)

        self._answers.append(respond)
        return self


def throttled(available: float = 10, requested: float = 50, restore: float = 100) -> dict[str, Any]:
    """The body Shopify sends when the cost bucket is empty."""
    return {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                    "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": available,
                                                       "restoreRate": restore}}}}
