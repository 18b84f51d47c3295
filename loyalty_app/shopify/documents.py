"""GraphQL documents, kept in ``graphql/*.graphql`` files (never f-strings) so a test validates every one.

A selection several documents share lives once, as a named fragment in ``graphql/fragments/<Name>.graphql``;
a document that spreads ``...Name`` is sent with that fragment (and the fragments it spreads) appended, since
Shopify, like every GraphQL server, rejects a document whose spread has no definition or whose fragment is unused.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

DOCUMENTS = Path(__file__).parent / "graphql"
FRAGMENTS = DOCUMENTS / "fragments"

# Comments and string literals could hold "...Word" that is no spread; they are blanked before looking.
_IGNORED = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"')
# `...Name` spreads a named fragment; `... on Type` and `... @directive` are inline fragments.
_SPREAD = re.compile(r"\.\.\.\s*(?!on\b)([_A-Za-z][_0-9A-Za-z]*)")


def _spreads(text: str) -> list[str]:
    """The named fragments ``text`` spreads, in order of first appearance."""
    return list(dict.fromkeys(_SPREAD.findall(_IGNORED.sub("", text))))


@cache
def fragment(name: str) -> str:
    """The text of ``graphql/fragments/<name>.graphql``, which defines fragment ``name``."""
    path = FRAGMENTS / f"{name}.graphql"
    if not path.is_file():
        raise KeyError(f"no GraphQL fragment named {name!r}")
    return path.read_text()


def with_fragments(text: str) -> str:
    """``text`` followed by every fragment it spreads, directly or through other fragments, each once."""
    needed: list[str] = []
    pending = _spreads(text)
    while pending:
        name = pending.pop(0)
        if name not in needed:
            needed.append(name)
            pending.extend(_spreads(fragment(name)))
    return "\n".join([text.rstrip("\n"), *(fragment(name).rstrip("\n") for name in needed)]) + "\n"


@cache
def document(name: str) -> str:
    """The text of ``graphql/<name>.graphql`` as sent: with the fragments it spreads."""
    path = DOCUMENTS / f"{name}.graphql"
    if not path.is_file():
        raise KeyError(f"no GraphQL document named {name!r}")
    return with_fragments(path.read_text())


def all_documents() -> dict[str, str]:
    """Every document the app can send, by name, as sent (with its fragments)."""
    return {path.stem: document(path.stem) for path in sorted(DOCUMENTS.glob("*.graphql"))}


def all_fragments() -> dict[str, str]:
    """Every shared fragment, by file name (which is the fragment's name)."""
    return {path.stem: path.read_text() for path in sorted(FRAGMENTS.glob("*.graphql"))}
