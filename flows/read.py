"""Read one reply, at any step, on any channel (texts, and speech once transcribed).

`read(vocab, step, text)` is the one entry point. Every reply is one of four kinds:

  ANSWER      an answer to the step's question (the step's parser reads its value)
  NON_ANSWER  "hmm", "ok", "?", an emoji, "idk", "no se": never kept as a fact;
              `unknown` when it says "I don't know" (kept as unknown where that is fair)
  QUESTION    a question to the line ("what happens now??", "¿me van a llamar?"):
              answered from answer_<topic> templates, then the step is asked again
  EVENT       something that outranks the step: a keyword (stop, start, help, found,
              restart, lang:xx), found (hedged: confirm first), another child, police
              refusing or delaying, a person wanted

Beside the kind, a reading says what else the text shows: its language (`lang`, when it
shows one), who the caller is (`role`), whether several children are missing, and the
other children it names. Keypad conventions (1 = yes) are the voice adapter's, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.intents import intents
from flows.language import Detector
from flows.parse import (
    detect_language,
    is_question,
    is_same_number,
    is_skip,
    keyword,
    parse_age_months,
    parse_last_seen_ago_minutes,
    parse_yes_no,
)
from flows.text import key, normalize
from flows.vocabulary import Vocabulary

ANSWER, NON_ANSWER, QUESTION, EVENT = "answer", "non_answer", "question", "event"

FOUND, ANOTHER_CHILD, POLICE_REFUSED, PERSON = "found", "another_child", "police_refused", "person"
ROLE = "role"  # the caller says who they are, instead of answering the step
# Steps where a statement of who the caller is ("soy su abuela") is no answer.
ROLE_EVENT_STEPS = frozenset(
    {"police_called", "child_name", "age_months", "last_seen_when", "last_seen_where"}
    | {"police_report", "photos", "callback_phone"}
)
ROLE_ORDER = ("group_home", "caseworker", "foster", "relative", "unclear", "parent")

# Steps whose answer may be a short word that elsewhere says nothing ("yes", "no", "skip").
YES_NO_STEPS = frozenset({"police_called", "confirm"})
SKIP_STEPS = frozenset({"photos", "police_report"})
# Steps whose answer holds names ("Maria Lopez", "San Antonio", "black Nike hoodie"): no
# sign of the caller's language, so only the vocabulary's own words count there.
NAME_STEPS = frozenset(
    {"child_name", "last_seen_where", "description", "police_report", "other_child"}
)
MIN_WORDS_FOR_MODEL = 3  # lingua decides only texts of three words or more
MODEL_SURE = 0.85  # ...and only when it is at least this sure
_HELD = re.compile(r"([a-z])\1{2,}")
_NAME = re.compile(
    r"\b([A-Z\u00c0-\u00de][a-z\u00e0-\u00ff'-]+(?:\s+[A-Z\u00c0-\u00de][a-z\u00e0-\u00ff'-]+)?)"
)


@dataclass(frozen=True)
class Child:
    """A child named in a reply: what the text says of them."""

    name: str | None = None
    age_months: int | None = None


@dataclass(frozen=True)
class Reading:
    """What one reply means (see the module's docstring)."""

    kind: str
    text: str
    event: str | None = None
    keyword: bool = False  # the event is a whole-message keyword (STOP, FOUND, ESPANOL)
    hedged: bool = False  # the event is second-hand or unsure: confirm before acting
    topic: str | None = None  # a QUESTION's topic: templates answer_<topic>
    unknown: bool = False  # a NON_ANSWER that says "I don't know"
    lang: str | None = None  # the language the text is written in, when it shows one
    role: str | None = None  # who the caller says they are
    several: bool = False  # the text says more than one child is missing
    children: tuple[Child, ...] = ()  # other children the text names (another_child)
    missing: bool = False  # the text reports a child missing


def read(
    vocab: Vocabulary,
    step: str | None,
    text: str,
    detect: Detector | None = None,
    names: tuple[str, ...] = (),
    lang: str = "en",
) -> Reading:
    """What a reply at `step` (None: a first text, or after the intake) means.

    `detect`: a language model (flows.language.confidences, built once); None leaves
    language to the vocabulary's own markers. `names`: the children's names the
    conversation knows ("Emma is home" is read as "the child is home"); `lang`: the
    conversation's language."""
    folded = _HELD.sub(r"\1", key(text))
    text_lang = text_language(vocab, step, text, detect)
    role = caller_role(vocab, folded)
    as_child = _names_as_child(text, names, text_lang or lang)
    said = intents(vocab, as_child) if folded else frozenset()
    lang = text_lang
    extra = dict(lang=lang, role=role, missing="missing" in said, several=_several(vocab, folded))
    if not folded:  # "?", "...", an emoji alone
        return Reading(NON_ANSWER, text, **extra)
    word = keyword(vocab, text)
    if word is not None:
        return Reading(EVENT, text, event=word, keyword=True, **extra)
    if step in YES_NO_STEPS and (folded in vocab.yes or folded in vocab.no):
        return Reading(ANSWER, text, **extra)  # "yes they are here" (the police are)
    if _police_refused(vocab, text, folded):
        return Reading(EVENT, text, event=POLICE_REFUSED, **extra)
    if "found" in said or "found_unsure" in said:
        return Reading(EVENT, text, event=FOUND, hedged="found" not in said, **extra)
    several_given = (step == "child_name" and len(split_names(text, vocab)) > 1) or (
        step == "age_months" and len(split_ages(vocab, text)) > 1
    )  # "Liam and Emma", "7 and 5": the answer for several children
    if _phrase(vocab, "another_child", folded) and step is not None and not several_given:
        children = other_children(vocab, text)
        return Reading(EVENT, text, event=ANOTHER_CHILD, hedged=_hedged(vocab, folded),
                       children=children, **extra)  # fmt: skip
    if "person" in said:
        return Reading(EVENT, text, event=PERSON, **extra)
    if role is not None and step in ROLE_EVENT_STEPS:
        return Reading(EVENT, text, event=ROLE, **extra)
    rules = vocab.reading
    trimmed = _trim_polite(vocab, folded)
    if trimmed in rules.confused:  # "no entiendo" is no "no"
        return Reading(NON_ANSWER, text, **{**extra, "lang": rules.confused[trimmed]})
    if _says_dont_know(vocab, trimmed):  # "no se" neither
        return Reading(NON_ANSWER, text, unknown=True, **extra)
    if _whole_answer(vocab, step, text):
        return Reading(ANSWER, text, **extra)
    if trimmed in vocab.skip:  # "none", "n/a": no name; unknown where that is fair
        return Reading(NON_ANSWER, text, unknown=True, **extra)
    topic = question_topic(vocab, folded)
    if topic is not None:
        return Reading(QUESTION, text, topic=topic, **extra)
    if trimmed in rules.non_answers or not trimmed or _only_fillers(vocab, trimmed):
        return Reading(NON_ANSWER, text, **extra)
    return Reading(ANSWER, text, **extra)


def _only_fillers(vocab: Vocabulary, trimmed: str) -> bool:
    """Every word says nothing by itself: "ok ok", "hmm ok", "si si", "ummm hello"."""
    single = {w for w in vocab.reading.non_answers if " " not in w}
    return all(w in single for w in trimmed.split())


_CHILD_WORDS = {"es": "el nino"}  # what a child's name is read as, by language


def _names_as_child(text: str, names: tuple[str, ...], lang: str) -> str:
    """The text with the children's names said as "the kid" / "el nino", so the intent
    phrases read "Emma is home" or "ya llego Emma" as they read "the kid is home"."""
    for name in names:
        if name and len(name) > 1:
            word = _CHILD_WORDS.get(lang, "the kid")
            text = re.sub(rf"(?i)\b{re.escape(name)}\b", word, text)
    return text


def _says_dont_know(vocab: Vocabulary, trimmed: str) -> bool:
    """ "idk", "no se", or one of them followed only by filler ("idk the # yet")."""
    rules = vocab.reading
    if trimmed in rules.dont_know:
        return True
    words = trimmed.split()
    for n in range(min(len(words) - 1, 4), 0, -1):
        if " ".join(words[:n]) in rules.dont_know:
            return all(w in rules.filler for w in words[n:])
    return False


def _trim_polite(vocab: Vocabulary, folded: str) -> str:
    if vocab.polite is None:
        return folded
    return vocab.polite.sub("", folded).strip()


def _whole_answer(vocab: Vocabulary, step: str | None, text: str) -> bool:
    """A short word that answers this step though it says nothing elsewhere."""
    if step in YES_NO_STEPS:
        return parse_yes_no(vocab, text) is not None
    if step in SKIP_STEPS:
        return is_skip(vocab, text) or key(text) in vocab.no
    if step == "callback_phone":
        return is_same_number(vocab, text)
    return False


def is_not_a_name(vocab: Vocabulary, text: str) -> bool:
    """Words that never name a child: an update about the police ("ya llame y tomaron el
    reporte"), a time ("around 6pm", "20 min ago"), or ages alone ("7 and 5")."""
    if _phrase(vocab, "not_a_name", key(text)) or _CLOCK.search(text):
        return True
    if parse_last_seen_ago_minutes(vocab, text) is not None:
        return True
    return not any(any(c.isalpha() for c in part) for part in _SPLIT_NAMES.split(text) if part)


# A clock time: "6pm", "9:30 p.m.", "21:40" (never part of a child's name).
_CLOCK = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\b\.?|hrs?\b)|\b\d{1,2}:\d{2}\b", re.I)


def _phrase(vocab: Vocabulary, name: str, folded: str) -> bool:
    pattern = vocab.reading.phrases.get(name)
    return bool(pattern and pattern.search(f" {_mend(vocab, folded)} "))


def _mend(vocab: Vocabulary, folded: str) -> str:
    shorthand = vocab.intents.shorthand
    return " ".join(shorthand.get(w, w) for w in folded.split())


def _hedged(vocab: Vocabulary, folded: str) -> bool:
    hedges = vocab.intents.hedges
    return bool(hedges and hedges.search(f" {_mend(vocab, folded)} "))


def _several(vocab: Vocabulary, folded: str) -> bool:
    return bool(folded) and _phrase(vocab, "several_children", folded)


def _police_refused(vocab: Vocabulary, text: str, folded: str) -> bool:
    """Police refused or put the caller off: said as a fact, not asked ("do I wait?")."""
    if not _phrase(vocab, "police_refused", folded):
        return False
    reported = re.search(r"\b(said|say|says|told|tell|dijeron|dijo|dicen|dice)\b|^que ", folded)
    return bool(reported) or not is_question(vocab, text)


def question_topic(vocab: Vocabulary, folded: str) -> str | None:
    """The topic of a question to the line, or None."""
    padded = f" {_mend(vocab, folded)} "
    for topic, pattern in vocab.reading.questions.items():
        if pattern.search(padded):
            return topic
    return None


def caller_role(vocab: Vocabulary, folded: str) -> str | None:
    """Who the caller says they are, in any reply ("I work at the group home")."""
    padded = f" {_mend(vocab, folded)} "
    roles = vocab.reading.roles
    for role in ROLE_ORDER:
        pattern = roles.get(role)
        if pattern is not None and pattern.search(padded):
            return role
    return None


def text_language(
    vocab: Vocabulary, step: str | None, text: str, detect: Detector | None = None
) -> str | None:
    """The language a text is written in, or None when it does not show one.

    A whole message only one language uses ("si", "gracias") or the vocabulary's markers
    decide first; then lingua, for texts of three words or more, when it is sure. At a
    step whose answer is a name, only the vocabulary's words count."""
    folded = key(text)
    if not folded:
        return None
    for lang, words in vocab.lone_words.items():
        if folded in words:
            return lang
    marked = detect_language(vocab, text) or detect_language(vocab, _mend(vocab, folded))
    if step in NAME_STEPS:
        return marked if marked and _strong(vocab, folded, marked) else None
    if marked is not None or detect is None:
        return marked
    words = [w for w in folded.split() if w.isalpha()]
    if len(words) < MIN_WORDS_FOR_MODEL:
        return None
    scores = detect(text)
    best = max(scores, key=scores.get, default=None)
    return best if best is not None and scores[best] >= MODEL_SURE else None


def _strong(vocab: Vocabulary, folded: str, lang: str) -> bool:
    """The text has one of the language's strong words (not only its letters, as ñ)."""
    padded = f" {folded} "
    marker = next((m for m in vocab.markers if m.lang == lang), None)
    return marker is not None and any(f" {w} " in padded for w in marker.strong)


# --- children -----------------------------------------------------------------------


_NAMED = re.compile(
    r"\b(?:named|called|name is|names|se llama|llamado|llamada|nombre es)\s+([^\W\d_]+)", re.I
)


def other_children(vocab: Vocabulary, text: str) -> tuple[Child, ...]:
    """The child a reply about another child names ("my other son, Eli, hes 4")."""
    named = _NAMED.search(text)
    names = [named.group(1).capitalize()] if named else []
    names += [n for n in (_name_of(vocab, m) for m in _NAME.findall(text)) if n]
    age = parse_age_months(vocab, text)
    return (Child(name=names[0] if names else None, age_months=age),)


def _name_of(vocab: Vocabulary, found: str) -> str | None:
    """A capitalised run without the words that are never a name ("My", "Hes")."""
    known = vocab.reading.not_names | vocab.intents.known | vocab.keywords.keys()
    words = [w for w in found.split() if key(w) not in known and key(w) not in vocab.numbers]
    return " ".join(words) or None


# Between names given together: "Liam and Emma", "Ana y Sofia", "Liam, Emma", "Jo & Al".
_SPLIT_NAMES = re.compile(r"\s*(?:,|&|\band\b|\by\b|\be\b)\s*", re.IGNORECASE)


def name_of(vocab: Vocabulary, text: str) -> str:
    """A name as given, without words before it ("her name is Jasmine", "se llama Ana",
    "mi niño se llama Angel")."""
    words = " ".join(text.split()).split(" ")
    for n in range(min(len(words) - 1, 5), 0, -1):
        if key(" ".join(words[:n])) in vocab.reading.name_lead:
            return " ".join(words[n:])
    named = _NAMED.search(text)  # "... se llama Angel", "... named Eli"
    if named is not None:
        return text[named.start(1) :].strip(" .!")
    return " ".join(words)


def split_names(text: str, vocab: Vocabulary | None = None) -> list[str]:
    """Names given together: "Liam and Emma", "Ana y Sofia", "Liam, Emma"; else one.
    With `vocab`, words that are never a name go ("Ella and her brother Finn")."""
    parts = [p.strip(" .") for p in _SPLIT_NAMES.split(" ".join(text.split()))]
    if vocab is not None:
        parts = [_without_common(vocab, p) for p in parts]
    parts = [p for p in parts if p]
    if len(parts) < 2 or any(len(p.split()) > 3 or not any(c.isalpha() for c in p) for p in parts):
        return [" ".join(text.split())]
    return parts


def _without_common(vocab: Vocabulary, part: str) -> str:
    """A name without the words around it ("her brother Finn" -> "Finn")."""
    words = part.split()
    kept = [w for w in words if key(w) not in vocab.reading.not_names]
    return " ".join(kept) if kept and len(kept) < len(words) else part


_SPLIT_AGES = re.compile(r"\s*(?:,|&|\+|/|\band\b|\by\b|\bthe other\b|\bel otro\b)\s*")


def split_ages(vocab: Vocabulary, text: str) -> list[int]:
    """Ages given together ("7 and 5", "7 y 5 anos", "the boy is 7, the girl 5"), in order;
    "2 years and 3 months" is one age."""
    whole = parse_age_months(vocab, text)
    parts = [p for p in _SPLIT_AGES.split(normalize(text.replace("½", " 1/2 "))) if p.strip()]
    ages = [parse_age_months(vocab, p) for p in parts]
    read_ages = [a for a in ages if a is not None]
    if len(read_ages) < 2 or _months_of_one(vocab, parts):
        return [whole] if whole is not None else []
    return read_ages


def _months_of_one(vocab: Vocabulary, parts: list[str]) -> bool:
    """ "2 years and 3 months": a later part in months under a year adds to the first."""
    month_units = {w for w, size in vocab.age_units.items() if size == 1}
    for part in parts[1:]:
        words = part.split()
        if any(w in month_units for w in words):
            months = parse_age_months(vocab, part)
            if months is not None and months < 12:
                return True
    return False
