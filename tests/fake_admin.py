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

from tests.helpers import SHOPIFY_DATA

ADMIN_URL = "https://demo-shop.myshopify.com/admin/api/2026-10/graphql.json"


@cache
def admin_schema() -> graphql.GraphQLSchema:
    """Shopify's Admin GraphQL schema at the version the app pins (2026-10)."""
    with gzip.open(SHOPIFY_DATA / "admin-graphql" / "admin_2026-10.json.gz") as handle:
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


def operation_name(query: str) -> str:
    """The name of the document's one operation (our documents are all named)."""
    return graphql.get_operation_ast(graphql.parse(query)).name.value  # type: ignore[union-attr]


def shaped(query: str, variables: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as Shopify would return it for this document: only the fields it selects.

    Runs the document against the schema with ``data`` as the root, so an answer missing a
    non-null field the document selects fails the test, and a field it does not select never
    reaches the app. Abstract types are told by ``__typename`` in ``data``.
    """
    result = graphql.execute(admin_schema(), graphql.parse(query), root_value=data, variable_values=variables)
    assert not result.errors, f"Shopify could not answer this document with that data: {result.errors}"
    return result.data  # type: ignore[return-value]


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
    """Queue answers for the Admin endpoint; every request is schema-checked and recorded.

    ``serve`` answers every request for one operation from a function of its variables (checked
    against the document by ``shaped``); other requests take the queued answers in turn.
    """

    def __init__(self, rsps: Any, url: str = ADMIN_URL) -> None:
        self.requests: list[dict[str, Any]] = []
        self._answers: list[Callable[[dict[str, Any]], tuple[int, dict[str, str], str]]] = []
        self._served: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        rsps.add_callback("POST", url, callback=self._respond)

    def _respond(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        problems = schema_errors(body["query"], body.get("variables"))
        assert problems == [], f"Shopify would reject this request: {problems}"
        self.requests.append(body)
        name = operation_name(body["query"])
        if name in self._served:
            data = shaped(body["query"], body.get("variables"), self._served[name](body.get("variables") or {}))
            return 200, {"Content-Type": "application/json"}, json.dumps({"data": data})
        assert self._answers, "the app sent a request the test did not expect"
        status, headers, text = self._answers.pop(0)(body)
        data = json.loads(text).get("data")
        if status == 200 and data is not None:
            problems = answer_errors(body["query"], body.get("variables"), data)
            assert problems == [], f"Shopify would never answer this request so: {problems}"
        return status, headers, text

    def serve(self, operation: str, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> FakeAdmin:
        """Answer every ``operation`` request with ``answer(variables)``, shaped by its document."""
        self._served[operation] = answer
        return self

    def sent(self, operation: str) -> list[dict[str, Any]]:
        """The variables of every ``operation`` request, in order."""
        return [r.get("variables") or {} for r in self.requests if operation_name(r["query"]) == operation]

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


MAX_QUERY_COST = 1000
"""Shopify refuses a single query whose requested cost passes 1,000 points, whatever the plan."""


def requested_cost(query: str) -> int:
    """The requested cost of a query by Shopify's published rules (shopify.dev, GraphQL Admin rate limits).

    A scalar or enum costs 0 and an object 1; a connection costs 2 plus ``first`` times one node;
    a list field with ``first`` costs ``first`` objects; an abstract type costs its dearest fragment.
    A fragment (named or inline) on the type it is spread in is just more fields of that type.
    Shopify's own calculator may differ by a few points; this keeps page sizes honest.
    """
    schema = admin_schema()
    document = graphql.parse(query)
    operation = graphql.get_operation_ast(document)
    assert operation is not None and operation.operation == graphql.OperationType.QUERY
    named_fragments = {d.name.value: d for d in document.definitions
                       if isinstance(d, graphql.FragmentDefinitionNode)}

    def first(field: graphql.FieldNode) -> int:
        for argument in field.arguments or ():
            if argument.name.value == "first" and isinstance(argument.value, graphql.IntValueNode):
                return int(argument.value.value)
        return 1

    def fragment_of(selection: graphql.SelectionNode) -> graphql.InlineFragmentNode | graphql.FragmentDefinitionNode:
        if isinstance(selection, graphql.FragmentSpreadNode):
            return named_fragments[selection.name.value]
        assert isinstance(selection, graphql.InlineFragmentNode)
        return selection

    def condition(fragment: graphql.InlineFragmentNode | graphql.FragmentDefinitionNode, parent: Any) -> Any:
        return schema.get_type(fragment.type_condition.name.value) if fragment.type_condition else parent

    def fields(selections: graphql.SelectionSetNode, parent: Any) -> list[graphql.FieldNode]:
        """The fields selected on ``parent`` itself, through fragments on that same type."""
        found: list[graphql.FieldNode] = []
        for selection in selections.selections:
            if isinstance(selection, graphql.FieldNode):
                found.append(selection)
            elif condition(fragment := fragment_of(selection), parent) is parent:
                found.extend(fields(fragment.selection_set, parent))
        return found

    def selection_cost(selections: graphql.SelectionSetNode | None, parent: Any) -> int:
        if selections is None:
            return 0
        total, fragments = 0, [0]
        for selection in selections.selections:
            if not isinstance(selection, graphql.FieldNode):
                fragment = fragment_of(selection)
                narrowed = condition(fragment, parent)
                if narrowed is parent:
                    total += selection_cost(fragment.selection_set, parent)
                else:  # one of an abstract type's possible types: only one applies to each object
                    fragments.append(selection_cost(fragment.selection_set, narrowed))
                continue
            if selection.name.value.startswith("__"):  # __typename: a meta field, free
                continue
            definition = parent.fields[selection.name.value]
            named = graphql.get_named_type(definition.type)
            if graphql.is_leaf_type(named):
                continue
            node = 1 + selection_cost(selection.selection_set, named)
            if named.name.endswith("Connection"):
                nodes = [s for s in fields(selection.selection_set, named)  # type: ignore[arg-type]
                         if s.name.value in ("nodes", "edges")]
                per_node = sum(1 + selection_cost(s.selection_set,
                                                  graphql.get_named_type(named.fields[s.name.value].type))
                               for s in nodes)
                total += 2 + first(selection) * per_node
            elif graphql.is_list_type(graphql.get_nullable_type(definition.type)):
                total += first(selection) * node
            else:
                total += node
        return total + max(fragments)

    return selection_cost(operation.selection_set, schema.query_type)
