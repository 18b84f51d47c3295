"""Starting the merchant's Shopify Flow workflows: ``flowTriggerReceive``."""
from __future__ import annotations

from typing import Any

from .client import AdminClient


def send_trigger(client: AdminClient, handle: str, payload: dict[str, Any]) -> None:
    """Start every workflow of the shop that begins with the trigger ``handle``.

    Sent at most once: Flow has no idempotency key for triggers, so a request whose outcome is
    unknown (OutcomeUnknown) is not repeated here; the caller records it as unknown.
    Raises UserErrors when Flow declines it (an unknown handle, a payload its fields do not match).
    """
    client.mutate("FlowTriggerReceive", "flowTriggerReceive", {"handle": handle, "payload": payload},
                  at_most_once=True)
