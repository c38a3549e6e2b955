"""No reply over three SMS segments, in any turn a caller can cause, in both languages.

Walked through the signed webhook with a 50-character organisation name (the longest the
line accepts) and a 40-character child's name, so the longest real replies are measured.
"""

from __future__ import annotations

import pytest

from intake.core.words import segments
from tests.conftest import Phone, make_settings

ORG = "Bright Path Family and Children Services of Dallas"  # 50: the most the line takes
CHILD = "Maria Guadalupe Hernandez-Castillo Rivas"  # 40 characters
MOST = 3

# Each language's answers, in the flow's order.
SAY = {
    "en": {
        "first": "my daughter is missing",
        "help": "HELP",
        "start": "START",
        "other": "ESPANOL",
        "yes": "yes",
        "no": "no",
        "age": "7",
        "adult": "19",
        "when": "2 hours ago",
        "where": "Elm Park",
        "description": "red coat, brown hair",
        "report": "SKIP",
        "parent": "1",
        "foster": "2",
        "caseworker": "3",
        "photo": "SKIP",
        "callback": "SAME",
        "found": "FOUND",
        "restart": "RESTART",
        "unsure": "found his bike by the river",
    },
    "es": {
        "first": "mi hija esta desaparecida",
        "help": "AYUDA",
        "start": "START",
        "other": "ENGLISH",
        "yes": "si",
        "no": "no",
        "age": "7",
        "adult": "19",
        "when": "hace 2 horas",
        "where": "el parque",
        "description": "chamarra roja, pelo negro",
        "report": "SALTAR",
        "parent": "1",
        "foster": "2",
        "caseworker": "3",
        "photo": "SALTAR",
        "callback": "MISMO",
        "found": "ENCONTRADO",
        "restart": "REINICIAR",
        "unsure": "found his bike by the river",
    },
}


@pytest.fixture
def settings(db_url, tmp_path):
    return make_settings(db_url, tmp_path, org_name=ORG)


class Measured(Phone):
    """A phone that measures every reply it gets."""

    def text(self, body: str = "", media=None, **extra) -> list[str]:
        replies = super().text(body, media, **extra)
        for reply in replies:
            assert segments(reply) <= MOST, f"{segments(reply)} segments after {body!r}: {reply}"
        return replies


def measured(app, settings, number="+12125551234") -> Measured:
    return Measured(app, settings, number=number)


def to_relationship(phone: Measured, say: dict, police: str = "yes", first="first") -> None:
    phone.text(say[first])
    phone.text(say[police])
    if police == "no":
        phone.text(say["no"])  # urged once, then reminded with the next question
    for key in ("age", "when", "where", "description"):
        if key == "age":
            phone.text(CHILD)
        phone.text(say[key])
    if police == "yes":
        phone.text(say["report"])


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("first", ["help", "start", "other"])
def test_a_keyword_as_the_first_text(app, settings, lang, first):
    phone = measured(app, settings)
    phone.text(SAY[lang][first])
    phone.text(SAY[lang]["help"])


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("role", ["parent", "foster", "caseworker"])
@pytest.mark.parametrize("police", ["yes", "no"])
def test_a_whole_intake_with_every_note(app, settings, lang, role, police):
    phone = measured(app, settings)
    say = SAY[lang]
    to_relationship(phone, say, police)
    phone.text(say["help"])  # HELP at the longest question
    phone.text(say["other"])  # switch language at the longest question: the safety message again
    phone.text(say["other"])  # and back
    phone.text(say[role])
    phone.text(say["photo"])
    phone.text(say["callback"])  # the summary
    phone.text(say["unsure"])
    phone.text(say["found"])
    phone.text("thank you")  # after FOUND


@pytest.mark.parametrize("lang", ["en", "es"])
def test_an_adult_an_unsure_found_and_being_stuck(app, settings, lang):
    phone = measured(app, settings)
    say = SAY[lang]
    phone.text(say["first"])
    phone.text(say["yes"])
    phone.text(CHILD)
    phone.text(say["adult"])
    phone.text(say["when"])
    phone.text(say["unsure"])  # taken as the place, with a question about FOUND
    for _ in range(3):
        phone.text("??")  # stuck on the description: moving on with the next question


@pytest.mark.parametrize("lang", ["en", "es"])
def test_found_with_another_case_open(app, settings, lang):
    phone = measured(app, settings)
    say = SAY[lang]
    for first in ("first", "restart"):  # two children, two whole intakes
        to_relationship(phone, say, first=first)
        for key in ("parent", "photo", "callback"):
            phone.text(say[key])
    phone.text(say["help"])
    phone.text(say["found"])  # FOUND names the case still open
