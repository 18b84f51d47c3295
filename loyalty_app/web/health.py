"""Liveness for load balancers and the on-call engineer."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("health", __name__)


@bp.get("/ping")
def ping():  # type: ignore[no-untyped-def]
    """Liveness only: the process answers. No database, so it is also the benchmarks' hello-world route."""
    return "ok", 200, {"Content-Type": "text/plain"}


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
