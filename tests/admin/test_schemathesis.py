"""schemathesis against ``/admin/api/openapi.json``, in-process, as a staff member of a shop with data in it.

Every operation the document describes is called with generated inputs (valid and invalid);
no answer may be a 5xx, and every answer must be one the document declares, in the declared
content type and shape. Examples are bounded so the whole run stays within seconds per database.
"""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty_app import create_app
from loyalty_app.models import WebhookEvent, WebVital
from loyalty_app.web.api.openapi import _document as _build
from tests.conftest import BASE_CONFIG
from tests.helpers import simple_order

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 10


def _document() -> dict:
    """The OpenAPI document, built from the routes of an app that is never served (no database needed)."""
    bare = create_app({**BASE_CONFIG, "DATABASE_URL": "sqlite://", "AUTO_MIGRATE": False})
    return _build(bare)


# Loaded at collection so that every operation is a test of its own. (schemathesis's ``from_fixture``
# would load it from the ``app`` fixture, but it reads ``request.node._nodeid``, which pytest 9 removed.)
schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def token(app, session, shop, staff_token) -> str:  # type: ignore[no-untyped-def]
    """A staff token for the test shop, which has events (failed, processed, waiting) and a Web Vital."""
    for status in ("failed", "processed", "received"):  # lists and retries answer with rows, not only []
        session.add(WebhookEvent(webhook_id=f"st-{status}", topic="orders/paid", shop_domain=shop.domain,
                                 shop_id=shop.id, status=status, body=json.dumps(simple_order(90, 9, "12.00")),
                                 attempts=1, error="LookupError: gone" if status == "failed" else None))
    session.add(WebVital(shop_id=shop.id, page="admin.home", metric="LCP", value=1800.0))
    session.commit()
    return staff_token(lifetime=3600)


def test_the_served_document_is_the_one_tested(app, token):  # type: ignore[no-untyped-def]
    served = app.test_client().get("/admin/api/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert served.status_code == 200 and served.get_json() == schema.raw_schema


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, app, token):  # type: ignore[no-untyped-def]
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
