"""Parse free-text answers (texted or said) into plain values.

Pure functions, no I/O, nothing imported from the intake package. The words they
recognise come in a Vocabulary (flows/vocabulary.py), always the first argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

import phonenumbers

from flows.text import has as _has
from flows.text import key as _key
from flows.text import normalize
from flows.vocabulary import CARRIER_OPT_OUT_WORDS, LANGUAGE_KEYWORD, Vocabulary

# --- global keywords -------------------------------------------------------


def keyword(vocab: Vocabulary, text: str) -> str | None:
    """Return the global keyword the whole message means, or None.

    A language switch comes back as LANGUAGE_KEYWORD + code ("lang:es"); see
    switch_language.
    """
    words = _key(text).split()
    key = " ".join(w for i, w in enumerate(words) if i == 0 or w != words[i - 1])  # STOP STOP
    found = vocab.keywords.get(key)
    if found is None and vocab.polite is not None:
        found = vocab.keywords.get(vocab.polite.sub("", key).strip())
    return found


def is_carrier_opt_out_word(text: str) -> bool:
    """True when the whole message is one of Twilio's standard opt-out words (folded as
    keywords are: "Stop." is one, "opt-out" and "STOP STOP" are not)."""
    return _key(text) in CARRIER_OPT_OUT_WORDS


def switch_language(word: str | None) -> str | None:
    """The language code a keyword switches to ("lang:es" -> "es"), else None."""
    if word and word.startswith(LANGUAGE_KEYWORD):
        return word[len(LANGUAGE_KEYWORD) :]
    return None


def detect_language(vocab: Vocabulary, text: str) -> str | None:
    """Guess the language of a first message, or None for the line's default.

    A language is marked by one of its characters (¿ ¡ ñ), one strong word, or two weak
    ones; when several are marked, the one with the most marker words wins (then the
    first listed).
    """
    key = _key(text)
    words = key.split()
    best: tuple[int, str] | None = None
    for marker in vocab.markers:
        chars = any(c in text for c in marker.characters) if marker.characters else False
        strong = sum(1 for p in marker.strong if _has(key, (p,)))
        weak = len(marker.weak.intersection(words))
        if chars or strong or weak >= 2:
            score = 2 * (strong + chars) + weak
            if best is None or score > best[0]:
                best = (score, marker.lang)
    return best[1] if best else None


# --- numbers and quantities ------------------------------------------------

_HELD = re.compile(r"([a-z])\1{2,}")  # a letter held down: three or more of one
_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)?(?:/[0-9]+)*|[a-z]+|[^\sa-z0-9]")
_NOT_AGE_SYMBOLS = frozenset(":")  # 7:30 is a time, not an age
_AND_SYMBOLS = frozenset(",")  # "2 years, 3 months"


def _tokens(text: str) -> list[str]:
    """Split normalized text into numbers, words and single symbols."""
    return _TOKEN.findall(normalize(text))


def _digits(token: str) -> Fraction:
    """Value of a digit token: 7, 1.5, 1,5 or a small fraction like 1/2; else ValueError."""
    if "/" not in token:
        return Fraction(token.replace(",", "."))
    top, _, bottom = token.partition("/")
    if "/" in bottom or int(bottom) not in (2, 3, 4) or int(top) >= int(bottom):
        raise ValueError(token)  # a date such as 3/4/2019, not an age
    return Fraction(int(top), int(bottom))


def _read_number(vocab: Vocabulary, tokens: list[str], i: int) -> tuple[Fraction | None, int]:
    """Read digits or number words at i; return (value or None, next index)."""
    tok, j = tokens[i], i + 1
    after = tokens[j] if j < len(tokens) else ""
    if tok[0] in "0123456789":
        value = _digits(tok)
        if "/" not in tok and "/" in after:  # 2 1/2
            return value + _digits(after), j + 1
        return value, j
    if tok not in vocab.numbers:
        return None, i
    value = Fraction(vocab.numbers[tok])
    if tok in vocab.tens:  # twenty-one, twenty one, treinta y uno
        k = j + 1 if after in vocab.tens_joiners else j
        if k < len(tokens) and 1 <= vocab.numbers.get(tokens[k], 0) <= 9:
            return value + vocab.numbers[tokens[k]], k + 1
    return value, j


def _read_half(vocab: Vocabulary, tokens: list[str], j: int) -> tuple[Fraction, int]:
    """Read 'and a half' / 'y medio' at j; return (1/2 or 0, next index)."""
    for words in vocab.half_suffixes:
        if tuple(tokens[j : j + len(words)]) == words:
            return Fraction(1, 2), j + len(words)
    return Fraction(0), j


def _read_quantity(
    vocab: Vocabulary, tokens: list[str], i: int, units: Mapping[str, Fraction]
) -> tuple[Fraction, Fraction | None, int] | None:
    """Read '2', 'an hour', 'half an hour', '1 and a half years', 'hora y media' at i."""
    tok = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok in vocab.half_words and (after in units or after in vocab.articles):
        value, j = Fraction(1, 2), i + 1 + (after in vocab.articles)
    elif tok in vocab.articles and after in units:
        value, j = Fraction(1), i + 1
    elif tok in units and _read_half(vocab, tokens, i + 1)[0]:
        value, j = Fraction(1), i
    else:
        value, j = _read_number(vocab, tokens, i)
        if value is None:
            return None
    half, j = _read_half(vocab, tokens, j)
    unit = units.get(tokens[j]) if j < len(tokens) else None
    if unit is not None:
        j += 1
        if not half:
            half, j = _read_half(vocab, tokens, j)
    return value + half, unit, j


def parse_age_months(vocab: Vocabulary, text: str) -> int | None:
    """Age in whole months from '7', '18 months', 'siete anos'; '7 or 8' takes the first."""
    if re.match(r"\s*[-\u2212\u2013]\s*[0-9]", text):
        return None
    cleaned = text.replace("½", " 1/2 ")
    if _key(cleaned) in vocab.newborn:
        return 0
    cleaned = re.sub(r"([0-9])\s*y\s*[./]\s*o\b\.?", r"\1 yo", normalize(cleaned))
    tokens = _TOKEN.findall(cleaned)
    try:
        for i in range(len(tokens)):
            found = _read_quantity(vocab, tokens, i, vocab.age_units)
            if found is not None:
                return _age_months(vocab, tokens, found)
    except ValueError:
        return None
    return None


def _age_months(
    vocab: Vocabulary, tokens: list[str], found: tuple[Fraction, Fraction | None, int]
) -> int | None:
    """Turn a read quantity (default unit years) into months, adding '2 years 3 months'."""
    value, unit, j = found
    if unit is None:
        if j < len(tokens) and (tokens[j] in vocab.not_age or tokens[j] in _NOT_AGE_SYMBOLS):
            return None
        unit = Fraction(12)
    months = value * unit
    joiner = j < len(tokens) and (tokens[j] in vocab.and_words or tokens[j] in _AND_SYMBOLS)
    k = j + 1 if joiner else j
    if unit == 12 and k < len(tokens):
        more = _read_quantity(vocab, tokens, k, vocab.age_units)
        if more is not None and more[1] == 1:
            months += more[0]
    return int(months) if months <= 120 * 12 else None


def parse_last_seen_ago_minutes(vocab: Vocabulary, text: str) -> int | None:
    """Minutes since last seen from relative phrases ('2 hours ago', 'hace media hora')."""
    if _key(text) in vocab.just_now:
        return 0
    tokens = _tokens(text.replace("½", " 1/2 "))
    try:
        for i in range(len(tokens)):
            before = not vocab.ago_before.isdisjoint(tokens[max(0, i - 3) : i])  # hace 2 horas
            found = _read_quantity(vocab, tokens, i, vocab.minute_units)
            if found is None or found[1] is None:
                continue
            value, unit, j = found
            if before or (j < len(tokens) and tokens[j] in vocab.ago_after):
                return int(value * unit)
    except ValueError:
        return None
    return None


# --- short answers ---------------------------------------------------------


def parse_yes_no(vocab: Vocabulary, text: str) -> bool | None:
    """True/False for a yes/no answer (any language); a clear leading yes/no wins; else None.
    Keys are no words: what a key means is the voice adapter's (engine.Inbound.means).

    Without a leading yes/no, a police answer that plainly says the call is made
    ("I called 911", "la policia ya viene") or not made ("haven't called") counts too;
    a question ("should I call?") never does.
    """
    key = _HELD.sub(r"\1", _key(text))  # "yesss", "nooo"
    bare = vocab.polite.sub("", key).strip() if vocab.polite is not None else key  # "ok called"
    if key in vocab.yes or bare in vocab.yes:
        return True
    if key in vocab.no or bare in vocab.no:
        return False
    first, _, rest = key.partition(" ")
    rest_words = set(rest.split())
    if first in vocab.yes_lead and not rest_words & (vocab.unsure | vocab.negation):
        return True
    no_verb = _negates_a_verb(vocab, text, rest)  # "no tengo papeles" is no "No."
    if first in vocab.no_lead and not rest_words & (vocab.unsure | vocab.yes_lead) and not no_verb:
        return False
    if is_question(vocab, text):
        return None
    words = set(key.split())
    refuted = vocab.negation | vocab.negation_more | vocab.unsure
    if _has(key, vocab.called) and not words & refuted:
        return True
    if _has(key, vocab.not_called) and not words & (vocab.yes_lead | vocab.unsure):
        return False
    return None


def _negates_a_verb(vocab: Vocabulary, text: str, rest: str) -> bool:
    """A Spanish "no" run into what follows negates it ("no tengo", "no entiendo"): it
    answers nothing. "no, ..." with a pause, or English after it, is a plain no."""
    if not rest or re.match(r"\s*no\s*[,.!;:-]", text.casefold()):
        return False
    return detect_language(vocab, rest) == "es"


def is_question(vocab: Vocabulary, text: str) -> bool:
    """The caller is asking something ("what do I do?", "should I call?")."""
    first = _key(text).partition(" ")[0]
    return "?" in text or "\u00bf" in text or first in vocab.asking


# The menu of ask_relationship (texts and calls alike): 1 to 5.
_RELATIONSHIP_DIGITS = {
    "1": "parent",
    "2": "foster",
    "3": "caseworker",
    "4": "other",
    "5": "group_home",
}


def parse_relationship(vocab: Vocabulary, text: str) -> str | None:
    """The caller's role: parent, foster, caseworker, group_home, relative, other, or
    'unclear' ("mama de crianza": foster care or family who raised the child?); else None."""
    key = _key(text)
    if key in _RELATIONSHIP_DIGITS:
        return _RELATIONSHIP_DIGITS[key]
    for name, phrases in vocab.relationships:
        if _has(key, phrases):
            return name
    return None


def is_skip_word(vocab: Vocabulary, text: str) -> bool:
    """True when the whole answer is a skip word ("skip", "none", "saltar"): for questions
    whose answer is free text, where a skip phrase inside a longer answer is an answer."""
    return _key(text) in vocab.skip


def is_skip(vocab: Vocabulary, text: str) -> bool:
    """True when the caller asks to skip the question (any language): the whole answer
    is a skip word, or carries a skip phrase of two words or more ("no pic sorry")."""
    if is_skip_word(vocab, text):
        return True
    return _has(_key(text), tuple(p for p in vocab.skip if " " in p))


def is_same_number(vocab: Vocabulary, text: str) -> bool:
    """True when the caller says to use the number they are texting (or calling) from."""
    return _key(text) in vocab.same_number


def parse_phone(text: str, region: str | None, strict: bool = True) -> str | None:
    """The number in E.164, or None. strict: a valid number (what a caller typed);
    otherwise a possible one is enough (a sender Twilio has already checked)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    check = phonenumbers.is_valid_number if strict else phonenumbers.is_possible_number
    if not check(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- when last seen --------------------------------------------------------


def looks_like_when(vocab: Vocabulary, text: str) -> bool:
    """True when a 'last seen' answer has a digit, a time word, or says 'I don't know'."""
    key = _key(text)
    if re.search(r"[0-9]", key) or _has(key, vocab.when):
        return True
    words = key.split()  # "am" alone is too common ("I am ..."): need "seven am"
    return any(
        w in vocab.clock_suffix and prev in vocab.clock_words
        for prev, w in zip(words, words[1:], strict=False)
    )
