"""The SMS words: both languages complete, plain GSM-7, short, and true to the facts."""

from __future__ import annotations

import re
from pathlib import Path

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest

from intake.words import TEMPLATES_DIR, facts, render, template_names

LANGS = ("en", "es")
SMS_DIR = TEMPLATES_DIR / "sms"

REQUIRED = (
    "welcome",
    "fallback",
    "ask_name",
    "ask_age",
    "ask_when",
    "ask_where",
    "ask_description",
    "ask_police",
    "ask_police_report",
    "ask_relationship",
    "ask_photo",
    "ask_callback",
    "retry_name",
    "retry_age",
    "retry_when",
    "retry_where",
    "retry_description",
    "retry_police",
    "retry_police_report",
    "retry_relationship",
    "retry_photo",
    "retry_callback",
    "retry_callback_number",
    "police_urge",
    "police_reminder",
    "note_adult",
    "note_caseworker_duty",
    "summary",
    "after_intake",
    "found",
    "help",
    "opted_in",
    "opted_out",
    "language_set",
    "followup_1",
    "followup_2",
    "followup_3",
    "followup_4",
    "followup_5",
    "followup_6",
)

# What callers text to say the child is found, in each language's words.
FOUND_WORD = {"en": "FOUND", "es": "ENCONTRADO"}

# The brief's limit is 320 characters. Two concatenated GSM-7 segments really hold
# 2 x 153 = 306 septets (each part carries a header), and characters from the GSM
# extension table ([ ] { } ~ ^ | \ and the euro sign) take two septets each, so the
# check counts encoded septets against 306: that is what keeps a text at 2 segments.
MAX_CHARS = 320
TWO_SEGMENTS = 306

ORG = "Bright Path Family and Children Services"  # 40 characters
CHILD = "Maria Guadalupe Hernandez-Castillo Rivas"  # 40 characters
REF = "K7M3QX"
WORKER_TEXT = "I am calling you in two minutes from a blocked number. Please pick up, it is me."
CONTEXT = {"org": ORG, "child_name": CHILD, "ref": REF, "text": WORKER_TEXT}

# Templates that must make sense without an open case, so cannot use `ref`.
WITHOUT_REF = ("fallback", "found")


def test_context_is_full_size():
    assert len(ORG) == 40
    assert len(CHILD) == 40


def _names(lang: str) -> set[str]:
    return set(template_names("sms", lang))


def _all() -> list[tuple[str, str]]:
    return [(lang, name) for lang in LANGS for name in sorted(_names(lang))]


def _gsm_problem(text: str) -> str | None:
    """None when the text is plain GSM-7, else which character is not."""
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError as err:
        bad = text[err.start : err.end]
        around = text[max(0, err.start - 20) : err.end + 20]
        return f"{bad!r} (U+{ord(bad[0]):04X}) at {err.start}, in ...{around!r}..."
    return None


def _septets(text: str) -> int:
    return len(text.encode("gsm03.38"))


def _check_sms(text: str, label: str) -> None:
    problem = _gsm_problem(text)
    assert problem is None, f"{label} is not plain GSM-7: {problem}"
    assert len(text) <= MAX_CHARS, f"{label} has {len(text)} characters (max {MAX_CHARS})"
    assert _septets(text) <= TWO_SEGMENTS, (
        f"{label} needs {_septets(text)} septets: more than 2 SMS segments ({TWO_SEGMENTS})"
    )


# 1. Both languages hold the same templates, and every required one.


def test_languages_hold_the_same_templates():
    en, es = _names("en"), _names("es")
    assert en == es, f"only in en: {sorted(en - es)}; only in es: {sorted(es - en)}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_required_template_exists(lang):
    missing = sorted(set(REQUIRED) - _names(lang))
    assert not missing, f"{lang} is missing: {missing}"


# 2. Every template renders, in plain GSM-7, within two segments.


@pytest.mark.parametrize(("lang", "name"), _all())
def test_template_renders_short_and_plain(lang, name):
    text = render(name, lang, **CONTEXT)
    assert text.strip(), f"{lang}/{name} rendered empty"
    _check_sms(text, f"{lang}/{name}")
    assert "{" not in text and "}" not in text, f"{lang}/{name} left template syntax"


@pytest.mark.parametrize("lang", LANGS)
def test_welcome_and_first_question_fit_one_text(lang):
    text = render("welcome", lang, **CONTEXT) + "\n\n" + render("ask_name", lang, **CONTEXT)
    _check_sms(text, f"{lang}/welcome + ask_name")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", WITHOUT_REF)
def test_renders_without_a_case(lang, name):
    # StrictUndefined raises if the template uses ref.
    text = render(name, lang, org=ORG, child_name=CHILD)
    assert REF not in text


# 3. The facts each message must carry.


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ("welcome", "fallback"))
def test_safety_messages_carry_police_and_ncmec(lang, name):
    text = render(name, lang, **CONTEXT)
    assert facts()["police"] in text
    assert facts()["ncmec_digits"] in text
    assert ORG in text


@pytest.mark.parametrize("lang", LANGS)
def test_help_carries_police_and_stop(lang):
    text = render("help", lang, **CONTEXT)
    assert facts()["police"] in text
    assert facts()["ncmec_digits"] in text
    assert ORG in text
    assert "STOP" in text


@pytest.mark.parametrize("lang", LANGS)
def test_summary_gives_case_number_and_found_word(lang):
    text = render("summary", lang, **CONTEXT)
    assert REF in text
    assert FOUND_WORD[lang] in text
    assert facts()["ncmec_digits"] in text


@pytest.mark.parametrize("lang", LANGS)
def test_caseworker_duty_mentions_24_hours(lang):
    text = render("note_caseworker_duty", lang, **CONTEXT)
    assert "24" in text
    assert facts()["ncmec_digits"] in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("n", range(1, 7))
def test_followups_name_the_case_and_the_way_out(lang, n):
    text = render(f"followup_{n}", lang, **CONTEXT)
    assert REF in text.splitlines()[0][:20], "a follow-up begins with the case number"
    assert FOUND_WORD[lang] in text
    assert "STOP" in text


# The line cannot report to anyone or send anyone; no text may say or hint it.
NEVER_SAY = {
    "en": (
        r"\bwe (have )?(reported|called|told|notified|contacted|alerted)\b",
        r"\bwe('ve| have)? (sent|filed|made) (a |the |your )?report",
        r"\b(is|are) on (the|their) way\b",
        r"\b(is|are) coming\b",
        r"\bwill call you\b",
        r"\bwithin \d+ (minutes|hours)\b",
    ),
    "es": (
        r"\b(hemos|ya) (reportado|llamado|avisado|notificado)\b",
        r"\b(reportamos|notificamos)\b",
        r"\ben camino\b",
        r"\b(va|van) a llegar\b",
        r"\ble (llamaremos|vamos a llamar|llamara)\b",
        r"\ben \d+ (minutos|horas)\b",
    ),
}


@pytest.mark.parametrize(("lang", "name"), _all())
def test_never_claims_to_report_or_send_help(lang, name):
    text = render(name, lang, **CONTEXT).lower()
    for pattern in NEVER_SAY[lang]:
        assert not re.search(pattern, text), f"{lang}/{name} matches {pattern!r}"


# 4. Numbers come from facts.toml, never typed into a template.


def _typed_numbers() -> set[str]:
    found: set[str] = set()
    for value in facts().values():
        for part in re.findall(r"[0-9A-Z][0-9A-Z-]{2,}[0-9A-Z]|\d{3,}", value):
            found.add(part)
            digits = re.sub(r"\D", "", part)
            if len(digits) >= 3:
                found.add(digits)
    return found


def test_typed_numbers_cover_the_key_facts():
    numbers = _typed_numbers()
    assert {"911", "1-800-843-5678", "18008435678", "1-800-THE-LOST"} <= numbers


RAW_FILES = sorted(SMS_DIR.glob("*/*.txt"))


@pytest.mark.parametrize("path", RAW_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_number_typed_into_a_template(path: Path):
    raw = path.read_text(encoding="utf-8")
    outside_tags = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", raw, flags=re.S)
    flat = re.sub(r"[\s().-]", "", outside_tags)
    for number in _typed_numbers():
        assert number not in outside_tags, f"{path.parent.name}/{path.name} types {number!r}"
        bare = re.sub(r"[\s().-]", "", number)
        if bare.isdigit() and len(bare) >= 7:
            assert bare not in flat, f"{path.parent.name}/{path.name} types {number!r}"


# 5. What staff read: alerts and command replies, English, short enough to read half-awake.

STAFF_CONTEXT = {
    "org": ORG,
    "ref": REF,
    "age": "7",
    "area": "x" * 60,
    "ago": "about 2 h ago",
    "link": "https://line.bright-path-family-services.org/cases/K7M3QX",
    "name": "",
    "description": "",
    "who": "Jordan Alvarez-Whitfield",
    "callback": "+12125551234",
    "count": 3,
    "refs": "K7M3QX (age 7), ACDE34 (age 15), TUVW67 (age 2)",
    "ack": True,
    "urgent": True,
    "mine": "K7M3QX (+12125551234), ACDE34 (+12125551235), TUVW67 (+12125551236)",
    "others": "PQRS23 (taken by Jordan Alvarez-Whitfield)",
    "unknown": True,
    "why": "found",
    "reason": "stalled",
    "status": "found",
    "text": WORKER_TEXT,
}


@pytest.mark.parametrize("name", template_names("staff", "en"))
def test_staff_texts_are_short_and_plain(name):
    _check_sms(render(name, "en", channel="staff", **STAFF_CONTEXT), f"staff/{name}")


def test_a_minimal_alert_carries_no_name_and_asks_for_ack():
    text = render("oncall_alert", "en", channel="staff", **STAFF_CONTEXT)
    assert REF in text and "ACK" in text and STAFF_CONTEXT["link"] in text
    assert CHILD not in text


@pytest.mark.parametrize("name", template_names("voice", "en"))
def test_voice_words_render(name):
    assert render(name, "en", channel="voice", **STAFF_CONTEXT).strip()
