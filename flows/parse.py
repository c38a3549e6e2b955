"""Parse free-text SMS answers (English and Spanish) into plain values.

Pure functions, no I/O, nothing imported from the intake package.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

import phonenumbers

_QUOTES = str.maketrans(
    dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'")
    | dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"')
)


def _phrases(spec: str) -> tuple[str, ...]:
    """Split a '|'-separated list of phrases (keeps the tables short)."""
    return tuple(spec.split("|"))


def _is_edge(char: str) -> bool:
    """True for whitespace or punctuation that normalize trims from the ends."""
    return char.isspace() or unicodedata.category(char).startswith("P")


def normalize(text: str) -> str:
    """Casefold, drop accents, straighten quotes, collapse spaces, trim edge punctuation."""
    folded = unicodedata.normalize("NFKD", text.translate(_QUOTES).casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    words = " ".join(plain.split())
    start, end = 0, len(words)
    while start < end and _is_edge(words[start]):
        start += 1
    while end > start and _is_edge(words[end - 1]):
        end -= 1
    return words[start:end]


def _key(text: str) -> str:
    """Normalize, drop apostrophes, and turn every other non-word run into one space."""
    return re.sub(r"[\W_]+", " ", normalize(text).replace("'", "")).strip()


def _has(key: str, phrases: frozenset[str] | tuple[str, ...]) -> bool:
    """True when any phrase appears in key as whole words."""
    padded = f" {key} "
    return any(f" {p} " in padded for p in phrases)


# --- global keywords -------------------------------------------------------

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "stop": _phrases(
        "stop|stopall|stop all|unsubscribe|cancel|end|quit|revoke|optout|opt out|"
        "stop texting me|stop texting|stop messaging me|dont text me|do not text me|"
        "dont text me anymore|no more texts|no more messages|no more text messages|"
        "unsubscribe me|remove me|parar|baja|cancelar|no me envien mas mensajes|"
        "no me manden mas mensajes|no mas mensajes"
    ),
    "start": ("start", "unstop"),
    "help": _phrases(
        "help|info|ayuda|talk to someone|talk to a person|speak to someone|speak to a person|"
        "i need to talk to someone|i want to talk to someone|call me|hablar con alguien|"
        "quiero hablar con alguien|necesito hablar con alguien|llamame"
    ),
    "found": _phrases(
        "found|found him|found her|found them|we found him|we found her|we found them|"
        "i found him|i found her|i found them|child found|shes home|she is home|hes home|"
        "he is home|theyre home|they are home|shes back|hes back|encontrado|encontrada|"
        "lo encontramos|la encontramos|ya lo encontramos|ya la encontramos|lo encontre|"
        "la encontre|ya aparecio|aparecio|ya esta en casa"
    ),
    "restart": ("restart", "start over", "reiniciar", "empezar de nuevo"),
    "spanish": ("espanol", "spanish", "en espanol"),
    "english": ("english", "ingles", "in english", "en ingles"),
}
_KEYWORD_OF = {p: k for k, phrases in _KEYWORDS.items() for p in phrases}
_POLITE = re.compile(r"^(?:please|ok|okay) |(?: please| now| thanks| thank you| por favor)+$")


def keyword(text: str) -> str | None:
    """Return the global keyword the whole message means, or None."""
    words = _key(text).split()
    key = " ".join(w for i, w in enumerate(words) if i == 0 or w != words[i - 1])  # STOP STOP
    return _KEYWORD_OF.get(key) or _KEYWORD_OF.get(_POLITE.sub("", key).strip())


# What a text means wherever it comes (a placeholder table until the vocabulary files).
_INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("found", _phrases("we found him|we found her|ya lo encontramos|ya la encontramos")),
    ("person", _phrases("help me|can someone call me|talk to someone|hablar con alguien")),
    ("found_unsure", _phrases("i think thats him|i think thats her|found his|found her")),
    ("missing", _phrases("missing|desaparecido|desaparecida|cant find|no encuentro")),
)


def intent(text: str) -> str | None:
    """found | found_unsure | person | missing, or None: what a free text says."""
    key = _key(text)
    return next((name for name, phrases in _INTENTS if _has(key, phrases)), None)


# Twilio's standard opt-out words: Twilio itself opts the sender out and confirms it, so
# we must not answer these. Other stop phrases reach us unconfirmed and we confirm them.
CARRIER_OPT_OUT_WORDS = frozenset(
    ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout")
)


def is_carrier_opt_out_word(text: str) -> bool:
    """True when the whole message is one of Twilio's standard opt-out words."""
    return normalize(text) in CARRIER_OPT_OUT_WORDS


# --- language --------------------------------------------------------------

_ES_STRONG = frozenset(
    "hola ayuda ayudame auxilio hijo hija hijos hijas mijo mija nino nina ninos ninas "
    "perdido perdida perdio desaparecido desaparecida desaparecio aparece necesito "
    "gracias espanol donde esta tengo anos buenas buenos noches senor senora".split()
) | {"por favor", "no encuentro", "no se", "se fue", "se perdio", "no esta"}
_ES_WEAK = frozenset("mi mis que se con una es su por para muy y".split())


def detect_spanish(text: str) -> bool:
    """Guess whether a first message is Spanish (one strong word, or two weak ones)."""
    if any(c in text for c in "¿¡ñÑ"):
        return True
    key = _key(text)
    if _has(key, _ES_STRONG):
        return True
    return len(_ES_WEAK.intersection(key.split())) >= 2


# --- numbers and quantities ------------------------------------------------

_EN_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_ES_UNITS = (
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce "
    "quince dieciseis diecisiete dieciocho diecinueve veinte veintiuno veintidos "
    "veintitres veinticuatro veinticinco veintiseis veintisiete veintiocho veintinueve"
).split()
_EN_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ES_TENS = "veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa".split()
_TENS = {w: 20 + 10 * i for names in (_EN_TENS, _ES_TENS) for i, w in enumerate(names)}
_WORDS = {w: i for names in (_EN_UNITS, _ES_UNITS) for i, w in enumerate(names)}
_WORDS |= _TENS | {"un": 1, "una": 1, "veintiun": 21, "veintiuna": 21}
_HALF_WORDS = ("half", "media", "medio")
_HALF_SUFFIXES = (("and", "a", "half"), ("and", "half"), ("y", "medio"), ("y", "media"))

_AGE_UNITS = {
    **dict.fromkeys("y yr yrs yo year years ano anos".split(), Fraction(12)),
    **dict.fromkeys("m mo mos mon mons mth mths month months mes meses".split(), Fraction(1)),
    **dict.fromkeys("w wk wks week weeks semana semanas".split(), Fraction(84, 365)),
    **dict.fromkeys("d day days dia dias".split(), Fraction(12, 365)),
}
_NOT_AGE = frozenset(
    ": ft feet foot inch inches lb lbs pounds kg cm am pm st nd rd th grade hundred cien "
    "ciento mil".split()
)
_MINUTE_UNITS = {
    **dict.fromkeys("m min mins minute minutes minuto minutos".split(), Fraction(1)),
    **dict.fromkeys("h hr hrs hour hours hora horas".split(), Fraction(60)),
    **dict.fromkeys("d day days dia dias".split(), Fraction(1440)),
    **dict.fromkeys("wk wks week weeks semana semanas".split(), Fraction(10080)),
}
_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)?(?:/[0-9]+)*|[a-z]+|[^\sa-z0-9]")


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


def _read_number(tokens: list[str], i: int) -> tuple[Fraction | None, int]:
    """Read digits or number words at i; return (value or None, next index)."""
    tok, j = tokens[i], i + 1
    after = tokens[j] if j < len(tokens) else ""
    if tok[0] in "0123456789":
        value = _digits(tok)
        if "/" not in tok and "/" in after:  # 2 1/2
            return value + _digits(after), j + 1
        return value, j
    if tok not in _WORDS:
        return None, i
    value = Fraction(_WORDS[tok])
    if tok in _TENS:  # twenty-one, twenty one, treinta y uno
        k = j + 1 if after in ("-", "y") else j
        if k < len(tokens) and 1 <= _WORDS.get(tokens[k], 0) <= 9:
            return value + _WORDS[tokens[k]], k + 1
    return value, j


def _read_half(tokens: list[str], j: int) -> tuple[Fraction, int]:
    """Read 'and a half' / 'y medio' at j; return (1/2 or 0, next index)."""
    for words in _HALF_SUFFIXES:
        if tuple(tokens[j : j + len(words)]) == words:
            return Fraction(1, 2), j + len(words)
    return Fraction(0), j


def _read_quantity(
    tokens: list[str], i: int, units: dict[str, Fraction]
) -> tuple[Fraction, Fraction | None, int] | None:
    """Read '2', 'an hour', 'half an hour', '1 and a half years', 'hora y media' at i."""
    tok = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if tok in _HALF_WORDS and (after in units or after in ("a", "an")):
        value, j = Fraction(1, 2), i + 1 + (after in ("a", "an"))
    elif tok in ("a", "an") and after in units:
        value, j = Fraction(1), i + 1
    elif tok in units and _read_half(tokens, i + 1)[0]:
        value, j = Fraction(1), i
    else:
        value, j = _read_number(tokens, i)
        if value is None:
            return None
    half, j = _read_half(tokens, j)
    unit = units.get(tokens[j]) if j < len(tokens) else None
    if unit is not None:
        j += 1
        if not half:
            half, j = _read_half(tokens, j)
    return value + half, unit, j


def parse_age_months(text: str) -> int | None:
    """Age in whole months from '7', '18 months', 'siete anos'; '7 or 8' takes the first."""
    if re.match(r"\s*[-\u2212\u2013]\s*[0-9]", text):
        return None
    cleaned = text.replace("½", " 1/2 ")
    if normalize(cleaned) in ("newborn", "new born", "recien nacido", "recien nacida"):
        return 0
    cleaned = re.sub(r"([0-9])\s*y\s*[./]\s*o\b\.?", r"\1 yo", normalize(cleaned))
    tokens = _TOKEN.findall(cleaned)
    try:
        for i in range(len(tokens)):
            found = _read_quantity(tokens, i, _AGE_UNITS)
            if found is not None:
                return _age_months(tokens, found)
    except ValueError:
        return None
    return None


def _age_months(tokens: list[str], found: tuple[Fraction, Fraction | None, int]) -> int | None:
    """Turn a read quantity (default unit years) into months, adding '2 years 3 months'."""
    value, unit, j = found
    if unit is None:
        if j < len(tokens) and tokens[j] in _NOT_AGE:
            return None
        unit = Fraction(12)
    months = value * unit
    k = j + 1 if j < len(tokens) and tokens[j] in ("and", "y", ",") else j
    if unit == 12 and k < len(tokens):
        more = _read_quantity(tokens, k, _AGE_UNITS)
        if more is not None and more[1] == 1:
            months += more[0]
    return int(months) if months <= 120 * 12 else None


def parse_last_seen_ago_minutes(text: str) -> int | None:
    """Minutes since last seen from relative phrases ('2 hours ago', 'hace media hora')."""
    key = _key(text)
    if key in ("just now", "right now", "ahora mismo", "ahorita"):
        return 0
    tokens = _tokens(text.replace("½", " 1/2 "))
    try:
        for i in range(len(tokens)):
            spanish = "hace" in tokens[max(0, i - 3) : i]
            found = _read_quantity(tokens, i, _MINUTE_UNITS)
            if found is None or found[1] is None:
                continue
            value, unit, j = found
            if spanish or (j < len(tokens) and tokens[j] == "ago"):
                return int(value * unit)
    except ValueError:
        return None
    return None


# --- short answers ---------------------------------------------------------

_YES = frozenset(
    _phrases(
        "yes|y|yeah|yea|yep|yup|yes i did|i did|yes i have|i have|called|i called|done|"
        "already|already did|yes already|si|ya|claro|claro que si|ok|okay|k|sure|"
        "yes they are here|si ya|ya llame|si ya llame|1"
    )
)
_NO = frozenset(
    _phrases(
        "no|n|nope|nah|not yet|no not yet|no i havent|no i have not|i havent|i have not|"
        "no i didnt|todavia no|aun no|no todavia|no aun|2"
    )
)
_YES_LEAD = frozenset({"yes", "yeah", "yep", "yup", "si"})
_NO_LEAD = frozenset({"no", "nope", "nah"})
_UNSURE = frozenset("se know sure idea sabe clue maybe".split())
_NEGATION = frozenset("no not nope nah havent didnt yet todavia aun".split())
# Phrases anywhere in a police answer that say the call is made, or not yet made.
_CALLED = _phrases(
    "i called|we called|i have called|we have called|called 911|called the police|"
    "called police|already called|just called|police are here|police is here|"
    "they are here|police on the way|police are on the way|they are on the way|"
    "are on their way|police are coming|ya llame|ya llamamos|ya les llame|"
    "llamamos a la policia|la policia ya viene|ya viene la policia|ya vienen|"
    "la policia esta aqui|la policia ya esta aqui|la policia ya llego"
)
_NOT_CALLED = _phrases(
    "havent called|have not called|hasnt called|has not called|not called|didnt call|"
    "did not call|not yet|no he llamado|no hemos llamado|no llame|no llamamos|"
    "todavia no|aun no"
)
_NOT = _NEGATION | frozenset("dont never nunca hasnt isnt arent wont cant nadie".split())
_ASKING = frozenset(
    "should do does who what how can could would where when why which debo tengo quien "
    "que como puedo donde cuando cual".split()
)


def parse_yes_no(text: str) -> bool | None:
    """True/False for a yes/no answer (en/es); a clear leading yes/no wins; else None.

    Without a leading yes/no, a police answer that plainly says the call is made
    ("I called 911", "la policia ya viene") or not made ("haven't called") counts too;
    a question ("should I call?") never does.
    """
    key = _key(text)
    if key in _YES:
        return True
    if key in _NO:
        return False
    first, _, rest = key.partition(" ")
    rest_words = set(rest.split())
    if first in _YES_LEAD and not rest_words & (_UNSURE | _NEGATION):
        return True
    if first in _NO_LEAD and not rest_words & (_UNSURE | _YES_LEAD):
        return False
    if "?" in text or "\u00bf" in text or first in _ASKING:
        return None
    words = set(key.split())
    if _has(key, _CALLED) and not words & (_NOT | _UNSURE):
        return True
    if _has(key, _NOT_CALLED) and not words & (_YES_LEAD | _UNSURE):
        return False
    return None


_CASEWORKER = _phrases(
    "caseworker|caseworkers|case worker|case manager|social worker|cps|dcfs|dcf|dss|"
    "agency|staff|group home|trabajador social|trabajadora social|agencia|"
    "personal de la agencia"
)
_FOSTER = ("foster", "crianza", "acogida", "acogimiento")
_FAMILY_FRIEND = _phrases(
    "family friend|friend of the family|amigo de la familia|amiga de la familia"
)
_PARENT = _phrases(
    "mom|mother|mum|mommy|dad|father|daddy|parent|parents|grandma|grandmother|grandpa|"
    "grandfather|grandparent|aunt|uncle|sister|brother|family|guardian|stepmom|stepdad|"
    "stepmother|stepfather|step mom|step dad|madre|mama|padre|papa|abuela|abuelo|tia|tio|"
    "familia|hermana|hermano"
)
_OTHER = _phrases(
    "other|friend|neighbor|neighbour|teacher|coach|babysitter|otro|otra|vecino|vecina|"
    "amigo|amiga|maestro|maestra|ninera"
)
_RELATIONSHIPS = (
    ("caseworker", _CASEWORKER),
    ("foster", _FOSTER),
    ("other", _FAMILY_FRIEND),
    ("parent", _PARENT),
    ("other", _OTHER),
)
_RELATIONSHIP_DIGITS = {"1": "parent", "2": "foster", "3": "caseworker", "4": "other"}


def parse_relationship(text: str) -> str | None:
    """Return 'parent', 'foster', 'caseworker' or 'other' for the caller's role, or None."""
    key = _key(text)
    if key in _RELATIONSHIP_DIGITS:
        return _RELATIONSHIP_DIGITS[key]
    for name, phrases in _RELATIONSHIPS:
        if _has(key, phrases):
            return name
    return None


_SKIP = frozenset(
    _phrases(
        "skip|skip it|skip this|pass|none|n a|na|no photo|no picture|no pic|i dont have it|"
        "dont have it|i dont have one|dont have one|i dont have|dont have|saltar|omitir|"
        "no tengo|no tengo foto|no tengo una|no tengo ninguna|no tengo fotos"
    )
)
_SAME_NUMBER = frozenset(
    _phrases(
        "same|same number|same one|same phone|this|this number|this one|this phone|"
        "this phone number|use this|use this one|use this number|yes|y|yeah|yep|mismo|"
        "el mismo|mismo numero|el mismo numero|este|este numero|este telefono|este mismo|si"
    )
)


def is_skip(text: str) -> bool:
    """True when the caller asks to skip the question (en/es)."""
    return _key(text) in _SKIP


def is_same_number(text: str) -> bool:
    """True when the caller says to use the number they are texting from."""
    return _key(text) in _SAME_NUMBER


def parse_phone(text: str, region: str | None = "US", strict: bool = True) -> str | None:
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

_WHEN = frozenset(
    (
        "today tonight yesterday morning afternoon evening night noon midnight ago hour "
        "hours hr hrs minute minutes min mins pm earlier lunch dinner breakfast school "
        "monday tuesday wednesday thursday friday saturday sunday weekend week "
        "idk unknown dunno hoy anoche ayer manana tarde noche mediodia medianoche hace "
        "hora horas minutos temprano madrugada lunes martes miercoles jueves viernes "
        "sabado domingo escuela semana"
    ).split()
) | set(
    _phrases(
        "just now|last night|this morning|after school|dont know|do not know|not sure|"
        "no se|no lo se|no estoy seguro|no estoy segura"
    )
)
_CLOCK_WORDS = frozenset(_EN_UNITS[1:13] + _ES_UNITS[1:13] + ["un", "una"])


def looks_like_when(text: str) -> bool:
    """True when a 'last seen' answer has a digit, a time word, or says 'I don't know'."""
    key = _key(text)
    if re.search(r"[0-9]", key) or _has(key, _WHEN):
        return True
    words = key.split()  # "am" alone is too common ("I am ..."): need "seven am"
    return any(
        w == "am" and prev in _CLOCK_WORDS for prev, w in zip(words, words[1:], strict=False)
    )
