"""Folding text for comparison: the one way flows/ turns what was typed into words."""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans(
    dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'")
    | dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"')
)


def _is_edge(char: str) -> bool:
    """True for whitespace or punctuation that normalize trims from the ends."""
    return char.isspace() or unicodedata.category(char).startswith("P")


def normalize(text: str) -> str:
    """Casefold, drop accents, straighten quotes, collapse spaces, trim edge punctuation."""
    plain = text.translate(_QUOTES).casefold()
    if not plain.isascii():  # accents to drop (ASCII has none: most texts skip this)
        plain = unicodedata.normalize("NFKD", plain)
        plain = "".join(c for c in plain if not unicodedata.combining(c))
    words = " ".join(plain.split())
    start, end = 0, len(words)
    while start < end and _is_edge(words[start]):
        start += 1
    while end > start and _is_edge(words[end - 1]):
        end -= 1
    return words[start:end]


def key(text: str) -> str:
    """Normalize, drop apostrophes, and turn every other non-word run into one space."""
    return re.sub(r"[\W_]+", " ", normalize(text).replace("'", "")).strip()


def has(text_key: str, phrases: frozenset[str] | tuple[str, ...]) -> bool:
    """True when any phrase appears in a key() as whole words."""
    padded = f" {text_key} "
    return any(f" {p} " in padded for p in phrases)
