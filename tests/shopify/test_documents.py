"""Every GraphQL document the app can send validates against Shopify's Admin schema (2026-10)."""
import pytest

from loyalty_app.config import API_VERSION
from loyalty_app.shopify.documents import all_documents
from tests.fake_admin import document_errors, schema_errors

DOCUMENTS = all_documents()


def test_the_app_has_documents_and_pins_the_schema_version():
    assert API_VERSION == "2026-10"
    assert {"DiscountCodeBasicCreate", "DiscountCodeFreeShippingCreate", "DiscountCodeDeactivate",
            "MetafieldsSet", "ChangedOrders", "OrderLineItems", "OrderTipLines", "RefundDetail", "TagsAdd",
            "TagsRemove"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_against_the_admin_schema(name):
    assert document_errors(DOCUMENTS[name]) == []


def test_the_check_can_fail():
    assert document_errors("query { shop { loyaltyPoints } }")
    assert schema_errors("mutation M($id: ID!) { discountCodeDeactivate(id: $id) { codeDiscountNode { id } } }",
                         {"id": None})
