"""Retention: a case found or closed more than INTAKE_RETENTION_DAYS ago loses its personal
data, here and at Twilio; its counts and times stay.

A case is due when it is found or closed and the later of its found and closed times is
more than N days ago (an intake left half done, "abandoned": started again, or not
answered for INTAKE_ABANDONED_AFTER_MINUTES, is due N days after it began once its caller
has no open case). An open case (intake, open) is
never due, whatever its age.

What goes, for a due case:
- its answers: child's name, when and where last seen (the words), description, police
  report number, callback number;
- every message on it (the caregiver's, the line's replies, staff commands): body, TwiML
  reply, Twilio's metadata;
- its outbox rows, and the page texts of its alerts: body, parameters and the last error
  (Twilio's error words may quote the number), and the recipient where it is the
  caregiver; rows still pending are cancelled;
- its staff notes (the rows) and the detail of its audit entries;
- the links to its photos and recordings, after they are queued for deletion at Twilio,
  and every text of the case kept at Twilio (its body there): queued for deletion too.
And once none of the caller's cases is kept any longer (every one purged): the caller's
conversation state and phone number (replaced by "purged:<id>", which no sender can
have), the messages of that caller not tied to a case, and every outbox row to them.
Staff commands and replies tied to no case and no caller (a mistyped ref, ACK ALL) lose
their words once older than the retention too.

What stays: the case row (ref, status, channel, language, age in months, relationship,
whether police were called, who took it, every time: created, completed, found, closed,
last seen, purged), how many messages, photos and recordings it had (the rows, emptied),
delivery statuses and error codes, alerts and pages (they name staff, not the family),
who looked at it and when (the audit log, without details). `COLUMNS` (in
retention_columns.py) says this for every column of every table;
tests/test_retention_columns.py fails when a column is added without a rule.

Each case is purged in one transaction, so a purge killed halfway resumes next run and
never purges twice. Photos, recordings and texts are deleted at Twilio after that, from a
list of SIDs (no personal data) that keeps each one until Twilio confirms it gone (a 404
counts as gone); a failure leaves it for the next run, and the database never waits on
Twilio.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from intake.cases import twilio_files
from intake.cases.lifecycle import FINISHED_STATUSES, OPEN_STATUSES
from intake.cases.retention_columns import CASE_ANSWERS, PURGED
from intake.core import outbox
from intake.core.models import (
    Alert,
    AuditEntry,
    Caller,
    Case,
    CaseMedia,
    CaseNote,
    Message,
    Outbound,
    Page,
    TwilioDeletion,
)
from intake.domain.enums import UNSETTLED, CaseStatus, Medium, TwilioFileKind
from intake.infra import sids
from intake.infra.logs import event as log_event
from intake.infra.transport import Transport, TwilioFile

if TYPE_CHECKING:
    from intake.core.line import Line


ABANDONED = CaseStatus.ABANDONED
PURGE_REASON = "case purged"


@dataclass
class Plan:
    """What a purge would do now (a dry run): case refs, no personal data."""

    refs: list[str] = field(default_factory=list)
    callers: int = 0  # callers whose number and conversation would go
    files: int = 0  # photos, recordings and texts to delete at Twilio
    waiting: int = 0  # deletions at Twilio already waiting from earlier runs


@dataclass
class Report:
    """What a purge did."""

    refs: list[str] = field(default_factory=list)
    callers: int = 0
    deleted: int = 0  # photos, recordings and texts Twilio confirmed gone
    left: int = 0  # still to delete at Twilio: tried again next run
    failed: int = 0  # cases that could not be purged (logged): tried again next run


def purged_phone(caller_id: int) -> str:
    """A caller's number once purged: unique, and no phone or sender id has a colon."""
    return f"purged:{caller_id}"


def cutoff(line: Line, now: datetime) -> datetime:
    return now - timedelta(days=line.settings.retention_days)


def due(before: datetime):
    """The condition for a case whose personal data is due to go (see the module)."""
    found, closed = Case.found_at, Case.closed_at
    finished = and_(
        Case.status.in_(FINISHED_STATUSES),
        or_(found.is_not(None), closed.is_not(None)),
        or_(found.is_(None), found < before),
        or_(closed.is_(None), closed < before),
    )
    sibling = aliased(Case)
    open_sibling = exists().where(
        sibling.caller_id == Case.caller_id, sibling.status.in_(OPEN_STATUSES)
    )
    abandoned = and_(Case.status == ABANDONED, Case.created_at < before, ~open_sibling)
    return and_(Case.purged_at.is_(None), or_(finished, abandoned))


def plan(line: Line, now: datetime) -> Plan:
    """What a purge would do now; changes nothing."""
    before = cutoff(line, now)
    result = Plan()
    with line.db.sessions() as session:
        cases = list(session.scalars(select(Case).where(due(before)).order_by(Case.id)))
        result.refs = [case.ref for case in cases]
        due_ids = {case.id for case in cases}
        callers = {case.caller_id for case in cases}
        result.callers = len(callers - _callers_keeping(session, callers, due_ids))
        for ids in _chunks(due_ids):
            media = session.scalars(select(CaseMedia.url).where(CaseMedia.case_id.in_(ids)))
            result.files += sum(1 for url in media if twilio_files.twilio_file(url) is not None)
        if line.settings.uses_twilio:
            result.files += sum(len(texts_at_twilio(session, case_id)) for case_id in due_ids)
        result.waiting = session.scalar(select(func.count()).select_from(TwilioDeletion)) or 0
    return result


def _callers_keeping(session: Session, callers: set[int], leaving: set[int]) -> set[int]:
    """Those of these callers with a case not purged besides the ones `leaving`."""
    keeping = set()
    for ids in _chunks(callers):
        query = select(Case.id, Case.caller_id).where(
            Case.caller_id.in_(ids), Case.purged_at.is_(None)
        )
        keeping |= {caller for case_id, caller in session.execute(query) if case_id not in leaving}
    return keeping


def _chunks(ids: Iterable[int], size: int = 1000) -> Iterable[list[int]]:
    """Ids a few at a time: a database takes only so many parameters in one query."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def purge(line: Line, transport: Transport, now: datetime) -> Report:
    """Purge every due case, then delete what waits at Twilio."""
    report = Report()
    with line.db.sessions() as session:
        due_ids = list(session.scalars(select(Case.id).where(due(cutoff(line, now)))))
    for case_id in sorted(due_ids):
        try:
            with line.db.transaction() as session:
                done = purge_case(session, line, case_id, now)
        except Exception as exc:  # noqa: BLE001 - one case that fails must not keep the rest
            report.failed += 1
            log_event("retention.case_failed", level=40, case_id=case_id, error=type(exc).__name__)
            continue
        if done is not None:
            report.refs.append(done[0])
            report.callers += done[1]
    with line.db.transaction() as session:
        _scrub_staff_traffic(session, cutoff(line, now))
    report.deleted, report.left = twilio_files.delete_at_twilio(line, transport)
    log_event(
        "retention.done",
        cases=len(report.refs),
        failed=report.failed,
        callers=report.callers,
        deleted=report.deleted,
        left=report.left,
    )
    return report


def purge_case(session: Session, line: Line, case_id: int, now: datetime) -> tuple[str, int] | None:
    """Purge one case (and its caller, when nothing of theirs is kept any longer), inside
    the caller's lock; None when it is no longer due (purged meanwhile, or found again).
    Returns the case's ref and 1 if its caller was purged too, else 0."""
    caller_id = session.scalar(select(Case.caller_id).where(Case.id == case_id))
    if caller_id is None:
        return None
    caller = _locked(session, select(Caller).where(Caller.id == caller_id))
    case = _locked(session, select(Case).where(Case.id == case_id, due(cutoff(line, now))))
    if case is None:
        return None
    files = _scrub_case(session, line, case, caller)
    case.purged_at = now
    session.flush()
    caller_purged = not _keeps_another_case(session, caller.id, case.id)
    if caller_purged:
        _scrub_caller(session, caller)
    log_event("retention.case", case=case.ref, files=files, caller_purged=caller_purged)
    return case.ref, int(caller_purged)


def _locked(session: Session, query):
    """The one row a query finds (or None), locked until the transaction ends."""
    return session.scalars(
        query.with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def _keeps_another_case(session: Session, caller_id: int, case_id: int) -> bool:
    """Whether the caller has a case not purged (open, or inside retention) besides this."""
    query = select(Case.id).where(
        Case.caller_id == caller_id, Case.purged_at.is_(None), Case.id != case_id
    )
    return session.scalar(query.limit(1)) is not None


def _scrub_case(session: Session, line: Line, case: Case, caller: Caller) -> int:
    """Empty the case's personal data; queue its files and texts for deletion at Twilio.
    Returns how many."""
    for name in CASE_ANSWERS:
        setattr(case, name, None)
    files = 0
    for item in session.scalars(select(CaseMedia).where(CaseMedia.case_id == case.id)):
        found = twilio_files.twilio_file(item.url) if item.url else None
        if found is not None:
            session.add(twilio_files.deletion(found, case.id))
            files += 1
        item.url = ""
    files += _delete_texts_at_twilio(session, line, case.id)
    _scrub_messages(session, Message.case_id == case.id)
    outbox.cancel_pending(session, PURGE_REASON, case_id=case.id)
    _scrub_outbox(session, Outbound.case_id == case.id, caller)
    settled = Outbound.status.not_in(UNSETTLED)  # a combined page may wait
    _scrub_outbox(session, and_(Outbound.id.in_(_page_rows(case.id)), settled), caller)
    session.execute(delete(CaseNote).where(CaseNote.case_id == case.id))
    session.execute(
        update(AuditEntry)
        .where(AuditEntry.case_id == case.id)
        .values(detail="")
        .execution_options(synchronize_session=False)
    )
    return files


def _delete_texts_at_twilio(session: Session, line: Line, case_id: int) -> int:
    """Queue every text of the case that Twilio keeps (in or out) for deletion there: its
    body is kept at Twilio until then. Returns how many."""
    account = line.settings.twilio_account_sid
    if not account:
        return 0  # without Twilio nothing was kept there
    found = texts_at_twilio(session, case_id)
    for sid in found:
        session.add(
            twilio_files.deletion(TwilioFile(TwilioFileKind.MESSAGE, account, sid), case_id)
        )
    return len(found)


def _page_rows(case_id: int):
    """The outbox rows that paged someone about the case (a combined page names no case)."""
    pages = select(Page.outbox_id).join(Alert, Page.alert_id == Alert.id)
    return pages.where(Alert.case_id == case_id, Page.outbox_id.is_not(None))


def texts_at_twilio(session: Session, case_id: int) -> list[str]:
    """The SIDs of the case's texts, in and out (its page texts too), that Twilio keeps (a
    local row's is none)."""
    texts = select(Message.twilio_sid).where(Message.case_id == case_id)
    sent = select(Outbound.twilio_sid).where(
        or_(Outbound.case_id == case_id, Outbound.id.in_(_page_rows(case_id))),
        Outbound.channel == Medium.SMS,
    )
    found = set(session.scalars(texts)) | set(session.scalars(sent))
    return sorted(sid for sid in found if sids.is_sid(sids.MESSAGE, sid))


def _scrub_caller(session: Session, caller: Caller) -> None:
    """The caller's number and conversation, and what of theirs no case holds."""
    _scrub_messages(session, and_(Message.caller_id == caller.id, Message.case_id.is_(None)))
    outbox.cancel_pending(session, PURGE_REASON, to=caller.phone)
    _scrub_outbox(session, Outbound.to_phone == caller.phone, caller)  # by index, not caller_id
    caller.phone = purged_phone(caller.id)
    caller.state = {}


def _scrub_staff_traffic(session: Session, before: datetime) -> None:
    """Staff commands and the line's answers tied to no case and no caller (a mistyped
    ref, ACK ALL, a combined page): their words go once older than the retention."""
    nobodys = and_(Message.case_id.is_(None), Message.caller_id.is_(None))
    _scrub_messages(session, and_(nobodys, Message.created_at < before))
    session.execute(
        update(Outbound)
        .where(
            Outbound.case_id.is_(None),
            Outbound.caller_id.is_(None),
            Outbound.created_at < before,
            Outbound.status.not_in(UNSETTLED),
        )
        .values(body=None, params={}, last_error=None)
        .execution_options(synchronize_session=False)
    )


def _scrub_messages(session: Session, which) -> None:
    session.execute(
        update(Message)
        .where(which)
        .values(body="", reply_twiml=None, meta=None)
        .execution_options(synchronize_session=False)
    )


def _scrub_outbox(session: Session, which, caller: Caller) -> None:
    """Bodies and parameters go; the recipient too where it is the caregiver."""
    session.execute(
        update(Outbound)
        .where(which)
        .values(body=None, params={}, last_error=None)
        .execution_options(synchronize_session=False)
    )
    caregiver = or_(Outbound.caller_id == caller.id, Outbound.to_phone == caller.phone)
    session.execute(
        update(Outbound)
        .where(which, caregiver)
        .values(to_phone=PURGED)
        .execution_options(synchronize_session=False)
    )
