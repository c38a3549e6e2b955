"""The words: render templates/<channel>/<lang>/<name>.txt with the shared facts."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from flows.vocabulary import Vocabulary

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
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
