"""The purge forgets everything of a purged case, in every table.

`retention_columns.COLUMNS` names every column of every table with what a purge does to it; a new
table or column without a rule fails here. Then a case with everything a night can leave
on it (staff notes, audit details, a relay both ways, page texts with the child's name,
staff commands and their metadata) is purged, and no row anywhere still holds its words.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Column, MetaData, String, Table, select

from intake.cases import retention, retention_columns
from intake.core import audit
from intake.core.models import Base, Case, Message, StaffAccount
from intake.simulator import phone as simulator
from intake.staff import notes
from tests import test_oncall
from tests.conftest import ACCOUNT, LINE_NUMBER, Phone, signed_post, twilio_settings
from tests.dashboard_helpers import ADMIN, make_account, sign_in
from tests.test_oncall import ANA, add, staff, tick
from tests.test_retention import NAME, age, cases, report_missing

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it

NOTE = "Grandmother says Mia may walk to the river"
RELAYED = "Officer Diaz will call you from the Springfield desk"
CAREGIVER_SAYS = "she has a blue backpack with a unicorn"


@pytest.fixture
def settings(db_url, tmp_path, fake):
    """A line with Twilio; alerts name the child (the full detail), so page texts do too."""
    return twilio_settings(
        db_url, tmp_path, fake, fallback_alert_number=test_oncall.FALLBACK, alert_detail="full"
    )


def test_every_column_of_every_table_has_a_purge_rule():
    assert retention_columns.undeclared(Base.metadata) == []
    for table, columns in retention_columns.COLUMNS.items():
        for name, rule in columns.items():
            assert rule == retention_columns.PURGED or rule.startswith("kept: "), (table, name)


def test_a_new_column_or_table_without_a_rule_is_named():
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("case_sightings", metadata, Column("place", String(100)))
    cases_table = metadata.tables["cases"]
    cases_table.append_column(Column("child_nickname", String(40)))
    assert retention_columns.undeclared(metadata) == [
        "case_sightings.place",
        "cases.child_nickname",
    ]


def every_value(line) -> str:
    """Every value of every row of every table, decrypted, as one text."""
    parts = []
    with line.db.sessions() as s:
        for mapper in Base.registry.mappers:
            model = mapper.class_
            for row in s.scalars(select(model)):
                parts += [str(getattr(row, attr.key)) for attr in mapper.column_attrs]
    return "\n".join(parts)


def test_a_purged_case_leaves_no_word_of_it_in_any_table(
    app, line, phone, fake, transport, settings
):
    add(line, "Ana", ANA)
    admin = make_account(line, ADMIN, admin=True)
    case = found_case_with_a_night_on_it(app, line, phone, fake, transport, settings, admin)
    said = every_value(line)
    for words in (NAME, NOTE, RELAYED, CAREGIVER_SAYS, phone.number):
        assert words in said, words

    report = retention.purge(line, transport, line.clock.now())

    assert report.refs == [case.ref]
    said = every_value(line)
    for words in (NAME, NOTE, RELAYED, CAREGIVER_SAYS, phone.number, "SPRINGFIELD-IL"):
        assert words not in said, words
    assert case.ref in said  # the case itself stays: its ref, status and times
    client = app.test_client()
    sign_in(client, ADMIN)
    page = client.get(f"/dashboard/cases/{case.ref}").get_data(as_text=True)
    assert NOTE not in page and NAME not in page


def found_case_with_a_night_on_it(app, line, phone, fake, transport, settings, admin):
    """A case by text and by call, paged (its name in the page), ACKed by Ana from a
    forged-looking place, a relay each way, 112 staff notes, audit entries with details;
    then found, 91 days ago."""
    report_missing(phone, fake)
    tick(line, transport)  # the alert goes out, naming the child
    assert any(NAME in m["body"] for m in fake.messages if m["to"] == ANA)
    ref = cases(line)[-1].ref
    ana = staff(app, settings, ANA)
    ack = simulator.sms_params(ANA, f"ACK {ref}", settings=settings)
    ack |= {"FromCity": "SPRINGFIELD-IL"}
    assert ana.post(ack).status_code == 200
    ana.text(f"R {ref} {RELAYED}")
    phone.text(CAREGIVER_SAYS)  # goes on to Ana, the case's worker
    tick(line, transport)
    call = simulator.call_params(phone.number, "CA" + "9" * 32, To=LINE_NUMBER, AccountSid=ACCOUNT)
    assert signed_post(app, "/twilio/voice", call).status_code == 200
    with line.db.transaction() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        writer = s.get(StaffAccount, admin)
        for n in range(112):
            notes.add(s, case, writer, f"{NOTE} ({n})", line.clock.now())
        audit.record(s, writer, "texted_caregiver", case, detail=RELAYED[:40])
    Phone(app, settings, number=phone.number).text("FOUND")
    age(line, ref, 91)
    return cases(line)[-1]


def test_a_staff_command_tied_to_no_case_loses_its_words_once_old(
    app, line, fake, transport, settings
):
    add(line, "Ana", ANA)
    ana = staff(app, settings, ANA)
    ana.text(f"R NOSUCH {RELAYED}")  # a mistyped ref: kept, on no case
    with line.db.transaction() as s:
        kept = s.scalars(select(Message).where(Message.person_id.is_not(None))).one()
        assert RELAYED in kept.body and kept.case_id is None and kept.meta
        kept.created_at = line.clock.now() - timedelta(days=89)
    retention.purge(line, transport, line.clock.now())
    assert RELAYED in every_value(line)  # inside the retention: kept
    with line.db.transaction() as s:
        s.scalars(select(Message)).one().created_at = line.clock.now() - timedelta(days=91)
    retention.purge(line, transport, line.clock.now())
    said = every_value(line)
    assert RELAYED not in said and "RemoteAddr" not in said
