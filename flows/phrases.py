"""Intent phrases compiled to regexes: {groups}, optional words? and a|b choices (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flows.text import key

INTENTS = ("found", "found_unsure", "person", "missing")  # in precedence order
STILL_MISSING = "still_missing"  # phrases that say "missing" and rule out "found_unsure"
INTENT_KEYS = ("phrases", "except")


def fold_words(items: Iterable[str]) -> frozenset[str]:
    """Fold phrases the way texts are folded (lower case, no accents, no apostrophes)."""
    return frozenset(k for k in (key(str(i)) for i in items) if k)


def alternation(phrases: Iterable[str]) -> str:
    """A regex alternative of folded phrases, longest first."""
    return "|".join(re.escape(p) for p in sorted(set(phrases), key=lambda p: (-len(p), p)))


@dataclass(frozen=True)
class Rule:
    """One intent: what says it, and what looks like it but must not count."""

    phrases: re.Pattern[str] | None
    excepted: re.Pattern[str] | None


@dataclass(frozen=True)
class IntentRules:
    """Compiled intent phrases (see flows/intents.py for how they are applied)."""

    rules: Mapping[str, Rule]
    clause_breaks: re.Pattern[str] | None
    negation: re.Pattern[str] | None
    not_negation: re.Pattern[str] | None  # blanked before looking for a negation
    hedges: re.Pattern[str] | None
    asking: re.Pattern[str] | None
    shorthand: Mapping[str, str]
    known: frozenset[str]  # every word the intent phrases use: typos are mended toward them
    near: Mapping[str, str]  # a known word with one letter dropped -> the known word


def intent_rules(languages: Mapping[str, Mapping[str, Any]]) -> IntentRules:
    sections = [data.get("intents", {}) for data in languages.values()]
    groups: dict[str, list[str]] = {}
    shorthand: dict[str, str] = {}
    lists: dict[str, list[str]] = {
        "clause_breaks": [],
        "negation": [],
        "not_negation": [],
        "hedges": [],
        "asking": [],
    }
    names = (*INTENTS, STILL_MISSING)
    specs: dict[str, dict[str, list[str]]] = {n: {"phrases": [], "except": []} for n in names}
    for section in sections:
        for name, members in section.get("groups", {}).items():
            groups.setdefault(name, []).extend(members)
        shorthand |= {key(k): key(v) for k, v in section.get("shorthand", {}).items()}
        for name in lists:
            lists[name].extend(section.get(name, ()))
        for name in names:
            for part in INTENT_KEYS:
                specs[name][part].extend(section.get(name, {}).get(part, ()))
    compiler = PhraseCompiler(groups)
    rules = {
        name: Rule(compiler.compile(spec["phrases"]), compiler.compile(spec["except"]))
        for name, spec in specs.items()
    }
    words_lists = {name: fold_words(items) for name, items in lists.items()}
    known = set(compiler.literals)
    for items in words_lists.values():
        known.update(w for phrase in items for w in phrase.split())
    near: dict[str, str] = {}
    for word in sorted(known):
        if len(word) >= 5:
            for i in range(len(word)):
                near.setdefault(word[:i] + word[i + 1 :], word)

    def anywhere(items: frozenset[str]) -> re.Pattern[str] | None:
        return re.compile(f" (?:{alternation(items)})(?= )") if items else None

    asking = words_lists["asking"]
    breaks = words_lists["clause_breaks"]
    return IntentRules(
        rules=MappingProxyType(rules),
        clause_breaks=re.compile(rf"\b(?:{alternation(breaks)})\b") if breaks else None,
        negation=anywhere(words_lists["negation"]),
        not_negation=anywhere(words_lists["not_negation"] | words_lists["hedges"]),
        hedges=anywhere(words_lists["hedges"]),
        asking=re.compile(f"^ (?:{alternation(asking)})(?= )") if asking else None,
        shorthand=MappingProxyType(shorthand),
        known=frozenset(known),
        near=MappingProxyType(near),
    )


class PhraseCompiler:
    """Turn 'we? found {child}' into a regex over ' word word ' (a space before each word).

    A phrase is words separated by spaces. A word may be:
      {name}   any phrase of the group `name` (groups may use other groups)
      a|b|c    any one of these words
      *        any one word
      ^ / $    the start / end of the sentence (only first / last)
    and ends in ? when it may be left out.
    """

    def __init__(self, groups: Mapping[str, list[str]]) -> None:
        self.groups = groups
        self.cache: dict[str, str] = {}
        self.literals: set[str] = set()

    def compile(self, phrases: Iterable[str]) -> re.Pattern[str] | None:
        parts = sorted({self.phrase(p) for p in phrases if p.strip()}, key=lambda p: (-len(p), p))
        return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None

    def group(self, name: str, seen: tuple[str, ...] = ()) -> str:
        if name not in self.groups:
            raise ValueError(f"intent phrases use an unknown group {{{name}}}")
        if name in seen:
            raise ValueError(f"intent group {{{name}}} uses itself")
        if name not in self.cache:
            members = sorted({self.phrase(m, seen + (name,)) for m in self.groups[name]})
            self.cache[name] = "(?:" + "|".join(sorted(members, key=len, reverse=True)) + ")"
        return self.cache[name]

    def phrase(self, phrase: str, seen: tuple[str, ...] = ()) -> str:
        tokens = phrase.split()
        out = ""
        for i, token in enumerate(tokens):
            if token == "^" and i == 0:
                out += "^"
                continue
            if token == "$" and i == len(tokens) - 1:
                out += "(?= $)"
                continue
            optional = token.endswith("?") and len(token) > 1
            token = token.rstrip("?") if optional else token
            part = self.token(token, seen)
            out += f"(?:{part})?" if optional else part
        if not out.replace("^", "").replace("(?= $)", ""):
            raise ValueError(f"intent phrase {phrase!r} has no words")
        return out + "(?= )"

    def token(self, token: str, seen: tuple[str, ...]) -> str:
        if token.startswith("{") and token.endswith("}"):
            return self.group(token[1:-1], seen)
        if token == "*":
            return r" [^ ]+"
        choices = [key(c) for c in token.split("|")]
        if not all(choices):
            raise ValueError(f"intent word {token!r} folds to nothing")
        for choice in choices:
            self.literals.update(choice.split())
        return " (?:" + "|".join(re.escape(c) for c in choices) + ")"
