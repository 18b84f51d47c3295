"""A fake Shopify Admin GraphQL endpoint on loopback, for processes that cannot use ``responses`` (gunicorn, rq).

Every request is validated against Shopify's published schema (``tests.fake_admin``) before it is
answered, and every answer is shaped by the request's own document, so the app cannot pass by
sending what Shopify would refuse. Discount codes are kept per shop (unique, as Shopify keeps
them); ``fault_rate`` makes that share of calls time out or answer 5xx, after or before doing the
work, as a real outage does.
"""
from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import graphql

from tests.fake_admin import admin_schema, operation_name, schema_errors, shaped

from .stack import free_port


class AdminServer:
    """``url_template`` is the SHOPIFY_ADMIN_URL to give the app; ``codes`` what Shopify holds now."""

    def __init__(self, fault_rate: float = 0.0, hang_seconds: float = 10.0, seed: int = 11) -> None:
        admin_schema()  # loaded once, before the first request waits on it
        self.port = free_port()
        self.url_template = f"http://127.0.0.1:{self.port}/admin/{{shop}}/{{version}}/graphql.json"
        self.fault_rate = fault_rate
        self.hang_seconds = hang_seconds
        self.codes: dict[str, str] = {}
        self.calls: dict[str, int] = {}
        self.faults = 0
        self.rejected: list[str] = []
        self.served: dict[str, Any] = {}
        """Operation name -> function of the variables giving the data (orders for reconciliation)."""
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._ids = iter(range(1, 10**9))
        self._server = _QuietServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _fault(self) -> str | None:
        with self._lock:
            if self.fault_rate and self._random.random() < self.fault_rate:
                self.faults += 1
                return self._random.choice(["hang-before", "hang-after", "500-before", "503-after"])
        return None

    def answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The data Shopify would send for a valid request, before shaping."""
        name = operation_name(query)
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1
            if name in self.served:
                return self.served[name](variables)  # type: ignore[no-any-return]
            if name in ("DiscountCodeBasicCreate", "DiscountCodeFreeShippingCreate"):
                root = "discountCodeBasicCreate" if name == "DiscountCodeBasicCreate" else "discountCodeFreeShippingCreate"
                given = variables["basicCodeDiscount" if name == "DiscountCodeBasicCreate" else "freeShippingCodeDiscount"]
                code = given["code"].upper()
                if code in self.codes:
                    return {root: {"codeDiscountNode": None, "userErrors": [
                        {"field": ["code"], "message": "Code must be unique.", "code": "TAKEN"}]}}
                self.codes[code] = f"gid://shopify/DiscountCodeNode/{next(self._ids)}"
                return {root: {"codeDiscountNode": {"id": self.codes[code]}, "userErrors": []}}
            if name == "DiscountCodeLookup":
                found = self.codes.get(variables["code"].upper())
                return {"codeDiscountNodeByCode": {"id": found} if found else None}
            if name == "DiscountCodeDeactivate":
                return {"discountCodeDeactivate": {"codeDiscountNode": {"id": variables.get("id")}, "userErrors": []}}
            if name == "DiscountUsage":
                return {"codeDiscountNode": {"codeDiscount": {"__typename": "DiscountCodeBasic", "asyncUsageCount": 0}}}
        root = _root_field(query)
        return {root: {"userErrors": [], "metafields": [], "node": None}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                query, variables = body["query"], body.get("variables") or {}
                problems = schema_errors(query, variables)
                if problems:
                    server.rejected.append(f"{operation_name(query)}: {problems}")
                    self._send(200, {"errors": [{"message": p} for p in problems]})
                    return
                fault = server._fault()
                if fault == "hang-before":
                    time.sleep(server.hang_seconds)
                    return self._send(504, {"errors": [{"message": "timeout"}]})
                if fault == "500-before":
                    return self._send(500, {"errors": [{"message": "Internal error"}]})
                data = shaped(query, variables, server.answer(query, variables))
                if fault == "hang-after":  # done in Shopify, but the answer never arrives in time
                    time.sleep(server.hang_seconds)
                if fault == "503-after":
                    return self._send(503, {"errors": [{"message": "Service unavailable"}]})
                self._send(200, {"data": data})

        return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a hung answer closed its socket: expected here, not worth a traceback."""


def _root_field(query: str) -> str:
    operation = graphql.get_operation_ast(graphql.parse(query))
    return operation.selection_set.selections[0].name.value  # type: ignore[union-attr,attr-defined]
