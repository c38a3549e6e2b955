"""Which language a text is written in, by lingua's statistical models (en, es).

Built once per process (the first call loads the two languages' models); a caller may
inject any other function of the same shape into flows.read instead. Pure: lingua is a
third-party library with no I/O of ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

# text -> {language code: confidence 0..1}
Detector = Callable[[str], Mapping[str, float]]

_CODES = {"ENGLISH": "en", "SPANISH": "es"}


@cache
def _lingua():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH).build()


def confidences(text: str) -> dict[str, float]:
    """How sure lingua is that the text is English or Spanish (the two add up to 1)."""
    out: dict[str, float] = {}
    for value in _lingua().compute_language_confidence_values(text):
        code = _CODES.get(value.language.name)
        if code is not None:
            out[code] = value.value
    return out
