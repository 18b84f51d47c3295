"""Every GraphQL document the app can send validates against Shopify's Admin schema (2026-10)."""
import graphql
import pytest

from loyalty_app.config import API_VERSION
from loyalty_app.program import flow
from loyalty_app.shopify import documents
from loyalty_app.shopify.documents import DOCUMENTS as SOURCES
from loyalty_app.shopify.documents import all_documents, all_fragments, with_fragments
from tests.fake_admin import MAX_QUERY_COST, answer_errors, document_errors, requested_cost, schema_errors

DOCUMENTS = all_documents()
FRAGMENTS = all_fragments()
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
    assert document_errors((SOURCES / "OrderLineItems.graphql").read_text())  # a spread without its fragment
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


def test_orders_and_their_further_line_items_share_one_line_item_selection():
    for name in ("ChangedOrders", "OrderLineItems"):
        source = (SOURCES / f"{name}.graphql").read_text()
        assert "...LineItemFields" in source and "isGiftCard" not in source
        assert DOCUMENTS[name].count("fragment LineItemFields on LineItem {") == 1
    assert "isGiftCard" in FRAGMENTS["LineItemFields"]


@pytest.mark.parametrize("name", sorted(FRAGMENTS))
def test_fragment_is_named_after_its_file_and_some_document_spreads_it(name):
    [definition] = graphql.parse(FRAGMENTS[name]).definitions
    assert isinstance(definition, graphql.FragmentDefinitionNode) and definition.name.value == name
    assert any(f"fragment {name} on" in text for text in DOCUMENTS.values())


def test_fragments_are_appended_once_each_even_through_other_fragments(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "FRAGMENTS", tmp_path)
    documents.fragment.cache_clear()
    try:
        (tmp_path / "Money.graphql").write_text("fragment Money on MoneyBag { shopMoney { amount } }\n")
        (tmp_path / "Line.graphql").write_text("fragment Line on LineItem { id originalUnitPriceSet { ...Money } }\n")
        text = with_fragments('# "...NotASpread" in a comment\nquery Q($id: ID!) { order(id: $id) {'
                              " totalPriceSet { ...Money } lineItems(first: 2) { nodes { ...Line ... on LineItem"
                              " { name } } } } }\n")
        assert text.count("fragment Money on") == 1 and text.count("fragment Line on") == 1
        assert document_errors(text) == []
        with pytest.raises(KeyError, match="Nope"):
            with_fragments("query { shop { ...Nope } }")
    finally:
        documents.fragment.cache_clear()


def test_a_named_fragment_costs_what_its_fields_would_inline():
    inline = (SOURCES / "OrderLineItems.graphql").read_text().replace(
        "...LineItemFields", graphql.print_ast(graphql.parse(FRAGMENTS["LineItemFields"]).definitions[0]
                                               .selection_set).strip()[1:-1])
    assert "fragment" not in inline and document_errors(inline) == []
    assert requested_cost(DOCUMENTS["OrderLineItems"]) == requested_cost(inline) == 2 + 1 + 100 * 9
    # a connection's nodes reached through a fragment on the connection still count once per node
    through = ("query { orders(first: 5) { ...Page } } fragment Page on OrderConnection { nodes { id } }")
    assert requested_cost(through) == requested_cost("query { orders(first: 5) { nodes { id } } }") == 2 + 5
