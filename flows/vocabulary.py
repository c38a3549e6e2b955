"""The words the parsers recognise, as plain data: one dict per language, merged.

`Vocabulary.from_languages({"en": {...}, "es": {...}})` builds it; the dicts are what
templates/vocabulary/<lang>.toml hold (the intake package loads them). Recognition is
language-agnostic: every language's words are accepted whatever the conversation's
language, so the lists are merged here. Only language detection keeps them apart.

Pure: no file I/O, nothing imported from the intake package. Everything that can be
compiled is compiled once here, so parsing a text stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from flows.phrases import (
    INTENT_KEYS,
    INTENTS,
    STILL_MISSING,
    IntentRules,
    PhraseCompiler,
    alternation,
    fold_words,
    intent_rules,
)
from flows.text import key

LANGUAGE_KEYWORD = "lang:"  # keyword("español") == "lang:es": switch to that language

AGE_UNIT_MONTHS = {
    "year": Fraction(12),
    "month": Fraction(1),
    "week": Fraction(84, 365),
    "day": Fraction(12, 365),
}
MINUTE_UNIT_MINUTES = {
    "minute": Fraction(1),
    "hour": Fraction(60),
    "day": Fraction(1440),
    "week": Fraction(10080),
}
KEYWORDS = ("stop", "start", "help", "found", "restart", "language")
# Twilio's standard opt-out words: Twilio itself opts the sender out and confirms it (so
# the line leaves its own confirmation unsaid). Each whole message means "stop" in every
# vocabulary, whatever its file lists; folded as every keyword is (flows.text.key).
CARRIER_OPT_OUT_WORDS = frozenset(
    ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout")
)
RELATIONSHIP_ORDER = (  # first match wins: "foster care caseworker" is a caseworker
    ("group_home", "group_home"),
    ("caseworker", "caseworker"),
    ("foster", "foster"),
    ("family_friend", "other"),  # before parent: "family friend" is not family
    ("relative", "relative"),  # before unclear: a grandmother "de crianza" raised the child
    ("unclear", "unclear"),  # "mama de crianza" alone: foster care or raised by family? ask
    ("parent", "parent"),
    ("other", "other"),
)
# How a reply is read at every step (flows/read.py): whole-message lists, phrase tables.
READING_LISTS = (
    "non_answers",
    "dont_know",
    "filler",
    "confused",
    "all_children",
    "not_names",
    "name_lead",
)
READING_PHRASES = ("another_child", "several_children", "police_refused", "not_a_name")
READING_TABLES = ("questions", "roles")

# The sections (and their keys) a language file may have; anything else is a typo.
SECTIONS: dict[str, tuple[str, ...]] = {
    "keywords": KEYWORDS,
    "polite": ("before", "after"),
    "detect": ("characters", "strong", "weak"),
    "numbers": ("words", "tens", "tens_joiners", "articles", "half", "and_half", "and"),
    "age": ("newborn", "not_age", *AGE_UNIT_MONTHS),
    "minutes": ("ago_after", "ago_before", "just_now", *MINUTE_UNIT_MINUTES),
    "yes_no": ("yes", "no", "yes_lead", "no_lead", "unsure", "negation", "negation_more"),
    "police": ("called", "not_called", "asking"),
    "relationship": tuple(name for name, _ in RELATIONSHIP_ORDER),
    "answers": ("skip", "same_number", "when", "clock_suffix"),
    "reading": (*READING_LISTS, *READING_PHRASES, *READING_TABLES),
    "intents": (
        "clause_breaks",
        "negation",
        "not_negation",
        "hedges",
        "asking",
        "shorthand",
        "groups",
        *INTENTS,
        STILL_MISSING,
    ),
}


def _ordered(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for k in (key(str(i)) for i in items) if k))


@dataclass(frozen=True)
class Marker:
    """What marks a first message as one language."""

    lang: str
    characters: str  # any one of these characters is enough (e.g. ¿ ¡ ñ)
    strong: frozenset[str]  # one of these words or phrases is enough
    weak: frozenset[str]  # two of these words are needed


@dataclass(frozen=True)
class ReadingRules:
    """Compiled words for reading a reply at any step (see flows/read.py)."""

    non_answers: frozenset[str]  # whole message: "hmm", "ok", "?" (re-ask, store nothing)
    dont_know: frozenset[str]  # whole message: "idk", "no se" (unknown where that is fair)
    filler: frozenset[str]  # words after "idk" that still say nothing ("idk the # yet")
    confused: Mapping[str, str]  # whole message -> its language: "no entiendo" -> es
    all_children: frozenset[str]  # "both", "todos": every child, when asked which
    not_names: frozenset[str]  # words that are never a child's name ("he", "hes", "too")
    name_lead: frozenset[str]  # words before a name: "her name is", "se llama"
    phrases: Mapping[str, re.Pattern[str] | None]  # another_child, police_refused, ...
    questions: Mapping[str, re.Pattern[str]]  # topic -> what asks it
    roles: Mapping[str, re.Pattern[str]]  # role -> what says the caller has it


@dataclass(frozen=True)
class Vocabulary:
    """Everything the parsers recognise, merged over all languages."""

    languages: tuple[str, ...]
    keywords: Mapping[str, str]  # whole-message phrase -> "stop", ..., "lang:es"
    polite: re.Pattern[str] | None
    markers: tuple[Marker, ...]
    numbers: Mapping[str, int]
    tens: frozenset[str]
    tens_joiners: frozenset[str]
    articles: frozenset[str]
    half_words: frozenset[str]
    half_suffixes: tuple[tuple[str, ...], ...]
    and_words: frozenset[str]
    clock_words: frozenset[str]
    newborn: frozenset[str]
    not_age: frozenset[str]
    age_units: Mapping[str, Fraction]
    minute_units: Mapping[str, Fraction]
    ago_after: frozenset[str]
    ago_before: frozenset[str]
    just_now: frozenset[str]
    yes: frozenset[str]
    no: frozenset[str]
    yes_lead: frozenset[str]
    no_lead: frozenset[str]
    unsure: frozenset[str]
    negation: frozenset[str]
    negation_more: frozenset[str]
    asking: frozenset[str]
    called: tuple[str, ...]
    not_called: tuple[str, ...]
    relationships: tuple[tuple[str, tuple[str, ...]], ...]
    skip: frozenset[str]
    same_number: frozenset[str]
    when: frozenset[str]
    clock_suffix: frozenset[str]
    intents: IntentRules
    reading: ReadingRules
    lone_words: Mapping[str, frozenset[str]]  # lang -> whole messages only it uses ("si")

    @classmethod
    def from_languages(cls, languages: Mapping[str, Mapping[str, Any]]) -> Vocabulary:
        """Merge one dict per language (code -> sections); raise ValueError on a typo."""
        for lang, data in languages.items():
            _check(lang, data)

        def merged(section: str, name: str) -> list[Any]:
            out: list[Any] = []
            for data in languages.values():
                out.extend(data.get(section, {}).get(name, ()))
            return out

        def table(section: str, name: str) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for data in languages.values():
                out.update(data.get(section, {}).get(name, {}))
            return out

        numbers = {key(w): int(v) for w, v in table("numbers", "words").items()}
        tens = {key(w): int(v) for w, v in table("numbers", "tens").items()}
        return cls(
            languages=tuple(languages),
            keywords=MappingProxyType(_keywords(languages)),
            polite=_polite(merged("polite", "before"), merged("polite", "after")),
            markers=tuple(_marker(lang, data) for lang, data in languages.items()),
            numbers=MappingProxyType(numbers | tens),
            tens=frozenset(tens),
            tens_joiners=frozenset(str(j).strip() for j in merged("numbers", "tens_joiners")),
            articles=fold_words(merged("numbers", "articles")),
            half_words=fold_words(merged("numbers", "half")),
            half_suffixes=tuple(tuple(p.split()) for p in _ordered(merged("numbers", "and_half"))),
            and_words=fold_words(merged("numbers", "and")),
            clock_words=frozenset(w for w, v in numbers.items() if 1 <= v <= 12),
            newborn=fold_words(merged("age", "newborn")),
            not_age=fold_words(merged("age", "not_age")),
            age_units=_units(languages, "age", AGE_UNIT_MONTHS),
            minute_units=_units(languages, "minutes", MINUTE_UNIT_MINUTES),
            ago_after=fold_words(merged("minutes", "ago_after")),
            ago_before=fold_words(merged("minutes", "ago_before")),
            just_now=fold_words(merged("minutes", "just_now")),
            yes=fold_words(merged("yes_no", "yes")),
            no=fold_words(merged("yes_no", "no")),
            yes_lead=fold_words(merged("yes_no", "yes_lead")),
            no_lead=fold_words(merged("yes_no", "no_lead")),
            unsure=fold_words(merged("yes_no", "unsure")),
            negation=fold_words(merged("yes_no", "negation")),
            negation_more=fold_words(merged("yes_no", "negation_more")),
            asking=fold_words(merged("police", "asking")),
            called=_ordered(merged("police", "called")),
            not_called=_ordered(merged("police", "not_called")),
            relationships=tuple(
                (role, _ordered(merged("relationship", name))) for name, role in RELATIONSHIP_ORDER
            ),
            skip=fold_words(merged("answers", "skip")),
            same_number=fold_words(merged("answers", "same_number")),
            when=fold_words(merged("answers", "when")),
            clock_suffix=fold_words(merged("answers", "clock_suffix")),
            intents=intent_rules(languages),
            reading=_reading_rules(languages),
            lone_words=MappingProxyType(
                {
                    lang: fold_words(data.get("detect", {}).get("strong", ()))
                    for lang, data in languages.items()
                }
            ),
        )


def _check(lang: str, data: Mapping[str, Any]) -> None:
    if not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]+)?", lang):
        raise ValueError(f"language code {lang!r}: use a short code such as 'en' or 'es'")
    for section, body in data.items():
        if section not in SECTIONS:
            raise ValueError(f"{lang}: unknown section [{section}]")
        for name in body:
            if name not in SECTIONS[section]:
                raise ValueError(f"{lang}: unknown entry {name!r} in [{section}]")
    for name, body in data.get("intents", {}).items():
        if name in (*INTENTS, STILL_MISSING):
            unknown = set(body) - set(INTENT_KEYS)
            if unknown:
                raise ValueError(f"{lang}: unknown entry {sorted(unknown)} in [intents.{name}]")


def _keywords(languages: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = dict.fromkeys(CARRIER_OPT_OUT_WORDS, "stop")
    for lang, data in languages.items():
        for name, phrases in data.get("keywords", {}).items():
            meaning = LANGUAGE_KEYWORD + lang if name == "language" else name
            for phrase in _ordered(phrases):
                if out.get(phrase, meaning) != meaning:
                    raise ValueError(f"{lang}: {phrase!r} is both {out[phrase]} and {meaning}")
                out[phrase] = meaning
    return out


def _polite(before: list[str], after: list[str]) -> re.Pattern[str] | None:
    """Polite words trimmed around a keyword: 'please stop', 'stop now thanks'."""
    parts = []
    if before:
        parts.append(f"^(?:{alternation(fold_words(before))}) ")
    if after:
        parts.append(f"(?: (?:{alternation(fold_words(after))}))+$")
    return re.compile("|".join(parts)) if parts else None


def _marker(lang: str, data: Mapping[str, Any]) -> Marker:
    detect = data.get("detect", {})
    return Marker(
        lang=lang,
        characters="".join(detect.get("characters", ())),
        strong=fold_words(detect.get("strong", ())),
        weak=fold_words(detect.get("weak", ())),
    )


def _units(
    languages: Mapping[str, Mapping[str, Any]], section: str, sizes: Mapping[str, Fraction]
) -> Mapping[str, Fraction]:
    out: dict[str, Fraction] = {}
    for unit, size in sizes.items():
        for data in languages.values():
            for word in fold_words(data.get(section, {}).get(unit, ())):
                out[word] = size
    return MappingProxyType(out)


def _reading_rules(languages: Mapping[str, Mapping[str, Any]]) -> ReadingRules:
    groups: dict[str, list[str]] = {}
    for data in languages.values():
        for name, members in data.get("intents", {}).get("groups", {}).items():
            groups.setdefault(name, []).extend(members)
    compiler = PhraseCompiler(groups)

    def lists(name: str) -> frozenset[str]:
        return fold_words(
            p for data in languages.values() for p in data.get("reading", {}).get(name, ())
        )

    def table(name: str) -> dict[str, re.Pattern[str]]:
        specs: dict[str, list[str]] = {}
        for data in languages.values():
            for topic, phrases in data.get("reading", {}).get(name, {}).items():
                specs.setdefault(topic, []).extend(phrases)
        out = {topic: compiler.compile(phrases) for topic, phrases in specs.items()}
        return {topic: rx for topic, rx in out.items() if rx is not None}

    confused = {
        phrase: lang
        for lang, data in languages.items()
        for phrase in fold_words(data.get("reading", {}).get("confused", ()))
    }
    phrases = {
        name: compiler.compile(
            p for data in languages.values() for p in data.get("reading", {}).get(name, ())
        )
        for name in READING_PHRASES
    }
    return ReadingRules(
        non_answers=lists("non_answers"),
        dont_know=lists("dont_know"),
        filler=lists("filler"),
        confused=MappingProxyType(confused),
        all_children=lists("all_children"),
        not_names=lists("not_names"),
        name_lead=lists("name_lead"),
        phrases=MappingProxyType(phrases),
        questions=MappingProxyType(table("questions")),
        roles=MappingProxyType(table("roles")),
    )
