"""The words: render templates/<channel>/<lang>/<name>.txt with the shared facts."""

from __future__ import annotations

import math
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("en", "es")


@cache
def facts() -> dict[str, str]:
    """Numbers and names every message must agree with, kept in one file."""
    with open(TEMPLATES_DIR / "facts.toml", "rb") as f:
        return tomllib.load(f)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.globals["facts"] = facts()
    return env


def template_names(channel: str = "sms", lang: str = "en") -> list[str]:
    folder = TEMPLATES_DIR / channel / lang
    return sorted(p.stem for p in folder.glob("*.txt"))


def render(name: str, lang: str, /, channel: str = "sms", **params: Any) -> str:
    """The text of one template in one language, trimmed of surrounding blank lines.

    `name` may carry its channel ("staff:oncall_alert"); a language without the template
    falls back to English.
    """
    if ":" in name:
        channel, name = name.split(":", 1)
    lang = lang if lang in LANGUAGES else "en"
    if not (TEMPLATES_DIR / channel / lang / f"{name}.txt").exists():
        lang = "en"
    template = _environment().get_template(f"{channel}/{lang}/{name}.txt")
    return template.render(**params).strip()


def segments(text: str) -> int:
    """How many SMS segments a text takes: GSM-7 septets when it can, else UCS-2."""
    try:
        units, single, part = len(text.encode("gsm03.38")), 160, 153
    except UnicodeEncodeError:
        units, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / part)
