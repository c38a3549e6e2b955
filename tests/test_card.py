"""The card: one text at the end of an intake that the caregiver reads out to the police
and to NCMEC, in their language, within three segments, never claiming a report."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.cases import card
from intake.core.models import Caller, Case, Outbound
from intake.core.words import is_gsm, segments
from intake.simulator import phone as simulator
from tests.conftest import LINE_NUMBER, Phone, make_settings, twilio_settings
from tests.test_templates import NEVER_SAY
from tests.test_voice_call import answer_everything

CALLER = "+12125551234"
ORG = "Bright Path Family and Children Services of Dallas"  # 50: the longest allowed
NOT_A_REPORT = {"en": "This is not a police report.", "es": "No es un reporte policial."}
INTAKE = {
    "en": ["my son is missing", "yes", "Mia Lopez", "7", "2 hours ago", "Elm Park",
           "red coat and blue jeans", "Springfield police, report 24-1187", "1", "SKIP",
           "SAME"],
    "es": ["mi hija esta desaparecida", "ya", "Sofía Pérez", "7", "hace 2 horas",
           "el parque Juárez", "chamarra roja y jeans", "policía de Houston, folio 24-1187",
           "1", "SALTAR", "MISMO"],
}  # fmt: skip


def cards(line) -> list[Outbound]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Outbound).where(Outbound.kind == card.KIND)))


def assert_never_claims_a_report(text: str, lang: str) -> None:
    for pattern in NEVER_SAY[lang]:
        assert not re.search(pattern, text.lower()), pattern
    assert NOT_A_REPORT[lang] in text


@pytest.fixture
def settings(db_url, tmp_path):
    return make_settings(db_url, tmp_path, org_name=ORG)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_text_intake_ends_with_the_card_in_the_callers_language(app, line, settings, lang):
    phone = Phone(app, settings, number=CALLER)
    for answer in INTAKE[lang][:-1]:
        phone.text(answer)
    assert cards(line) == []  # not before the intake ends
    phone.text(INTAKE[lang][-1])
    [row] = cards(line)
    [case] = [c for c in _cases(line) if c.status == "open"]
    assert (row.to_phone, row.case_id, row.lang, row.status) == (CALLER, case.id, lang, "pending")
    text = row.body
    name = {"en": "Mia Lopez", "es": "Sofia Pérez"}[lang]  # í folded (GSM-7 lacks it), é kept
    expected = {
        "en": (name, "7 years old", "Elm Park", "red coat and blue jeans", "24-1187", case.ref),
        "es": (name, "7 años", "el parque Juarez", "chamarra roja y jeans", "24-1187", case.ref),
    }[lang]
    for fact in expected:
        assert fact in text, f"{fact!r} not in {text!r}"
    assert text.startswith({"en": "Read this to police", "es": "Lea esto a la policia"}[lang])
    assert_never_claims_a_report(text, lang)
    assert is_gsm(text) and segments(text) <= card.MAX_SEGMENTS
    phone.text("thanks")
    assert len(cards(line)) == 1, "one card per case"


def _cases(line) -> list[Case]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


@pytest.fixture
def call_settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake, org_name=ORG)


@pytest.fixture
def call_app(call_settings):
    from intake.app import create_app

    return create_app(call_settings)


def _call(call_app, call_settings) -> simulator.Call:
    post = simulator.app_post(call_app)
    return simulator.Call.start(post, call_settings, CALLER, to=LINE_NUMBER)


TOLD = "We are also texting you the facts to read to the police and NCMEC."


def test_a_call_intake_ends_with_the_card_too(call_app, call_settings):
    from intake.core.line import current_line

    phone = _call(call_app, call_settings)
    assert TOLD in " ".join(answer_everything(phone))  # the caller knows a text is coming
    with call_app.app_context():
        line = current_line()
    [row] = cards(line)
    assert row.to_phone == CALLER and row.lang == "en"
    assert "Mia Lopez, 7 years old" in row.body and "Elm Park in Springfield" in row.body
    assert_never_claims_a_report(row.body, "en")


def test_no_card_to_a_number_twilio_said_cannot_take_texts(call_app, call_settings):
    from intake.core.line import current_line

    with call_app.app_context():
        line = current_line()
    long_ago = line.clock.now() - timedelta(days=30)
    with line.db.transaction() as s:  # an old case: a text to this landline was refused
        caller = Caller(phone=CALLER, lang="en", state={})
        s.add(caller)
        s.add(
            Case(
                ref="OLDONE",
                caller=caller,
                status="closed",
                channel="sms",
                created_at=long_ago,
                closed_at=long_ago,
                cannot_text_at=long_ago,
            )
        )
    phone = _call(call_app, call_settings)
    assert TOLD not in " ".join(answer_everything(phone))
    assert [c.status for c in _cases(line)] == ["closed", "open"]
    assert cards(line) == []


# --- the words, at their longest -------------------------------------------------------

LONG = SimpleNamespace(
    ref="K7M3QX",
    child_name="Maria Guadalupe Hernández-Castillo Rivas",
    age_months=84,
    description="una chamarra roja con capucha, pantalones de mezclilla azules, tenis blancos "
    "con rayas rosas, una mochila de Frozen, aretes de oro y lentes morados",
    last_seen_when="hace 2 horas, cuando salió de la tienda de la esquina con su primo",
    last_seen_at=None,
    last_seen_where="el parque de la calle Main, cerca de la escuela primaria Benito Juárez, "
    "en el lado este de Springfield, junto a las canchas",
    police_report="Policía de Springfield, folio 24-118765, agente Ramírez, tel 217-555-0199",
)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_long_answers_are_cut_at_a_word_to_fit_three_segments(lang):
    text = card.fit(card.facts_of(LONG, lang, ZoneInfo("America/Chicago")), lang, ORG)
    assert is_gsm(text) and segments(text) <= 3
    assert "Maria Guadalupe Hernandez-Castillo Rivas" in text  # the name whole
    assert "folio 24-118765" in text  # the report number before any description
    assert "..." in text and "K7M3QX" in text
    assert_never_claims_a_report(text, lang)
    wearing = next(line for line in text.splitlines() if line.split(":")[0] in ("Ropa", "Wearing"))
    kept = wearing.split(": ", 1)[1].removesuffix("...")
    assert LONG.description.startswith(kept) and LONG.description[len(kept)] in " ,"


def test_a_name_in_another_script_is_kept_and_the_card_still_fits():
    case = SimpleNamespace(**{**vars(LONG), "child_name": "王小明"})
    text = card.fit(card.facts_of(case, "es", ZoneInfo("America/Chicago")), "es", ORG)
    assert "王小明" in text and segments(text) <= 3 and "K7M3QX" in text


def test_a_case_with_several_children_lists_each():
    kids = [  # as cases.children keeps them (flows: one entry a child)
        {"name": "Mia Lopez", "age_months": 84, "found": False},
        {"name": "Leo Lopez", "age_months": 18, "found": False},
    ]
    described = "Mia red coat, Leo green pajamas"
    case = SimpleNamespace(
        **{**vars(LONG), "children": kids, "police_report": None, "description": described}
    )
    text = card.fit(card.facts_of(case, "en", ZoneInfo("America/Chicago")), "en", ORG)
    assert "Child: Mia Lopez, 7 years old" in text and "Child: Leo Lopez, 18 months old" in text
    assert text.count("Wearing: Mia red coat, Leo green pajamas") == 1
    assert "name not given" not in text and segments(text) <= 3


def test_an_estimated_time_is_given_as_a_clock_time_that_stays_true():
    from datetime import datetime

    case = SimpleNamespace(
        **{**vars(LONG), "last_seen_at": datetime(2026, 12, 7, 2, 40, tzinfo=UTC)}
    )
    text = card.fit(card.facts_of(case, "en", ZoneInfo("America/Chicago")), "en", ORG)
    assert "Last seen: about 2026-12-06 20:40 CST" in text


def test_a_card_refused_as_not_a_mobile_number_marks_the_case_and_stops_the_plan(
    call_app, call_settings, fake
):
    from intake.core.line import current_line
    from intake.delivery import dispatcher
    from intake.infra.transport import TwilioTransport

    with call_app.app_context():
        line = current_line()
    phone = Phone(call_app, call_settings, number=CALLER)
    for answer in INTAKE["en"]:
        phone.text(answer)
    fake.fail_to(CALLER, 21614)  # a landline
    report = dispatcher.dispatch(line, TwilioTransport(call_settings), now=line.clock.now())
    assert report.failed == 1
    [case] = _cases(line)
    assert case.cannot_text_at is not None
    with line.db.sessions() as s:
        plan = s.scalars(select(Outbound.status).where(Outbound.kind == "followup")).all()
    assert set(plan) == {"cancelled"}
