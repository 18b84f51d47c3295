"""Logging: one JSON object per line in production, tagged with the shop, webhook and job it concerns.

Tags live in a context variable, so whatever a handler or service logs while ``tagged(...)`` is
active carries them, without passing them down. Development keeps readable text lines.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

_tags: ContextVar[dict[str, str]] = ContextVar("log_tags", default={})
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


@contextmanager
def tagged(**tags: object) -> Iterator[None]:
    """Add tags (``shop=…, webhook_id=…, job_id=…``) to every record logged inside the block."""
    token = _tags.set({**_tags.get(), **{key: str(value) for key, value in tags.items() if value is not None}})
    try:
        yield
    finally:
        _tags.reset(token)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", <tags>, "exc"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(), **_tags.get()}
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure(log_format: str) -> None:
    """Set up the root logger once (tests and embedding processes that configured it already are left alone)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
