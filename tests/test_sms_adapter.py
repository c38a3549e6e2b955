"""The SMS adapter: Twilio's own opt-out words, de-duplication and the fallback."""

import pytest

from flows.parse import is_carrier_opt_out_word, keyword
from flows.vocabulary import CARRIER_OPT_OUT_WORDS, Vocabulary
from intake.core.words import vocabulary

VOCAB = vocabulary()


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOPALL",
        "Unsubscribe",
        "cancel",
        "END",
        "quit",
        "revoke",
        "OptOut",
    ],
)
def test_is_carrier_opt_out_word_true(text):
    assert is_carrier_opt_out_word(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "stop texting me",
        "please stop",
        "stop please",
        "STOP STOP",
        "stop all",
        "opt out",
        "opt-out",
        "unstop",
        "parar",
        "baja",
        "cancelar",
        "near the bus stop",
    ],
)
def test_is_carrier_opt_out_word_false(text):
    assert is_carrier_opt_out_word(text) is False


def test_every_carrier_opt_out_word_is_a_stop_keyword():
    assert CARRIER_OPT_OUT_WORDS == {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",
    }
    assert all(keyword(VOCAB, w) == "stop" for w in CARRIER_OPT_OUT_WORDS)


@pytest.mark.parametrize("text", ["STOP", "Stop.", "stopall", "OptOut", "STOP STOP"])
def test_the_carrier_words_stop_in_any_vocabulary_even_one_that_lists_none(text):
    bare = Vocabulary.from_languages({"en": {"keywords": {"stop": ["no more texts"]}}})
    assert keyword(bare, text) == "stop"  # one list: Twilio's words are not the file's to drop


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop.", "STOPALL", "unsubscribe", "CANCEL"])
def test_twilio_standard_opt_out_words_get_no_reply_from_us(phone, text):
    phone.text("my son is missing")
    assert phone.text(text) == []  # Twilio confirms these itself


@pytest.mark.parametrize("text", ["stop texting me", "please stop", "no más mensajes"])
def test_other_stop_phrases_are_confirmed_because_twilio_does_not(phone, text):
    phone.text("my son is missing")
    [reply] = phone.text(text)
    assert "START" in reply
