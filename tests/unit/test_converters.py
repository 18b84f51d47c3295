"""The ``<id:…>`` converter: every id within BIGINT matches, nothing else does, whatever methods the rule has."""
import re

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from loyalty_app.web.converters import MAX_ID, IdConverter

ROUTES = Map([Rule("/tiers/<id:tier_id>", methods=["PUT"], endpoint="put"),
              Rule("/tiers/<id:tier_id>", methods=["DELETE"], endpoint="delete")], converters={"id": IdConverter})


@pytest.mark.parametrize("text", ["1", "9", "10", "99", str(MAX_ID), str(MAX_ID - 1), "8999999999999999999",
                                  "9223372036854775799", "922337203685477580", "100000000000000000"])
def test_ids_within_bigint_match(text):
    assert re.fullmatch(IdConverter.regex, text)
    assert ROUTES.bind("x").match(f"/tiers/{text}", "DELETE") == ("delete", {"tier_id": int(text)})


@pytest.mark.parametrize("text", ["0", "01", "-1", str(MAX_ID + 1), "9223372036854775810", "9300000000000000000",
                                  "99999999999999999999", "1e3", "abc"])
def test_anything_else_is_404_not_405(text):
    assert not re.fullmatch(IdConverter.regex, text)
    with pytest.raises(NotFound) as raised:
        ROUTES.bind("x").match(f"/tiers/{text}", "DELETE")
    assert not isinstance(raised.value, MethodNotAllowed)


def test_every_nineteen_digit_boundary():
    for index in range(19):  # MAX_ID with one digit raised (over) or lowered (under) stays on its side
        digit = int(str(MAX_ID)[index])
        if digit < 9:
            over = str(MAX_ID)[:index] + str(digit + 1) + str(MAX_ID)[index + 1:]
            assert not re.fullmatch(IdConverter.regex, over)
        if digit > (1 if index == 0 else 0):
            under = str(MAX_ID)[:index] + str(digit - 1) + "9" * (18 - index)
            assert re.fullmatch(IdConverter.regex, under)
