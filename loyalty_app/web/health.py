"""Liveness for load balancers and the on-call engineer."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Report the database, the queue mode and the pinned Admin API version."""
    assert db.session is not None
    db.session.execute(text("SELECT 1"))
    queues = current_app.extensions["queues"]
    return jsonify(
        status="ok",
        api_version=current_app.config["SHOPIFY_API_VERSION"],
        jobs="inline" if queues.inline else "rq",
    )
