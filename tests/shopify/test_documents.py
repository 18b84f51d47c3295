"""Every GraphQL document the app can send validates against Shopify's Admin schema (2026-10)."""
import pytest

from loyalty_app.config import API_VERSION
from loyalty_app.shopify.documents import all_documents
from tests.fake_admin import answer_errors, document_errors, schema_errors

DOCUMENTS = all_documents()


def test_the_app_has_documents_and_pins_the_schema_version():
    assert API_VERSION == "2026-10"
    assert {"DiscountCodeBasicCreate", "DiscountCodeFreeShippingCreate", "DiscountCodeDeactivate", "DiscountUsage",
            "MetafieldsSet", "PaidOrders", "TagsAdd", "TagsRemove"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_against_the_admin_schema(name):
    assert document_errors(DOCUMENTS[name]) == []


def test_the_check_can_fail():
    assert document_errors("query { shop { loyaltyPoints } }")
    assert schema_errors("mutation M($id: ID!) { discountCodeDeactivate(id: $id) { codeDiscountNode { id } } }",
                         {"id": None})


def test_the_fake_admin_refuses_answers_shopify_could_not_send():
    usage, variables = DOCUMENTS["DiscountUsage"], {"id": "gid://shopify/DiscountCodeNode/1"}
    honest = {"codeDiscountNode": {"codeDiscount": {"__typename": "DiscountCodeBasic", "asyncUsageCount": 0}}}
    assert answer_errors(usage, variables, honest) == []
    assert answer_errors(usage, variables, {"codeDiscountNode": None}) == []  # an unknown id
    assert answer_errors(usage, variables, {"codeDiscountNode": {"codeDiscount": {  # the count is non-null
        "__typename": "DiscountCodeBasic"}}})
    assert answer_errors(usage, variables, {"codeDiscountNode": {"codeDiscount": {  # not a code discount
        "__typename": "DiscountAutomaticBasic", "asyncUsageCount": 0}}})
    assert answer_errors(usage, variables, {"codeDiscountNode": {"codeDiscount": {  # a field nobody asked for
        "__typename": "DiscountCodeBasic", "asyncUsageCount": 0, "title": "5 off"}}})
