"""The JSON error every storefront, extension, Flow and review endpoint answers: a stable reason and a sentence.

Flow shows an action's error body to the merchant as it is. The admin API has its own (``web/api.error``), which also carries field errors.
"""
from __future__ import annotations

from flask import Response, jsonify


def error_body(reason: str, message: str) -> dict[str, str]:
    """The body of every 4xx/5xx answer."""
    return {"error": reason, "message": message}


def json_error(reason: str, message: str, status: int) -> tuple[Response, int]:
    """``error_body`` as a Flask answer with its status."""
    return jsonify(error_body(reason, message)), status
