"""The words: render templates/<channel>/<lang>/<name>.txt with the shared facts."""

from __future__ import annotations

import math
import os
import re
import tomllib
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from flows.vocabulary import Vocabulary
from intake.domain.enums import Medium


def _templates_dir() -> Path:
    """templates/ at the checkout's root; an installed package carries it as intake/templates
    (setup.py copies it there)."""
    package = Path(__file__).resolve().parents[1]  # intake/
    shipped = package / "templates"
    return shipped if shipped.is_dir() else package.parent / "templates"


TEMPLATES_DIR = _templates_dir()
VOCABULARY_DIR = TEMPLATES_DIR / "vocabulary"
LANGUAGES = ("en", "es")


@cache
def facts() -> dict[str, str]:
    """Numbers and names every message must agree with, kept in one file."""
    with open(TEMPLATES_DIR / "facts.toml", "rb") as f:
        return tomllib.load(f)


def vocabulary_files(folder: Path = VOCABULARY_DIR) -> dict[str, dict[str, Any]]:
    """Every templates/vocabulary/<lang>.toml, English first, then by language code."""
    paths = sorted(folder.glob("*.toml"), key=lambda p: (p.stem != "en", p.stem))
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        with open(path, "rb") as f:
            out[path.stem] = tomllib.load(f)
    return out


@cache
def vocabulary() -> Vocabulary:
    """The words the parsers recognise, from templates/vocabulary/*.toml (read once)."""
    return Vocabulary.from_languages(vocabulary_files())


@cache
def _all_speech_hints() -> dict[str, dict[str, list[str]]]:
    with open(TEMPLATES_DIR / "voice" / "hints.toml", "rb") as f:
        return tomllib.load(f)


def speech_hints(lang: str) -> dict[str, list[str]]:
    """Per question (a step key), the words a call in this language should expect, spelled
    as said (templates/voice/hints.toml)."""
    hints = _all_speech_hints()
    return hints.get(lang) or hints["en"]


def spoken_digits(number: str) -> str:
    """A phone number as Polly should read it: slowly, digit by digit.

    Digits are separated by spaces and the number's groups by commas, so a voice reads
    "1-800-843-5678" as "1, 8 0 0, 8 4 3, 5 6 7 8": one digit at a time, with a pause
    between groups. Anything that is not a letter or digit separates groups.
    """
    groups = re.findall(r"[0-9A-Za-z]+", str(number))
    return ", ".join(" ".join(group) for group in groups)


def spelled(text: str) -> str:
    """A code said one character at a time with a pause between: "K7M3QX" becomes
    "K, 7, M, 3, Q, X" (a case reference read aloud)."""
    return ", ".join(ch for ch in str(text) if ch.isalnum())


def _reloading() -> bool:
    """Whether an edited template is read again at its next render: only while debugging
    (FLASK_DEBUG=1). Otherwise the words are read once per process (a restart picks up
    edited words) and a render touches no file: no stat of the template on every text."""
    return os.environ.get("FLASK_DEBUG", "").strip().lower() in ("1", "true", "yes")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        auto_reload=_reloading(),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.globals["facts"] = facts()
    env.filters["spoken_digits"] = spoken_digits
    env.filters["spelled"] = spelled
    return env


def template_names(channel: str, lang: str) -> list[str]:
    """The templates of one folder (a Medium, or STAFF) in one language, by name."""
    folder = TEMPLATES_DIR / channel / lang
    return sorted(p.stem for p in folder.glob("*.txt"))


STAFF = "staff"  # templates/staff: the texts staff read (English), sent as SMS


def stored_name(template: str, channel: str) -> tuple[str, str]:
    """A template name as an outbox row stores it, as (folder, name): "staff:oncall_alert"
    names its folder; a bare name ("followup_3") is in the row's channel's folder."""
    folder, colon, name = template.rpartition(":")
    return (folder, name) if colon else (channel, template)


def render(name: str, lang: str, /, *, channel: str, **params: Any) -> str:
    """The text of one template in one language, trimmed of surrounding blank lines.

    One rule: `channel` (a Medium, or STAFF) is the template's folder, always given; `name`
    is a bare name (a stored "staff:..." name is split by `stored_name` first). A language
    without the template falls back to English, and a call without its own words for a
    reply says the text's (an answer to a question, read out rather than lost).
    """
    if ":" in name:
        raise ValueError(f"{name!r}: a template name names no folder (see stored_name)")
    lang = lang if lang in LANGUAGES else "en"
    if (
        channel == Medium.VOICE
        and not _exists(channel, lang, name)
        and not _exists(channel, "en", name)
    ):
        channel = Medium.SMS
    if not _exists(channel, lang, name):
        lang = "en"
    template = _environment().get_template(f"{channel}/{lang}/{name}.txt")
    return template.render(**params).strip()


def _exists(channel: str, lang: str, name: str) -> bool:
    path = f"{channel}/{lang}/{name}.txt"
    if _reloading():
        return (TEMPLATES_DIR / path).exists()
    return path in _template_files()


@cache
def _template_files() -> frozenset[str]:
    """Every template's path under TEMPLATES_DIR ("sms/en/welcome.txt"), listed once."""
    return frozenset(p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.txt"))


def is_gsm(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def gsm_plain(text: str) -> str:
    """A name as plain GSM-7 text: accents GSM-7 lacks are dropped (Ramón -> Ramon), and
    anything else outside it becomes "?", so one name cannot make a text UCS-2."""
    out = []
    for char in text:
        if not is_gsm(char):
            char = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
        out.append(char if char and is_gsm(char) else "?")
    return "".join(out)


def septets(text: str) -> int:
    """GSM-7 septets: extension-table characters ([ ] { } ~ ^ | \\ and euro) count 2.
    A text that is not GSM-7 is sent as UCS-2: counted here as its UTF-16 units."""
    if not is_gsm(text):
        return len(text.encode("utf-16-le")) // 2
    return len(text.encode("gsm03.38"))


def segments(text: str) -> int:
    """SMS segments: GSM-7 fits 160 septets in one, else 153 per segment; a UCS-2 text
    (one character outside GSM-7 is enough) fits 70 in one, else 67 per segment."""
    n = septets(text)
    single, part = (160, 153) if is_gsm(text) else (70, 67)
    return 1 if n <= single else math.ceil(n / part)
