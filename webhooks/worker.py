"""The RQ worker class: ``rq worker -w webhooks.worker.Worker loyalty``.

RQ forks a work horse per job. Building the app in each one costs about 300 ms, so this worker
builds it once in the parent, before any fork, and every work horse inherits it.
"""
from __future__ import annotations

from typing import Any

import rq

from . import jobs


class Worker(rq.Worker):
    """An RQ worker whose work horses inherit an app built once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        jobs.preload_app()
