"""The words of the caller's call (templates/voice/<lang>/): both languages complete,
plain spoken words for <Say>, short to say, and true to the facts.

The staff alert call (templates/voice/en/oncall_*) is English only and tested in
tests/test_templates.py.
"""

from __future__ import annotations

import re

import pytest
from jinja2 import meta

from intake.core import words
from intake.core.words import TEMPLATES_DIR, facts, render, spelled, spoken_digits
from intake.devtools import words_report as report
from tests.test_templates import NEVER_SAY, spanish_misreadings

LANGS = ("en", "es")
VOICE_DIR = TEMPLATES_DIR / "voice"

ORG = report.ORG  # 40 characters
CHILD = report.CHILD  # 40 characters
REF = report.REF  # K7M3QX
CONTEXT = report.context()

# The contract with the call's code (intake/voice): these names, these parameters.
PARAMS: dict[str, set[str]] = {
    "summary": {"police_called", "followups", "card"},
    "whisper": {"lang"},
    "heard": {"heard"},
    "end_options": {"offer_checklist", "offer_photo"},
    "checklist_sent": {"minutes"},  # when the first follow-up goes (INTAKE_FOLLOWUP_SCHEDULE)
    "fallback": {"press_0"},  # 0 for a person only where a key press is heard
}
STEPS = (
    "police",
    "name",
    "age",
    "when",
    "where",
    "description",
    "police_report",
    "relationship",
    "callback",
)
REQUIRED = (
    "greeting",
    "menu",
    "ncmec_again",
    *(f"ask_{s}" for s in STEPS),
    *(f"retry_{s}" for s in STEPS),
    "retry_callback_number",  # the flow's retry when "same number" has no caller ID
    "ask_callback_number",  # after 2 at the callback question: the number itself
    "police_urge",
    "police_reminder",
    "note_adult",
    "note_caseworker_duty",
    "note_foster",
    "moving_on",
    "heard",
    "silence",
    "silence_end",
    "summary",
    "photo_text_sent",
    "checklist_sent",
    "goodbye",
    "connecting",
    "whisper",
    "whisper_no_key",
    "no_one_answered",
    "voicemail_kept",
    "no_one_on_call",
    "office_connecting",
    "fallback",
    "language_set",
    "language_offer",
)
# Said before a case exists (or when the database is down): no `ref`, no `child_name`.
WITHOUT_CASE = (
    "greeting",
    "menu",
    "ncmec_again",
    "silence",
    "silence_end",
    "fallback",
    "no_one_on_call",
    "connecting",
    "no_one_answered",
    "voicemail_kept",
    "office_connecting",
    "goodbye",
    "language_set",
    "language_offer",
    "whisper",  # a caller may press 0 during the greeting
)
# Each must give the police number and the NCMEC number, said slowly.
SAFETY = ("greeting", "ncmec_again", "summary", "silence_end", "fallback", "no_one_on_call")

POLICE = spoken_digits(facts()["police"])  # "9 1 1"
NCMEC = spoken_digits(facts()["ncmec_digits"])  # "1, 8 0 0, 8 4 3, 5 6 7 8"
SPELLED_REF = spelled(REF)


def _names(lang: str) -> set[str]:
    return set(report.voice_templates(lang))


def _source(lang: str, name: str) -> str:
    return (VOICE_DIR / lang / f"{name}.txt").read_text(encoding="utf-8")


def _say(name: str, lang: str, /, org: str = ORG, **params) -> str:
    return report.render_voice(name, lang, org=org, **params)


def _cases() -> list[tuple[str, str, dict]]:
    return [
        (lang, name, params)
        for lang in LANGS
        for name in sorted(_names(lang))
        for params in report.voice_variants(name)
    ]


def _id(case) -> str:
    lang, name, params = case
    shown = ",".join(f"{k}={v}"[:24] for k, v in params.items())
    return f"{lang}/{name}" + (f"[{shown}]" if shown else "")


CASES = _cases()


# 1. The filters that make Polly read numbers and codes slowly.


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("1-800-843-5678", "1, 8 0 0, 8 4 3, 5 6 7 8"),
        ("911", "9 1 1"),
        ("711", "7 1 1"),
        ("(212) 555-1234", "2 1 2, 5 5 5, 1 2 3 4"),
        ("+1 212 555 1234", "1, 2 1 2, 5 5 5, 1 2 3 4"),
        ("", ""),
    ],
)
def test_spoken_digits(raw, said):
    assert spoken_digits(raw) == said


@pytest.mark.parametrize(
    ("raw", "said"),
    [("K7M3QX", "K, 7, M, 3, Q, X"), ("acd", "a, c, d"), ("K7-M3", "K, 7, M, 3"), ("", "")],
)
def test_spelled(raw, said):
    assert spelled(raw) == said


def test_filters_are_registered_for_templates():
    assert render("ncmec_again", "en", channel="voice", **CONTEXT).count(NCMEC) >= 1


# 2. Both languages hold the same templates, with the same parameters.


def test_languages_hold_the_same_templates():
    en, es = _names("en"), _names("es")
    assert en == es, f"only in en: {sorted(en - es)}; only in es: {sorted(es - en)}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_required_template_exists(lang):
    missing = sorted(set(REQUIRED) - _names(lang))
    assert not missing, f"voice/{lang} is missing: {missing}"
    assert not {"ask_photo", "retry_photo"} & _names(lang), "there is no photo step on a call"


@pytest.mark.parametrize("name", sorted(_names("en")))
def test_languages_use_the_same_params(name):
    env = words._environment()
    used = {
        lang: meta.find_undeclared_variables(env.parse(_source(lang, name))) - {"facts"}
        for lang in LANGS
    }
    assert used["en"] == used["es"], f"{name}: params differ {used}"
    own = used["en"] - {"org", "ref", "child_name"}
    assert own == PARAMS.get(name, set()), f"{name} takes {sorted(own)}"
    for lang in LANGS:
        fact_names = set(re.findall(r"facts\.(\w+)", _source(lang, name)))
        assert fact_names <= set(facts()), f"{lang}/{name} uses an unknown fact"


# 3. Every template renders at full size, in every variant, as plain spoken text.


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_renders_plain_spoken_text(case):
    lang, name, params = case
    text = _say(name, lang, **params)  # StrictUndefined: a missing param raises
    assert text.strip(), f"{lang}/{name} rendered empty"
    assert not re.search(r"[{}<>]", text), f"{lang}/{name}: template syntax or SSML/XML"
    assert not re.search(r"https?:|www\.|\.(org|com|net)\b", text), f"{lang}/{name}: a URL"
    assert "\u2014" not in text and "\u2013" not in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", WITHOUT_CASE)
def test_renders_without_a_case(lang, name):
    params = {"lang": "es"} if name == "whisper" else {}
    text = render(name, lang, channel="voice", org=ORG, **params)
    assert REF not in text and "None" not in text


# Words that only make sense in a text message: a caller cannot "reply" or "text STOP".
SMS_ONLY = (
    r"\btext(ing)? (stop|found|help|skip|same|us)\b",
    r"\breply\b",
    r"\btype\b",
    r"\bresponda\b",
    r"\bescriba\b",
    r"\bSTOP\b",
    r"\bSKIP\b",
    r"\bSAME\b",
    r"\bFOUND\b",
    r"\bHELP\b",
    r"\bMISMO\b",
    r"\bSALTAR\b",
    r"\bENCONTRADO\b",
    r"\bAYUDA\b",
    r"\bphoto step\b",
)
# Capitals Polly might spell out: only these may appear (single letters come from `ref`).
CAPITALS_OK = {"NCMEC", "OK"}


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_no_sms_words(case):
    lang, name, params = case
    text = _say(name, lang, **{**params, **({"heard": "x"} if "heard" in params else {})})
    for pattern in SMS_ONLY:
        assert not re.search(pattern, text, flags=re.I if pattern.islower() else 0), (
            f"{lang}/{name} matches {pattern!r}"
        )
    text = text.replace(ORG, "").replace(CHILD, "")
    capitals = set(re.findall(r"\b[A-ZÁÉÍÓÚÑ]{2,}\b", text)) - CAPITALS_OK
    assert not capitals, f"{lang}/{name}: {capitals} may be spelled out by the voice"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_never_claims_to_report_or_send_help(case):
    lang, name, params = case
    text = _say(name, lang, **params).lower()
    for pattern in NEVER_SAY[lang]:
        assert not re.search(pattern, text), f"{lang}/{name} matches {pattern!r}"


def _typed_numbers() -> set[str]:
    found: set[str] = set()
    for value in facts().values():
        for part in re.findall(r"\d{3,}", value):
            found.add(part)
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_no_number_typed_into_a_template(lang):
    for name in _names(lang):
        raw = _source(lang, name)
        outside = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", raw, flags=re.S)
        digits = re.sub(r"\D", " ", outside)
        for number in _typed_numbers():
            assert number not in digits.split(), f"{lang}/{name} types {number!r}"


# 4. The facts each sentence must carry.


@pytest.mark.parametrize("case", [c for c in CASES if c[1] in SAFETY], ids=_id)
def test_safety_words_carry_police_and_ncmec_said_slowly(case):
    lang, name, params = case
    text = _say(name, lang, **params)
    assert NCMEC in text, f"{lang}/{name} lacks the NCMEC number digit by digit"
    assert POLICE in text, f"{lang}/{name} lacks the police number"
    assert facts()["ncmec_digits"] not in text, "a number said fast, as one word"


FIRST_RULES = {
    "en": ("hang up and dial", "no waiting period", "do not tell NCMEC", "refuse or delay"),
    "es": (
        "cuelgue y marque",
        "No hay periodo de espera",
        "no le avisa a NCMEC",
        "se niega o tarda",
    ),
}
DANGER = {"en": "If a child is in danger right now", "es": "Si un niño o una niña corre peligro"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ("greeting", "fallback"))
def test_greeting_says_the_danger_line_first(lang, name):
    text = _say(name, lang)
    assert text.startswith(DANGER[lang]), "the first words are the danger line"
    assert text.index(POLICE) < text.index("NCMEC") < text.index(NCMEC)
    for rule in FIRST_RULES[lang]:
        assert rule in text, f"{lang}/{name} lacks {rule!r}"
    assert "?" not in text, "no question in the first words"
    assert ORG in text


def test_english_greeting_gives_the_hotline_letters():
    assert "1 800 the lost" in _say("greeting", "en")


def test_fallback_offers_a_person_and_a_call_back():
    assert "Press 0" in _say("fallback", "en") and "call back" in _say("fallback", "en")
    assert "oprima 0" in _say("fallback", "es") and "vuelva a llamar" in _say("fallback", "es")


def test_each_language_offers_itself_in_its_own_words():
    # said on a call in the other language, in this language's voice
    assert _say("language_offer", "es") == "Para español, oprima 2."
    assert _say("language_offer", "en") == "For English, press 2."


def test_menu_offers_a_person_and_the_number_at_any_time():
    en, es = _say("menu", "en"), _say("menu", "es")
    assert "At any time" in en and "press 0" in en and "9" in en
    assert "En cualquier momento" in es and "oprima 0" in es and "9" in es
    assert "2" not in en + es, "2 is an answer at the questions: the menu never promises it"


@pytest.mark.parametrize("lang", LANGS)
def test_ncmec_again_says_the_number_twice(lang):
    text = _say("ncmec_again", lang)
    assert text.count(NCMEC) == 2
    assert FIRST_RULES[lang][2] in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("params", list(report.voice_variants("summary")), ids=str)
def test_summary(lang, params):
    text = _say("summary", lang, **params)
    assert text.count(SPELLED_REF) == 2, "the case reference, spelled, twice"
    assert {"en": "We cannot report to police or NCMEC for you", "es": "No podemos reportar"}[
        lang
    ] in text
    assert not report.KEY_SENTENCE[lang].search(text), "the keys are end_options' (after)"
    police_now = {"en": "Call the police at", "es": "Llame ya a la policía"}[lang]
    if params["police_called"] is not True:
        assert text.startswith(police_now), "the police call comes first"
        assert text.index(POLICE) < text.index("NCMEC")
    else:
        assert police_now not in text


@pytest.mark.parametrize("lang", LANGS)
def test_police_urge_asks_again_with_keys(lang):
    text = _say("police_urge", lang)
    assert POLICE in text and NCMEC in text
    assert FIRST_RULES[lang][3] in text  # refuse or delay
    keys = {"en": ("Press 1", "Press 2"), "es": ("oprima 1", "oprima 2")}[lang]
    assert all(key in text for key in keys)
    assert report.words_before_keys(text, lang) <= report.MAX_WORDS_BEFORE_KEYS


@pytest.mark.parametrize("lang", LANGS)
def test_caseworker_duty_mentions_24_hours_and_not_a_report(lang):
    text = _say("note_caseworker_duty", lang)
    assert "24" in text and NCMEC in text
    assert {"en": "This call is not a report", "es": "Esta llamada no es un reporte"}[lang] in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("caller_lang", ("en", "es"))
def test_whisper_names_the_case_and_the_language(lang, caller_lang):
    text = _say("whisper", lang, lang=caller_lang)
    assert SPELLED_REF in text and ORG in text
    said = {
        ("en", "en"): "English",
        ("en", "es"): "Spanish",
        ("es", "en"): "inglés",
        ("es", "es"): "español",
    }[(lang, caller_lang)]
    assert said in text


@pytest.mark.parametrize("lang", LANGS)
def test_heard_reads_back_the_answer(lang):
    text = _say("heard", lang, heard="Jamie Smith")
    assert "Jamie Smith" in text and "1" in text and "2" in text


# 5. Spanish a native speaker trusts: voice is not SMS, so every accent is written.
UNACCENTED = ("policia", "numero", "telefono", "digitos", "tambien", "despues", "aqui", "mas")


@pytest.mark.parametrize("case", [c for c in CASES if c[0] == "es"], ids=_id)
def test_spanish_writes_its_accents(case):
    _, name, params = case
    text = _say(name, "es", **params).replace(ORG, "").replace(CHILD, "")
    text = text.replace(report.HEARD[1], "")
    for word in re.findall(r"\w+", text.lower()):
        assert word not in UNACCENTED, f"es/{name}: {word!r} lacks its accent"
    for question in re.findall(r"¿([^?]*)\?", text):
        first = question.split()[0].lower()
        assert first not in ("como", "donde", "cuando", "cuantos", "cual", "que", "quien")


# 6. Short to say, and easy to follow.

# name: why it may read above grade 6
FK_EXCEPTIONS: dict[str, str] = {
    "heard": "the caller's own words, read back",
}


@pytest.mark.parametrize("case", [c for c in CASES if c[0] == "en"], ids=_id)
def test_english_reads_at_sixth_grade_or_below(case):
    _, name, params = case
    if name in FK_EXCEPTIONS:
        return
    text = _say(name, "en", org=report.SHORT_ORG, **params)
    assert report.fk_grade(text) <= 6, f"en/{name} {params}: FK {report.fk_grade(text):.1f}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_short_to_say(case):
    lang, name, params = case
    seconds = report.speaking_seconds(_say(name, lang, **params))
    assert seconds <= report.max_voice_seconds(name), f"{lang}/{name}: about {seconds:.0f} s"


PROMPT_CASES = [c for c in CASES if report.is_prompt(c[1])]


@pytest.mark.parametrize("case", PROMPT_CASES, ids=_id)
def test_a_prompt_gives_its_keys_within_25_words(case):
    # Held by ear: the question and its keys first, the explanation after; a prompt
    # answered by speech is short in all.
    lang, name, params = case
    text = _say(name, lang, **params)
    before = report.words_before_keys(text, lang)
    assert before <= report.MAX_WORDS_BEFORE_KEYS, f"{lang}/{name}: {before} words first"


def test_the_measure_counts_the_words_before_the_first_key():
    assert report.words_before_keys("How old? Key in the age. Or say it.", "en") == 2
    assert report.words_before_keys("¿Ya llamó? Para sí, oprima 1.", "es") == 2
    assert report.words_before_keys("What is the name? Say it now.", "en") == 7
    assert {"ask_age", "retry_police", "heard", "end_options", "menu"} <= {
        n for n in _names("en") if report.is_prompt(n)
    }


@pytest.mark.parametrize("case", [c for c in CASES if c[0] == "es"], ids=_id)
def test_spanish_call_reads_as_meant(case):
    _, name, params = case
    text = _say(name, "es", **params)
    assert not spanish_misreadings(text), f"es/{name}: {spanish_misreadings(text)}"


def test_only_the_listed_templates_may_run_long():
    assert set(report.LONG_VOICE) == {"greeting", "fallback", "summary"}
    assert all(limit <= 45 for limit in report.LONG_VOICE.values())


def test_speaking_time_is_words_at_150_a_minute():
    assert report.speaking_seconds("word " * 150) == 60
    assert report.speaking_seconds("") == 0


def test_the_report_lists_the_call():
    import io

    out = io.StringIO()
    assert report.voice_report(out, show_text=True) == 0, out.getvalue()
    text = out.getvalue()
    assert "en: voice call" in text and "es: voice call" in text
    assert "summary police_called=None followups=True" in text
    assert "oncall_alert" not in text
