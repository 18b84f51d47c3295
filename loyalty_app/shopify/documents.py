"""GraphQL documents, kept in ``graphql/*.graphql`` files (never f-strings) so a test validates every one."""
from __future__ import annotations

from functools import cache
from pathlib import Path

DOCUMENTS = Path(__file__).parent / "graphql"


@cache
def document(name: str) -> str:
    """The text of ``graphql/<name>.graphql``."""
    path = DOCUMENTS / f"{name}.graphql"
    if not path.is_file():
        raise KeyError(f"no GraphQL document named {name!r}")
    return path.read_text()


def all_documents() -> dict[str, str]:
    """Every document the app can send, by name."""
    return {path.stem: path.read_text() for path in sorted(DOCUMENTS.glob("*.graphql"))}
