"""Shopify's material lives in the repository, unchanged from the digests its README records."""
import hashlib
import re

from tests.helpers import SHOPIFY_DATA


def _recorded_digests() -> dict[str, str]:
    readme = (SHOPIFY_DATA / "README.md").read_text()
    return dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", readme, flags=re.MULTILINE))


def test_every_file_is_recorded_with_its_sha256():
    recorded = _recorded_digests()
    present = {str(p.relative_to(SHOPIFY_DATA)) for p in SHOPIFY_DATA.rglob("*") if p.is_file() and p.name != "README.md"}
    assert "admin-graphql/admin_2026-10.json.gz" in recorded
    assert present == set(recorded)
    for relative, digest in recorded.items():
        assert hashlib.sha256((SHOPIFY_DATA / relative).read_bytes()).hexdigest() == digest, relative
