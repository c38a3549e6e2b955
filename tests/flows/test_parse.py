"""Tests for flows.parse: free-text SMS answers in English and Spanish."""

from functools import partial

import pytest

from flows.parse import (
    detect_language,
    is_same_number,
    is_skip,
    keyword,
    looks_like_when,
    normalize,
    parse_age_months,
    parse_last_seen_ago_minutes,
    parse_phone,
    parse_relationship,
    parse_yes_no,
)
from intake.core.words import vocabulary

VOCAB = vocabulary()  # built from the real templates/vocabulary/*.toml

LONG = "a" * 2000
LONG_WORDS = "stop " * 400
HOSTILE = [
    "",
    "   ",
    "🙂",
    "🙂🙂🙂",
    "'; DROP TABLE cases;--",
    "<script>alert(1)</script>",
    LONG,
    "李小明",
    "Привет",
    "مرحبا",
    "\x00\x01",
    "?!?!",
]
HOSTILE_NO_DIGITS = [t for t in HOSTILE if not any(c.isdigit() for c in t)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  STOP  ", "stop"),
        ("Español", "espanol"),
        ("niño", "nino"),
        ("AÑOS", "anos"),
        ("don\u2019t", "don't"),
        ("\u201cquoted\u201d", "quoted"),
        ("a   b\t\nc", "a b c"),
        ("¿Dónde está?", "donde esta"),
        ("...help!!!", "help"),
        ("", ""),
        ("李小明", "李小明"),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[
            (w, "stop")
            for w in (
                "stop",
                "STOP",
                "Stop.",
                "stopall",
                "unsubscribe",
                "cancel",
                "end",
                "quit",
                "revoke",
                "optout",
                "opt out",
                "opt-out",
                "stop texting me",
                "please stop",
                "stop please",
                "stop texting",
                "don't text me",
                "dont text me",
                "don\u2019t text me",
                "do not text me",
                "no more texts",
                "parar",
                "baja",
                "cancelar",
                "no me envíen más mensajes",
                "no me envien mas mensajes",
                "no más mensajes",
                "stop 🛑",
                "STOP STOP",
                "stop!! stop!!",
                "ok stop",
                "stop now",
                LONG_WORDS,
            )
        ],
        *[(w, "start") for w in ("start", "START", "unstop")],
        *[
            (w, "help")
            for w in (
                "help",
                "HELP",
                "info",
                "ayuda",
                "talk to someone",
                "talk to a person",
                "i need to talk to someone",
                "speak to someone",
                "call me",
                "hablar con alguien",
                "quiero hablar con alguien",
                "llámame",
                "llamame",
            )
        ],
        *[
            (w, "found")
            for w in (
                "found",
                "FOUND",
                "found him",
                "found her",
                "found them",
                "we found him",
                "we found her",
                "we found them",
                "I found him",
                "i found her",
                "i found them",
                "she's home",
                "shes home",
                "she\u2019s home",
                "he's home",
                "hes home",
                "child found",
                "encontrado",
                "encontrada",
                "lo encontramos",
                "la encontramos",
                "ya apareció",
                "ya aparecio",
            )
        ],
        *[(w, "restart") for w in ("restart", "start over", "reiniciar", "empezar de nuevo")],
        *[(w, "lang:es") for w in ("español", "espanol", "Spanish", "en español")],
        *[(w, "lang:en") for w in ("english", "inglés", "ingles", "in English")],
    ],
)
def test_keyword_matches(text, expected):
    assert keyword(VOCAB, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "near the bus stop",
        "found his shoe",
        "we found his shoe at the park",
        "he was at the bus stop",
        "yes",
        "y",
        "no",
        "leave me alone",
        "help me find my son",
        "my son is missing please help him",
        "Hi my son is missing",
        "the end of the street",
        "she is not home",
        "start of the trail",
        "stopped by the store",
        "información",
        "7",
        "stop stop stop stop and go",
        "near the bus stop " * 120,
        *HOSTILE,
    ],
)
def test_keyword_rejects(text):
    assert keyword(VOCAB, text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Hola, mi hijo está perdido",
        "¿Me pueden ayudar?",
        "¡Auxilio!",
        "mi niña",
        "ayuda",
        "Necesito ayuda por favor",
        "no encuentro a mi hija",
        "mi hijo Juan esta perdido",
        "desaparecida desde ayer",
        "donde esta mi nino",
        "gracias",
        "español",
        "mis hijos",
        "mi bebe se fue",
    ],
)
def test_detect_language_spanish(text):
    assert detect_language(VOCAB, text) == "es"


@pytest.mark.parametrize(
    "text",
    [
        "Hi my son is missing",
        "help",
        "my daughter Mia is gone",
        "Mia is missing",
        "my son Tomas is missing since 3pm",
        "He was last seen in Lansing MI",
        "Amir is 7",
        "Maria de la Cruz is missing from Plaza de la Raza",
        "my kid is missing, please help",
        "missing child",
        *HOSTILE,
    ],
)
def test_detect_language_default(text):
    assert detect_language(VOCAB, text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 84),
        ("7yo", 84),
        ("7 y/o", 84),
        ("7 y.o.", 84),
        ("7 yrs", 84),
        ("7 years", 84),
        ("7 years old", 84),
        ("he is 7", 84),
        ("seven", 84),
        ("Seven years old", 84),
        ("twelve", 144),
        ("fifteen", 180),
        ("eighteen", 216),
        ("twenty-one", 252),
        ("twenty one", 252),
        ("thirty", 360),
        ("ninety", 1080),
        ("18 months", 18),
        ("18 mo", 18),
        ("18mos", 18),
        ("2 weeks", 0),
        ("6 weeks", 1),
        ("3 days", 0),
        ("newborn", 0),
        ("0", 0),
        ("1.5", 18),
        ("1 and a half", 18),
        ("a year and a half", 18),
        ("2 1/2", 30),
        ("2½", 30),
        ("2 years and 3 months", 27),
        ("7 años", 84),
        ("siete", 84),
        ("siete años", 84),
        ("18 meses", 18),
        ("un año", 12),
        ("año y medio", 18),
        ("dos años y medio", 30),
        ("quince", 180),
        ("veintiuno", 252),
        ("treinta y uno", 372),
        ("7 or 8", 84),
        ("120", 1440),
    ],
)
def test_parse_age_months(text, expected):
    assert parse_age_months(VOCAB, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "-3",
        "\u22123",
        "999",
        "121",
        "200 years",
        "3/4/2019",
        "7:30",
        "5 ft",
        "3rd grade",
        "one hundred",
        "9" * 5000,
        "unknown",
        *HOSTILE_NO_DIGITS,
    ],
)
def test_parse_age_months_rejects(text):
    assert parse_age_months(VOCAB, text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[
            (w, True)
            for w in (
                "yes",
                "Y",
                "yeah",
                "yep",
                "yup",
                "yes i did",
                "I did",
                "called",
                "done",
                "already",
                "si",
                "sí",
                "Sí.",
                "ya",
                "claro",
                "yes they are here",
                "yes, I called 911",
                "si ya llamé",
            )
        ],
        *[
            (w, False)
            for w in (
                "no",
                "N",
                "nope",
                "not yet",
                "nah",
                "no i haven't",
                "no i havent",
                "not yet?",
                "todavía no",
                "todavia no",
                "aún no",
                "aun no",
                "no, they told me to wait",
                "no i havent called yet",
            )
        ],
    ],
)
def test_parse_yes_no(text, expected):
    assert parse_yes_no(VOCAB, text) is expected


@pytest.mark.parametrize("text", ["ok", "OK!", "k", "okay", "sure", "1", "2"])
def test_ok_and_keys_are_no_yes_or_no_in_a_text(text):
    # "ok" to "Did you call police? Reply YES or NO" is no answer; keys are a call's
    assert parse_yes_no(VOCAB, text) is None


def test_keys_are_yes_and_no_on_the_keypad():
    # What a key means is the voice adapter's keypad, given with a keys input only.
    from flows.engine import KEYS, Inbound
    from intake.channels.voice_call import KEYPAD

    def keyed(digits: str) -> Inbound:
        return Inbound(text=digits, channel="voice", kind=KEYS, keypad=KEYPAD)

    assert keyed("1").means("yes") and keyed("2").means("no")
    assert not Inbound(text="1", channel="sms").means("yes")  # a texted 1 is no key


@pytest.mark.parametrize(
    "text",
    [
        "maybe",
        "no sé",
        "no se",
        "no idea",
        "yes no",
        "yes but not yet",
        "3",
        "my son is 7",
        "yesterday",
        "nobody",
        "si no",
        *HOSTILE,
    ],
)
def test_parse_yes_no_rejects(text):
    assert parse_yes_no(VOCAB, text) is None


@pytest.mark.parametrize(
    "text",
    [
        "I called the police",
        "called 911",
        "i called 911",
        "already called",
        "the police are here",
        "police are here",
        "they are on the way",
        "police on the way",
        "ya llame",
        "ya llamé",
        "ya llame a la policia",
        "Ya llamé a la policía.",
        "la policia ya viene",
        "ya viene la policia",
        "I called them, they are on the way",
        "we called 911 an hour ago",
    ],
)
def test_parse_yes_no_police_called(text):
    assert parse_yes_no(VOCAB, text) is True


@pytest.mark.parametrize(
    "text",
    [
        "no i havent called",
        "not yet called",
        "haven't called",
        "no he llamado",
        "todavia no llame",
        "todavía no llamé",
        "I have not called the police",
        "didn't call yet",
    ],
)
def test_parse_yes_no_police_not_called(text):
    assert parse_yes_no(VOCAB, text) is False


@pytest.mark.parametrize(
    "text",
    [
        "should I call?",
        "do I call 911?",
        "who do I call",
        "should i call the police",
        "have you called the police?",
        "i dont know if they called",
        "police are not here",
        "i should have called",
        "i am on the way to the police",
        "not sure if they are on the way",
    ],
)
def test_parse_yes_no_police_unclear(text):
    assert parse_yes_no(VOCAB, text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[
            (w, "parent")
            for w in (
                "1",
                "mom",
                "Mother",
                "mum",
                "dad",
                "father",
                "parent",
                "sister",
                "brother",
                "family",
                "stepmom",
                "stepdad",
                "madre",
                "mamá",
                "padre",
                "papá",
                "familia",
                "I'm his mom",
                "soy su mamá",
            )
        ],
        *[
            (w, "foster")
            for w in (
                "2",
                "foster",
                "foster parent",
                "foster mom",
                "foster dad",
                "foster care",
                "hogar de crianza",
                "familia de crianza",
                "crianza temporal",
                "acogida",
                "familia de acogida",
                "I'm her foster mother",
            )
        ],
        *[
            (w, "caseworker")
            for w in (
                "3",
                "caseworker",
                "case worker",
                "social worker",
                "CPS",
                "DCFS",
                "agency",
                "agency staff",
                "trabajador social",
                "trabajadora social",
                "agencia",
                "personal de la agencia",
                "I'm his caseworker and his mom called",
                "foster care caseworker",
            )
        ],
        *[
            (w, "other")
            for w in (
                "4",
                "other",
                "friend",
                "neighbor",
                "teacher",
                "otro",
                "otra",
                "vecino",
                "amigo",
                "family friend",
                "her mom's friend",
            )
        ],
    ],
)
def test_parse_relationship(text, expected):
    assert parse_relationship(VOCAB, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", "group_home"),
        ("group home staff", "group_home"),
        ("I work at the group home", "group_home"),
        ("residential staff", "group_home"),
        ("casa hogar", "group_home"),
        ("grandma", "relative"),
        ("her grandmother", "relative"),
        ("aunt", "relative"),
        ("legal guardian", "relative"),
        ("abuela", "relative"),
        ("tía", "relative"),
        ("soy su abuela, su mamá de crianza", "relative"),
        ("yo la crié, soy su mamá de crianza", "relative"),
        ("soy su mamá de crianza", "unclear"),
        ("madre de crianza", "unclear"),
        ("crianza", None),
    ],
)
def test_roles_beyond_the_menu(text, expected):
    # group-home staff have their own note; a grandmother "de crianza" raised the child
    assert parse_relationship(VOCAB, text) == expected


@pytest.mark.parametrize(
    "text",
    ["6", "0", "12", "momentarily", "fosters", "yes", "stepping", "someone", *HOSTILE],
)
def test_parse_relationship_rejects(text):
    assert parse_relationship(VOCAB, text) is None


@pytest.mark.parametrize(
    "text",
    [
        "skip",
        "SKIP",
        "skip it",
        "i don't have it",
        "i dont have it",
        "dont have one",
        "don't have one",
        "no photo",
        "none",
        "saltar",
        "omitir",
        "no tengo",
        "no tengo foto",
    ],
)
def test_is_skip_true(text):
    assert is_skip(VOCAB, text) is True


@pytest.mark.parametrize(
    "text",
    ["s", "no", "yes", "skipping school", "he skips school", "photo attached", *HOSTILE],
)
def test_is_skip_false(text):
    assert is_skip(VOCAB, text) is False


@pytest.mark.parametrize(
    "text",
    [
        "same",
        "SAME",
        "this",
        "this number",
        "this one",
        "same number",
        "this phone",
        "yes",
        "mismo",
        "el mismo",
        "este",
        "este número",
        "este numero",
        "si",
        "sí",
        "igual",
        "de aquí",
    ],
)
def test_is_same_number_true(text):
    assert is_same_number(VOCAB, text) is True


@pytest.mark.parametrize(
    "text",
    ["no", "different", "not this one", "212-555-1234", "the same as before?? no", *HOSTILE],
)
def test_is_same_number_false(text):
    assert is_same_number(VOCAB, text) is False


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+12125551234", "US", "+12125551234"),
        ("212-555-1234", "US", "+12125551234"),
        ("(212) 555-1234", "US", "+12125551234"),
        ("212.555.1234", "US", "+12125551234"),
        ("+1 212 555 0123", "US", "+12125550123"),
        ("2015550123", "US", "+12015550123"),
        ("1 (201) 555-0123", "US", "+12015550123"),
        ("+52 55 1234 5678", "US", "+525512345678"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_parse_phone(text, region, expected):
    assert parse_phone(text, region) == expected


@pytest.mark.parametrize(
    "text",
    [
        "(555) 201-4567",
        "911",
        "12345",
        "not a number",
        "+1 000 000 0000",
        "2125551234" * 30,
        *HOSTILE,
    ],
)
def test_parse_phone_rejects(text):
    assert parse_phone(text, "US") is None


@pytest.mark.parametrize(
    "text",
    [
        "3pm",
        "around 4",
        "today",
        "tonight",
        "yesterday",
        "this morning",
        "last night",
        "in the afternoon",
        "evening",
        "at noon",
        "midnight",
        "2 hours ago",
        "an hour ago",
        "a few minutes ago",
        "just now",
        "after school",
        "at lunch",
        "before dinner",
        "monday",
        "Sunday night",
        "seven am",
        "I don't know",
        "not sure",
        "unknown",
        "idk",
        "hoy",
        "anoche",
        "ayer",
        "en la mañana",
        "por la tarde",
        "en la noche",
        "mediodía",
        "medianoche",
        "hace una hora",
        "dos horas",
        "hace 10 minutos",
        "el lunes",
        "domingo",
        "en la escuela",
        "no sé",
        "no estoy seguro",
        "no estoy segura",
    ],
)
def test_looks_like_when_true(text):
    assert looks_like_when(VOCAB, text) is True


@pytest.mark.parametrize(
    "text",
    [
        "asdf",
        "??",
        "🙂",
        "I am scared",
        "my son",
        "please hurry",
        "he has a red shirt",
        "",
        "'; DROP TABLE cases;--",
        "<script>alert()</script>",
        LONG,
        "李小明",
    ],
)
def test_looks_like_when_false(text):
    assert looks_like_when(VOCAB, text) is False


def test_parse_age_months_takes_first_number_anywhere():
    # documented: the first number wins
    assert parse_age_months(VOCAB, "<script>alert(1)</script>") == 12


def test_looks_like_when_digit_in_hostile_text():
    assert looks_like_when(VOCAB, "<script>alert(1)</script>") is True  # has a digit: usable as-is


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 hours ago", 120),
        ("about 2 hours ago", 120),
        ("30 min ago", 30),
        ("30 minutes ago", 30),
        ("an hour ago", 60),
        ("one hour ago", 60),
        ("half an hour ago", 30),
        ("an hour and a half ago", 90),
        ("1.5 hours ago", 90),
        ("2 days ago", 2880),
        ("hace 2 horas", 120),
        ("hace dos horas", 120),
        ("hace media hora", 30),
        ("hace una hora", 60),
        ("hace hora y media", 90),
        ("hace 15 minutos", 15),
        ("just now", 0),
        ("Just now!", 0),
    ],
)
def test_parse_last_seen_ago_minutes(text, expected):
    assert parse_last_seen_ago_minutes(VOCAB, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "3pm",
        "yesterday",
        "this morning",
        "2 hours",
        "last night",
        "ago",
        "hace",
        "at 7:30",
        "an hour",
        "9" * 5000 + " hours ago",
        *HOSTILE,
    ],
)
def test_parse_last_seen_ago_minutes_rejects(text):
    assert parse_last_seen_ago_minutes(VOCAB, text) is None


@pytest.mark.parametrize(
    "func",
    [
        keyword,
        detect_language,
        parse_age_months,
        parse_yes_no,
        parse_relationship,
        is_skip,
        is_same_number,
        looks_like_when,
        parse_last_seen_ago_minutes,
    ],
)
@pytest.mark.parametrize("text", HOSTILE + [LONG_WORDS, "1" * 2000])
def test_never_raises(func, text):
    func(VOCAB, text)


@pytest.mark.parametrize("func", [partial(parse_phone, region="US"), normalize])
@pytest.mark.parametrize("text", HOSTILE + [LONG_WORDS, "1" * 2000])
def test_never_raises_without_vocabulary(func, text):
    func(text)
