"""The vocabulary is data: the real files load, and a third language is a dict of words."""

from __future__ import annotations

import pytest

from flows.engine import ACTIVE, ENDED, Inbound, State, run
from flows.intake import intake_flow
from flows.intents import intent
from flows.parse import detect_language, keyword, parse_yes_no, switch_language
from flows.vocabulary import SECTIONS, Vocabulary
from intake.core.words import vocabulary, vocabulary_files

# A made-up language, "xx" ("Zorbish"), as a staff member would write zz.toml: only words.
ZORBISH = {
    "keywords": {
        "stop": ["zop", "zop zending"],
        "help": ["halpa"],
        "found": ["fondo", "fondo zim"],
        "language": ["zorbish", "en zorbo"],
    },
    "polite": {"after": ["plizzo"]},
    "detect": {"characters": "ʒ", "strong": ["zim", "zorbo"], "weak": ["ka", "lu"]},
    "yes_no": {
        "yes": ["ja", "ja ja"],
        "no": ["nix"],
        "yes_lead": ["ja"],
        "no_lead": ["nix"],
    },
    "intents": {
        "groups": {"zkid": ["zim", "zam", "mi zim"]},
        "negation": ["nimmer"],
        "found": {"phrases": ["{zkid} fondo", "fondo {zkid}"]},
        "missing": {"phrases": ["{zkid} verloro"]},
        "person": {"phrases": ["halpa mi"]},
    },
}


@pytest.fixture(scope="module")
def three():
    return Vocabulary.from_languages({**vocabulary_files(), "xx": ZORBISH})


def test_real_files_load_and_cover_every_section():
    files = vocabulary_files()
    assert list(files)[:2] == ["en", "es"]
    for data in files.values():
        assert set(data) <= set(SECTIONS)
    assert vocabulary() is vocabulary()  # read once


def test_third_language_yes_no(three):
    assert parse_yes_no(three, "ja") is True
    assert parse_yes_no(three, "JA JA") is True
    assert parse_yes_no(three, "ja, zim fondo") is True
    assert parse_yes_no(three, "nix") is False
    assert parse_yes_no(three, "yes") is True  # the others still work alongside
    assert parse_yes_no(three, "todavia no") is False


def test_third_language_keywords(three):
    assert keyword(three, "ZOP") == "stop"
    assert keyword(three, "zop plizzo") == "stop"
    assert keyword(three, "halpa") == "help"
    assert keyword(three, "fondo zim") == "found"
    assert keyword(three, "zorbish") == "lang:xx"
    assert switch_language(keyword(three, "en zorbo")) == "xx"
    assert keyword(three, "stop") == "stop"
    assert keyword(three, "español") == "lang:es"


def test_third_language_detection(three):
    assert detect_language(three, "zim zim verloro") == "xx"
    assert detect_language(three, "ka lu") == "xx"
    assert detect_language(three, "ʒ") == "xx"
    assert detect_language(three, "mi hijo esta perdido") == "es"
    assert detect_language(three, "my son is missing") is None


def test_third_language_intents(three):
    assert intent(three, "mi zim verloro") == "missing"
    assert intent(three, "zam fondo!!") == "found"
    assert intent(three, "nimmer zam fondo") == "missing"  # a negated find
    assert intent(three, "halpa mi") == "person"
    assert intent(three, "we found him") == "found"


def test_third_language_runs_the_flow(three):
    flow = intake_flow("US", three)
    started = run(flow, State(), Inbound(text="zim verloro", sender="+12125551234", channel="sms"))
    assert started.state.status == ACTIVE and started.state.lang == "xx"
    switched = run(flow, started.state, Inbound(text="english", channel="sms"))
    assert switched.state.lang == "en"
    ended = run(flow, switched.state, Inbound(text="fondo", channel="sms"))
    assert ended.state.status == ENDED


def test_without_a_language_nothing_is_recognised_but_the_carriers_stop_words():
    empty = Vocabulary.from_languages({})
    assert keyword(empty, "stop") == "stop"  # Twilio stops the texts whatever the files say
    assert keyword(empty, "help") is None
    assert parse_yes_no(empty, "yes") is None
    assert detect_language(empty, "hola") is None
    assert intent(empty, "we found him") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"keyword": {}}, "unknown section"),
        ({"keywords": {"stopp": ["x"]}}, "unknown entry"),
        ({"keywords": {"stop": ["yes"]}, "yes_no": {}}, None),
        ({"intents": {"found": {"phrase": ["x"]}}}, "unknown entry"),
        ({"intents": {"found": {"phrases": ["{nope} found"]}}}, "unknown group"),
        ({"intents": {"groups": {"a": ["{a}"]}, "found": {"phrases": ["{a}"]}}}, "uses itself"),
        ({"intents": {"found": {"phrases": ["^ $"]}}}, "no words"),
    ],
)
def test_mistakes_in_a_file_are_caught(data, message):
    if message is None:
        Vocabulary.from_languages({"xx": data})
        return
    with pytest.raises(ValueError, match=message):
        Vocabulary.from_languages({"xx": data})


def test_one_phrase_with_two_meanings_is_caught():
    with pytest.raises(ValueError, match="both"):
        Vocabulary.from_languages(
            {"xx": {"keywords": {"stop": ["zop"]}}, "yy": {"keywords": {"help": ["zop"]}}}
        )


def test_a_bad_language_code_is_caught():
    with pytest.raises(ValueError, match="language code"):
        Vocabulary.from_languages({"English": {}})
