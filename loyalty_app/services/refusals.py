"""The one shape of a use case's refusal: a stable reason the caller maps to a status and translates, and a sentence."""
from __future__ import annotations


class Refused(Exception):
    """A request a use case will not carry out; nothing was written. ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
