"""The dashboard's cases list: a row per case, in sections, most urgent first (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case as when_sql
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from intake.cases import lifecycle as cases
from intake.core.models import Alert, Case
from intake.domain.enums import ALERT_WAITING, CaseStatus
from intake.infra.timefmt import clock_time, local_time
from intake.oncall import alertwords

LIST_LIMIT = 200
WAITING = ALERT_WAITING  # an alert nobody has acknowledged yet
STATUS_WORDS = {
    CaseStatus.INTAKE: "intake under way",
    CaseStatus.OPEN: "open",
    CaseStatus.FOUND: "found",
    CaseStatus.CLOSED: "closed",
    CaseStatus.ABANDONED: "stopped part-way",
}


@dataclass(frozen=True)
class CaseRow:
    """One line of the cases list: no name, nothing a passer-by could read off a screen."""

    ref: str
    status: str
    is_open: bool
    age: str
    last_seen: str
    worker: str
    unacknowledged: bool
    started: str
    section: str
    opened_at: datetime
    finished_at: datetime
    test: bool = False  # the phone simulator's (intake/cases/simulated.py): labelled "Test"


@dataclass(frozen=True)
class Section:
    """One part of the cases list, in the order a worker woken at night works it."""

    key: str
    title: str
    rows: tuple[CaseRow, ...] = ()


# The list's sections, most urgent first (see `urgency`).
SECTIONS = (
    ("waiting", "Alert not acknowledged"),
    ("open", "Open, longest first"),  # a section's name (SECTION_OF_STATUS), not a status
    ("intake", "Intake under way"),
    ("stopped", "Stopped part-way"),
    ("finished", "Found or closed, latest first"),
)
FINISHED = cases.FINISHED_STATUSES  # found or closed: nothing waits on anyone
SECTION_OF_STATUS = {
    CaseStatus.OPEN: "open",
    CaseStatus.INTAKE: "intake",
    CaseStatus.ABANDONED: "stopped",
}


def case_list(session: Session, zone: ZoneInfo, now: datetime) -> list[Section]:
    """The cases list, in sections, in the order of `urgency`: what the page shows
    first and what its refresh every few seconds shows, alike."""
    rows = sorted(case_rows(session, zone, now), key=urgency)
    return [
        Section(key, title, tuple(r for r in rows if r.section == key))
        for key, title in SECTIONS
        if any(r.section == key for r in rows)
    ]


def urgency(row: CaseRow) -> tuple:
    """The list's one ordering rule. An alert nobody has taken comes first, whatever
    else: it is why the worker is awake. Then the open cases, the longest open first: a
    child missing longest is most at risk, and a new case joins the end of its section
    instead of pushing the row under the worker's thumb down at the next refresh. Then
    intakes still under way and those the caller stopped part-way (nothing to do yet but
    watch), then the finished ones, the latest first."""
    place = [key for key, _ in SECTIONS].index(row.section)
    if row.section == "finished":
        return (place, -row.finished_at.timestamp())
    return (place, row.opened_at.timestamp())


def case_rows(session: Session, zone: ZoneInfo, now: datetime) -> list[CaseRow]:
    """Every case not finished, then the latest finished ones (up to LIST_LIMIT)."""
    finished = Case.status.in_(FINISHED)
    query = (
        select(Case)
        .options(joinedload(Case.assigned_person))
        .order_by(when_sql((finished, 1), else_=0), Case.id.desc())
        .limit(LIST_LIMIT)
    )
    found = list(session.scalars(query))
    waiting = unacknowledged(session, [c.id for c in found])
    return [_row(c, c.id in waiting and c.status not in FINISHED, zone, now) for c in found]


def _row(case: Case, waiting: bool, zone: ZoneInfo, now: datetime) -> CaseRow:
    worker = case.assigned_person.name if case.assigned_person else ""
    section = "waiting" if waiting else SECTION_OF_STATUS.get(case.status, "finished")
    return CaseRow(
        ref=case.ref,
        status=STATUS_WORDS.get(case.status, case.status),
        is_open=CaseStatus(case.status).is_open,
        age=_ages(case),
        last_seen=last_seen_text(case, zone, now),
        worker=worker,
        unacknowledged=waiting,
        started=local_time(case.created_at, zone),
        section=section,
        opened_at=case.created_at,
        finished_at=case.found_at or case.closed_at or case.created_at,
        test=case.is_test,
    )


def _ages(case: Case) -> str:
    """The age; for a report about several children, how many and each age."""
    count = alertwords.children_count(case)
    return (
        alertwords.ages_text(case)
        if count == 1
        else f"{count} children: {alertwords.ages_text(case)}"
    )


def unacknowledged(session: Session, case_ids: list[int]) -> set[int]:
    """Of these cases, those with an alert still waiting for someone to take it."""
    if not case_ids:
        return set()
    query = select(Alert.case_id).where(Alert.case_id.in_(case_ids), Alert.status.in_(WAITING))
    return set(session.scalars(query))


def last_seen_text(case: Case, zone: ZoneInfo, now: datetime) -> str:
    """How long since the child was last seen ("2 h 10 min ago"); else the caller's own
    words with the time they said them, in the line's zone ("told at 02:14 EST, about
    9pm"), since "about 9pm" or "last night" means little without it."""
    if case.last_seen_at is not None:
        return f"{since(now - case.last_seen_at)} ago"
    if not case.last_seen_when:
        return "not given yet"
    if case.last_seen_told_at is None:
        return case.last_seen_when
    return f"told at {_told_time(case.last_seen_told_at, zone, now)}, {case.last_seen_when}"


def _told_time(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """'02:14 EST' the same day, '2026-12-05 02:14 EST' before it."""
    same_day = moment.astimezone(zone).date() == now.astimezone(zone).date()
    return clock_time(moment, zone) if same_day else local_time(moment, zone)


def since(gap: timedelta) -> str:
    minutes = max(0, int(gap.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"
