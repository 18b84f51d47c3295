"""The app an RQ worker runs its jobs in: built once from the environment, in the worker's parent process.

Kept apart from ``webhooks.jobs`` so that jobs never import ``create_app`` (which imports the
receiver, which imports the jobs): jobs only ever use the app in context.
"""
from __future__ import annotations

from flask import Flask

from loyalty_app import create_app

_app: Flask | None = None


def worker_app() -> Flask:
    """The worker's app, built on first use with no connection left open (forks inherit it)."""
    global _app
    if _app is None:
        _app = create_app()
        _app.extensions["db"].dispose()
    return _app
