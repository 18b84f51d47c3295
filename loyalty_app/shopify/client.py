"""The Admin GraphQL client every Shopify call goes through.

It sends with ``requests`` (ShopifyAPI's GraphQL helper uses urllib, which ``responses``
cannot intercept), retries network errors and 5xx with jittered backoff, waits for the
cost bucket to refill when throttled instead of hammering, reports a revoked token once
through ``on_revoked`` and raises typed errors (errors.py) for everything else.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import requests

from .documents import document
from .errors import GraphQLErrors, OutcomeUnknown, ShopifyError, ShopifyUnavailable, TokenRevoked, UserErrors

log = logging.getLogger(__name__)


def throttle_wait(cost: dict[str, Any] | None, default: float = 1.0) -> float:
    """Seconds until the bucket holds what the throttled query asked for."""
    try:
        status = cost["throttleStatus"]  # type: ignore[index]
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])  # type: ignore[index]
        return max(0.0, missing / float(status["restoreRate"])) + 0.05
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return default


class AdminClient:
    """One shop's Admin GraphQL API at a pinned version."""

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        *,
        api_version: str,
        url_template: str = "https://{shop}/admin/api/{version}/graphql.json",
        http: requests.Session | None = None,
        max_retries: int = 4,
        max_throttle_waits: int = 5,
        timeout: tuple[float, float] = (5.0, 20.0),
        on_revoked: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.shop_domain = shop_domain
        self.url = url_template.format(shop=shop_domain, version=api_version)
        self._token = access_token
        self._http = http or requests.Session()
        self._max_retries = max_retries
        self._max_throttle_waits = max_throttle_waits
        self._timeout = timeout
        self._on_revoked = on_revoked
        self._sleep = sleep

    def __repr__(self) -> str:  # never show the token
        return f"AdminClient({self.shop_domain!r}, {self.url!r})"

    def _backoff(self, attempt: int) -> float:
        return min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)

    def execute(self, name: str, variables: dict[str, Any] | None = None, *,
                at_most_once: bool = False) -> dict[str, Any]:
        """Run the named document and return its ``data``.

        ``at_most_once`` is for a mutation that must never run twice and that Shopify cannot
        deduplicate (``flowTriggerReceive``): only failures that prove Shopify never ran it are
        retried (no connection made, HTTP 429, a THROTTLED answer); a read timeout or a 5xx
        raises OutcomeUnknown at once instead of sending the request again.
        """
        payload = {"query": document(name), "variables": variables or {}}
        headers = {"X-Shopify-Access-Token": self._token, "Content-Type": "application/json",
                   "Accept": "application/json"}
        failures = throttles = 0
        while True:
            try:
                response = self._http.post(self.url, json=payload, headers=headers, timeout=self._timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if at_most_once and not isinstance(exc, requests.ConnectTimeout):
                    raise OutcomeUnknown(f"{name}: {type(exc).__name__}; Shopify may have run it") from exc
                failures += 1
                if failures > self._max_retries:
                    raise ShopifyUnavailable(f"{name}: {type(exc).__name__} after {failures} attempts") from exc
                self._sleep(self._backoff(failures))
                continue
            if response.status_code in (401, 403):
                if self._on_revoked is not None:
                    self._on_revoked()
                raise TokenRevoked(f"{name}: HTTP {response.status_code} from {self.shop_domain}")
            if response.status_code == 429 or response.status_code >= 500:
                if at_most_once and response.status_code >= 500:
                    raise OutcomeUnknown(f"{name}: HTTP {response.status_code}; Shopify may have run it")
                failures += 1
                if failures > self._max_retries:
                    raise ShopifyUnavailable(f"{name}: HTTP {response.status_code} after {failures} attempts")
                retry_after = response.headers.get("Retry-After")
                self._sleep(float(retry_after) if retry_after and retry_after.isdigit() else self._backoff(failures))
                continue
            if not response.ok:
                raise ShopifyError(f"{name}: HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError as exc:
                raise ShopifyError(f"{name}: response is not JSON") from exc
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                throttles += 1
                if throttles > self._max_throttle_waits:
                    raise ShopifyUnavailable(f"{name}: still throttled after {throttles} waits")
                wait = throttle_wait((body.get("extensions") or {}).get("cost"))
                log.info("throttled by %s; waiting %.2f s for the bucket", self.shop_domain, wait)
                self._sleep(wait)
                continue
            if errors:
                raise GraphQLErrors(errors)
            return body.get("data") or {}

    def mutate(self, name: str, root: str, variables: dict[str, Any], *, at_most_once: bool = False) -> dict[str, Any]:
        """Run a mutation and return its root field, raising UserErrors if Shopify declined it."""
        result = self.execute(name, variables, at_most_once=at_most_once).get(root) or {}
        if result.get("userErrors"):
            raise UserErrors(result["userErrors"])
        return result
