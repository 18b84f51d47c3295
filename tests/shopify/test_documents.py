"""Every GraphQL document the app can send validates against Shopify's Admin schema (2026-10)."""
import pytest

from loyalty_app.config import API_VERSION
from loyalty_app.program import flow
from loyalty_app.shopify.documents import all_documents
from tests.fake_admin import MAX_QUERY_COST, answer_errors, document_errors, requested_cost, schema_errors

DOCUMENTS = all_documents()
QUERIES = sorted(name for name, text in DOCUMENTS.items() if "\nquery " in f"\n{text}")


def test_the_app_has_documents_and_pins_the_schema_version():
    assert API_VERSION == "2026-10"
    assert {"DiscountCodeBasicCreate", "DiscountCodeFreeShippingCreate", "DiscountCodeDeactivate", "DiscountUsage",
            "DiscountCodeLookup", "CustomerStoreCreditBalances",
            "MetafieldsSet", "ChangedOrders", "OrderLineItems", "OrderTipLines", "RefundDetail", "TagsAdd",
            "TagsRemove", "FlowTriggerReceive", "StoreCreditAccountCredit", "StoreCreditAccountDebit",
            "StoreCreditConfiguration", "StoreCreditTransactions"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_against_the_admin_schema(name):
    assert document_errors(DOCUMENTS[name]) == []


def test_the_check_can_fail():
    assert document_errors("query { shop { loyaltyPoints } }")
    assert schema_errors("mutation M($id: ID!) { discountCodeDeactivate(id: $id) { codeDiscountNode { id } } }",
                         {"id": None})


@pytest.mark.parametrize("name", QUERIES)
def test_query_stays_under_shopifys_cost_ceiling(name):
    assert requested_cost(DOCUMENTS[name]) <= MAX_QUERY_COST


def test_the_cost_check_can_fail():
    assert {"ChangedOrders", "OrderLineItems", "OrderTipLines", "RefundDetail"} <= set(QUERIES)
    assert requested_cost("query { shop { name } }") == 1
    assert requested_cost(DOCUMENTS["OrderLineItems"].replace("first: 100", "first: 250")) > MAX_QUERY_COST


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


@pytest.mark.parametrize("trigger", sorted(flow.HANDLES))
def test_flow_trigger_document_and_variables_validate(trigger):
    """Each trigger's variables, as the sender builds them, are what the 2026-10 schema accepts."""
    body = flow.payload(trigger, flow.Standing(207119551, 1200), 50,
                        {"reward": "5 off", "code": "LOYAL-AAAA-BBBB", "from": "Bronze", "to": "Silver",
                         "promoted": True, "expires_on": "2026-12-25", "days": 30})
    assert schema_errors(DOCUMENTS["FlowTriggerReceive"], {"handle": flow.HANDLES[trigger], "payload": body}) == []


def test_the_flow_variables_check_can_fail():
    assert schema_errors(DOCUMENTS["FlowTriggerReceive"], {"handle": None, "payload": {"customer_id": 1}})
    assert schema_errors(DOCUMENTS["FlowTriggerReceive"], {"handle": "loyalty-points-earned"})
