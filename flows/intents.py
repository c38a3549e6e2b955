"""What a free text means, wherever it comes: found, found_unsure, person or missing.

The phrases are data (the [intents] sections of templates/vocabulary/<lang>.toml),
compiled once into the Vocabulary. How a text is read:

1. It is cut into sentences at . ! ? ; , and at words such as "but" / "pero"; each is
   folded (lower case, no accents, no apostrophes), SMS shorthand is spelled out
   ("u" -> "you", "pls" -> "please", "porfa" -> "por favor"), letters held down are
   cut ("fouuund" -> "found"), and a small typo toward a known word is mended
   ("foudn" -> "found", "encontramo" -> "encontramos": one letter dropped, added or
   two swapped, in words of five letters or more; never a different letter, so
   "sound" never becomes "found").
2. In each sentence, each intent's `except` phrases are blanked out first ("lost and
   found", "missing a tooth"), then its `phrases` are looked for.
3. A negation earlier in the sentence ("we haven't found him", "no lo hemos
   encontrado", "if you find him") cancels the match. A cancelled "found" says the
   child is still missing: it counts as "missing" and rules out "found_unsure"; so do
   the `still_missing` phrases ("still not found", "sigue desaparecido").
4. "found" in a question that starts with an asking word ("did anyone find him?",
   "has she been found") means nothing; in a sentence that ends in ? ("found him?")
   or carries a hedge ("I think we found him", "creo que", "si") it is only
   "found_unsure". A "found_unsure" phrase in a question that starts with an asking
   word ("did anyone see him?") means nothing too, and so does "missing" ("is this the
   missing child line?"); a request for a person may be a question ("can u call me?").
   A Spanish sentence opened with ¿ is always such a question.

Precedence (intent() returns the first that applies): found > found_unsure > person >
missing. A clear find wins over everything ("we found him, he was missing 2 hours");
a possible find is asked about before anything else; a plain request for a person
beats "missing", which is what every text to this line is about anyway.
"""

from __future__ import annotations

import re

from flows.phrases import INTENTS, STILL_MISSING, IntentRules
from flows.text import key
from flows.vocabulary import Vocabulary

_SENTENCE = re.compile(r"[^.!?;,:\n\u00a1\u00bf()\[\]]+")
_HELD = re.compile(r"([a-z])\1{2,}")  # "pleeease", "hiiim": three or more of one letter
_BLANK = " ~ "  # stands in for blanked-out words, so phrases cannot join across them


def intent(vocab: Vocabulary, text: str) -> str | None:
    """The one intent a text carries, by precedence; None for none."""
    return first(intents(vocab, text))


def first(said: frozenset[str]) -> str | None:
    """The intent that wins among those a text carries."""
    return next((name for name in INTENTS if name in said), None)


def is_new_report(said: frozenset[str]) -> bool:
    """The text reports a child missing, not that the child is *still* missing (an
    update on a case the caller already has: "still no sign of him")."""
    return first(said) == "missing" and STILL_MISSING not in said


def intents(vocab: Vocabulary, text: str) -> frozenset[str]:
    """Every intent a text carries (after the rules above), for callers that need more."""
    rules = vocab.intents
    out: set[str] = set()
    still_missing = False
    for sentence, question, opened in _sentences(vocab, text):
        said, not_found = _read(rules, sentence, question, opened)
        out |= said
        still_missing = still_missing or not_found
    if "found" in out:
        return frozenset(out - {"found_unsure"})
    if still_missing:
        out.discard("found_unsure")
        out |= {"missing", STILL_MISSING}
    return frozenset(out)


def _sentences(vocab: Vocabulary, text: str) -> list[tuple[str, bool, bool]]:
    """(folded sentence padded with spaces, ends in ?, opens with ¿) in order."""
    rules = vocab.intents
    folded = text[:2000].casefold()
    out = []
    for match in _SENTENCE.finditer(folded):
        tail = folded[match.end() : match.end() + 4]
        head = folded[max(0, match.start() - 2) : match.start()]
        question = "?" in tail.split(" ")[0]
        opened = "\u00bf" in head
        parts = rules.clause_breaks.split(key(match.group())) if rules.clause_breaks else None
        pieces = [p for p in (parts or [key(match.group())]) if p.strip()]
        for i, piece in enumerate(pieces):
            words = _mend(rules, piece)
            if vocab.polite is not None:  # "help me please", "ok we found him"
                words = vocab.polite.sub("", words).strip() or words
            if words:
                last = i == len(pieces) - 1
                out.append((f" {words} ", question and last, opened and i == 0))
    return out


def _mend(rules: IntentRules, text: str) -> str:
    """Spell out shorthand, cut held letters, mend small typos toward known words."""
    out = []
    for word in _HELD.sub(r"\1", key(text)).split():
        word = rules.shorthand.get(word, word)
        out.append(word if " " in word else _typo(rules, word))
    return " ".join(out)


def _typo(rules: IntentRules, word: str) -> str:
    if word in rules.known or len(word) < 5 or word.isdigit():
        return word
    mended = rules.near.get(word)  # a letter dropped: "encontramo"
    if mended is None:
        for i in range(len(word)):
            dropped = word[:i] + word[i + 1 :]  # a letter added: "foundd"
            if dropped in rules.known and len(dropped) >= 5:
                mended = dropped
                break
            swapped = word[:i] + word[i + 1 : i + 2] + word[i : i + 1] + word[i + 2 :]
            if i + 1 < len(word) and swapped in rules.known:  # two swapped: "foudn"
                mended = swapped
                break
    if mended is not None and mended[0] == word[0]:
        return mended
    return word


def _read(rules: IntentRules, sentence: str, question: bool, opened: bool) -> tuple[set[str], bool]:
    """The intents of one sentence, and whether it says the child is not found."""
    hedged = bool(rules.hedges and rules.hedges.search(sentence))
    asking = opened or bool(rules.asking and rules.asking.search(sentence))
    said: set[str] = set()
    not_found = False
    for name in (*INTENTS, STILL_MISSING):
        rule = rules.rules[name]
        if rule.phrases is None:
            continue
        text = rule.excepted.sub(_BLANK.rstrip(), sentence) if rule.excepted else sentence
        match = rule.phrases.search(text)
        if match is None:
            continue
        before = text[: match.start() + 1]
        if rules.not_negation is not None:  # "no worries", "not sure if": not negations
            before = rules.not_negation.sub(_BLANK.rstrip(), before)
        if rules.negation is not None and rules.negation.search(before):
            not_found = not_found or name == "found"
            continue
        if name == "found":
            if not asking:
                said.add("found_unsure" if hedged or question else "found")
        elif name == STILL_MISSING:
            not_found = True
        elif name != "person" and asking:  # "did anyone see him?", "is this the missing..."
            continue
        else:
            said.add(name)
    return said, not_found
