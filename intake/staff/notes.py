"""Notes staff write on a case from the dashboard (kept encrypted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.models import Case, CaseNote, StaffAccount

NOTE_LIMIT = 4000


class NoteError(ValueError):
    """A note that cannot be kept; the message says why."""


def add(session: Session, case: Case, staff: StaffAccount, text: str, now: datetime) -> CaseNote:
    text = text.strip()
    if not text:
        raise NoteError("The note is empty.")
    if len(text) > NOTE_LIMIT:
        raise NoteError(f"A note holds at most {NOTE_LIMIT} characters.")
    note = CaseNote(case_id=case.id, staff_id=staff.id, body=text, created_at=now)
    session.add(note)
    return note


def of_case(session: Session, case: Case) -> list[CaseNote]:
    query = select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
    return list(session.scalars(query))
