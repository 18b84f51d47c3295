"""The Flow extensions (extensions/flow-*) match what the app sends and accepts."""
import re
import tomllib
from pathlib import Path

import pytest

from loyalty_app.program import flow
from loyalty_app.schemas.flow import AdjustPointsProperties
from loyalty_app.web.flow import ADJUST_POINTS

ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = {path.parent.name: tomllib.loads(path.read_text())
              for path in sorted((ROOT / "extensions").glob("flow-*/shopify.extension.toml"))}
TRIGGERS = {ext["extensions"][0]["handle"]: ext for ext in EXTENSIONS.values()
            if ext["extensions"][0]["type"] == "flow_trigger"}
SAMPLE = {"reward": "5 off", "code": "LOYAL-AAAA-BBBB", "from": "Bronze", "to": "Silver", "promoted": True,
          "expires_on": "2026-12-25", "days": 30}


def test_every_trigger_has_an_extension_and_every_extension_a_trigger():
    assert set(TRIGGERS) == set(flow.HANDLES.values())


@pytest.mark.parametrize("name", sorted(EXTENSIONS))
def test_extension_follows_shopifys_rules(name):
    [extension] = EXTENSIONS[name]["extensions"]
    assert extension["type"] in ("flow_trigger", "flow_action")
    assert len(extension["handle"]) <= 30 and re.fullmatch(r"[a-z0-9-]+", extension["handle"])
    assert extension["name"] and extension["description"]
    fields = EXTENSIONS[name]["settings"]["fields"]
    assert sum(f["type"] == "customer_reference" for f in fields) == 1
    assert all("key" in f for f in fields if not f["type"].endswith("_reference"))


@pytest.mark.parametrize("trigger", sorted(flow.HANDLES))
def test_trigger_payload_keys_are_the_extension_fields(trigger):
    fields = TRIGGERS[flow.HANDLES[trigger]]["settings"]["fields"]
    keys = {"customer_id" if f["type"] == "customer_reference" else f["key"] for f in fields}
    body = flow.payload(trigger, flow.Standing(1, 2), 3, SAMPLE)
    assert set(body) == keys
    types = {f["key"]: f["type"] for f in fields if "key" in f}
    for key, value in body.items():  # each value has its field's type
        expected = {"number_decimal": (int, float), "boolean": bool, "single_line_text_field": str}
        assert key == "customer_id" or isinstance(value, expected[types[key]]), (key, value)


def test_the_action_extension_matches_the_endpoint():
    [action] = EXTENSIONS["flow-adjust-points"]["extensions"]
    assert (action["type"], action["handle"]) == ("flow_action", ADJUST_POINTS)
    assert action["runtime_url"].endswith("/flow/actions/adjust-points")
    fields = EXTENSIONS["flow-adjust-points"]["settings"]["fields"]
    keys = {"customer_id" if f["type"] == "customer_reference" else f["key"] for f in fields}
    assert keys == set(AdjustPointsProperties().fields)
    assert {f.get("key") for f in fields if f.get("required")} == {None, "points"}


def test_payloads_stay_far_under_flows_limit():
    long = {**SAMPLE, "reward": "x" * 10_000, "to": "y" * 10_000}
    for trigger in flow.HANDLES:
        assert len(str(flow.payload(trigger, flow.Standing(2**62, 10**9), 10**9, long))) < 2_000


def test_the_size_check_can_fail(monkeypatch):
    monkeypatch.setattr(flow, "MAX_PAYLOAD_BYTES", 40)
    with pytest.raises(flow.PayloadTooLarge):
        flow.payload(flow.POINTS_EARNED, flow.Standing(1, 2), 3, None)
