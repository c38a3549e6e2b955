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
who looked at it and when (the audit log, without details). `COLUMNS` below says this
for every column of every table; tests/test_retention_columns.py fails when a column is
added without a rule.

Each case is purged in one transaction, so a purge killed halfway resumes next run and
never purges twice. Photos, recordings and texts are deleted at Twilio after that, from a
list of SIDs (no personal data) that keeps each one until Twilio confirms it gone (a 404
counts as gone); a failure leaves it for the next run, and the database never waits on
Twilio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from intake import outbox, sids
from intake.cases import FINISHED_STATUSES, OPEN_STATUSES
from intake.domain import UNSETTLED, CaseStatus, Medium, TwilioFileKind
from intake.logs import event as log_event
from intake.models import (
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
from intake.transport import SendError, Transport, TwilioFile

if TYPE_CHECKING:
    from intake.line import Line


ABANDONED = CaseStatus.ABANDONED
PURGED = "purged"  # what a caregiver's number becomes on a purged outbox row
PURGE_REASON = "case purged"
MEDIA_URL = re.compile(r"/Accounts/(AC\w+)/Messages/(MM\w+)/Media/(ME\w+)")
RECORDING_URL = re.compile(r"/Accounts/(AC\w+)/Recordings/(RE\w+)")

# Every column of every table, and what a purge does with it. A column that can hold a
# child's or a caregiver's data is PURGED (emptied, or its row deleted); any other says
# why it is kept. tests/test_retention_columns.py checks this against the models.
PURGED = "purged"
AN_ID = "kept: an id or a link between rows"
A_TIME = "kept: a time (counts and times stay)"
A_WORD = "kept: one of a few fixed words or numbers"
STAFF = "kept: about staff, not the family"
SID = "kept: Twilio's id, no personal data (the resource is deleted at Twilio)"
COLUMNS: dict[str, dict[str, str]] = {
    "callers": {
        "id": AN_ID,
        "phone": PURGED,  # once none of the caller's cases is kept: "purged:<id>"
        "lang": A_WORD,
        "state": PURGED,
        "opted_out_at": A_TIME,
        "created_at": A_TIME,
        "updated_at": A_TIME,
    },
    "cases": {
        "id": AN_ID,
        "ref": "kept: the case's name for staff, random letters",
        "caller_id": AN_ID,
        "status": A_WORD,
        "lang": A_WORD,
        "channel": A_WORD,
        "child_name": PURGED,
        "age_months": "kept: an age, for counts",
        "last_seen_when": PURGED,
        "last_seen_at": A_TIME,
        "last_seen_where": PURGED,
        "description": PURGED,
        "police_called": A_WORD,
        "police_report": PURGED,
        "relationship_to_child": A_WORD,
        "callback_phone": PURGED,
        "reported_missing": A_WORD,
        "assigned_person_id": AN_ID,
        "created_at": A_TIME,
        "completed_at": A_TIME,
        "found_at": A_TIME,
        "closed_at": A_TIME,
        "cannot_text_at": A_TIME,
        "purged_at": A_TIME,
        "is_test": A_WORD,
        "last_seen_told_at": A_TIME,
        "children": PURGED,  # each child's name and age
        "police_refused": A_WORD,
    },
    "case_media": {
        "id": AN_ID,
        "case_id": AN_ID,
        "url": PURGED,  # the file itself is deleted at Twilio
        "content_type": A_WORD,
        "created_at": A_TIME,
    },
    "twilio_deletions": {
        "id": AN_ID,
        "kind": A_WORD,
        "account_sid": SID,
        "message_sid": SID,
        "sid": SID,
        "case_id": AN_ID,
        "attempts": A_WORD,
        "last_error": "kept: Twilio's error about a SID",
        "created_at": A_TIME,
    },
    "messages": {
        "id": AN_ID,
        "caller_id": AN_ID,
        "person_id": AN_ID,
        "case_id": AN_ID,
        "direction": A_WORD,
        "twilio_sid": SID,
        "body": PURGED,
        "num_media": A_WORD,
        "step": A_WORD,
        "reply_twiml": PURGED,
        "meta": PURGED,  # a staff command's or a caller's request as Twilio described it
        "created_at": A_TIME,
    },
    "outbox": {
        "id": AN_ID,
        "kind": A_WORD,
        "channel": A_WORD,
        "to_phone": PURGED,  # where it is the caregiver's; staff's numbers stay
        "template": A_WORD,
        "params": PURGED,
        "body": PURGED,
        "lang": A_WORD,
        "case_id": AN_ID,
        "caller_id": AN_ID,
        "dedupe_key": "kept: names rows and SIDs, never words",
        "send_at": A_TIME,
        "status": A_WORD,
        "attempts": A_WORD,
        "lease_until": A_TIME,
        "last_error": PURGED,  # Twilio's error words may quote the number
        "twilio_sid": SID,
        "delivery_status": A_WORD,
        "error_code": A_WORD,
        "created_at": A_TIME,
        "sent_at": A_TIME,
        "tried_at": A_TIME,
        "unsure": A_WORD,
    },
    "oncall_people": {
        "id": AN_ID,
        "name": STAFF,
        "phone": STAFF,
        "reach_by": STAFF,
        "windows": STAFF,
        "position": STAFF,
        "active": STAFF,
        "opted_out_at": STAFF,
        "created_at": A_TIME,
    },
    "alerts": {
        "id": AN_ID,
        "case_id": AN_ID,
        "reason": A_WORD,
        "status": A_WORD,
        "chain": STAFF,
        "step": A_WORD,
        "round": A_WORD,
        "plan_step": A_WORD,
        "next_check_at": A_TIME,
        "acked_by_id": AN_ID,
        "acked_at": A_TIME,
        "created_at": A_TIME,
    },
    "alert_pages": {
        "id": AN_ID,
        "alert_id": AN_ID,
        "person_id": AN_ID,
        "outbox_id": AN_ID,  # its text is purged on the outbox row
        "to_phone": STAFF,
        "channel": A_WORD,
        "created_at": A_TIME,
    },
    "escalation_log": {  # who is a roster person's id: their name is on the roster
        "id": AN_ID,
        "case_id": AN_ID,
        "alert_id": AN_ID,
        "person_id": AN_ID,
        "action": A_WORD,
        "detail": A_WORD,
        "created_at": A_TIME,
    },
    "staff_accounts": {
        "id": AN_ID,
        "email": STAFF,
        "name": STAFF,
        "password_hash": STAFF,
        "role": STAFF,
        "phone": STAFF,
        "active": STAFF,
        "failed_signins": STAFF,
        "last_failed_at": STAFF,
        "totp_secret": STAFF,
        "totp_on": STAFF,
        "totp_last_step": STAFF,
        "created_at": A_TIME,
    },
    "staff_sessions": {
        "id": "kept: a hash of a session's token",
        "staff_id": AN_ID,
        "user_agent": STAFF,
        "created_at": A_TIME,
        "last_seen_at": A_TIME,
        "expires_at": A_TIME,
        "ended_at": A_TIME,
    },
    "recovery_codes": {
        "id": AN_ID,
        "staff_id": AN_ID,
        "code_hash": STAFF,
        "used_at": A_TIME,
    },
    "signin_throttles": {  # a hash of whatever address was typed, never the address
        "id": AN_ID,
        "address_hash": STAFF,
        "source": STAFF,
        "failures": A_WORD,
        "last_checked_at": A_TIME,
    },
    "case_notes": {  # the rows are deleted: a note may name the child
        "id": PURGED,
        "case_id": PURGED,
        "staff_id": PURGED,
        "body": PURGED,
        "created_at": PURGED,
    },
    "audit_log": {
        "id": AN_ID,
        "staff_id": AN_ID,
        "action": A_WORD,
        "case_id": AN_ID,
        "detail": PURGED,
        "created_at": A_TIME,
    },
}


# What a purge empties on the case row itself: its PURGED columns, read from the one list.
CASE_ANSWERS = tuple(name for name, rule in COLUMNS["cases"].items() if rule == PURGED)


def undeclared(metadata) -> list[str]:
    """Every table.column of `metadata` without a rule in COLUMNS, and every rule whose
    column is gone: a new place for personal data must say whether the purge empties it."""
    have = {f"{t.name}.{c.name}" for t in metadata.tables.values() for c in t.columns}
    have.discard("alembic_version.version_num")
    declared = {f"{table}.{column}" for table, columns in COLUMNS.items() for column in columns}
    return sorted(have ^ declared)


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
            result.files += sum(1 for url in media if twilio_file(url) is not None)
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
    report.deleted, report.left = delete_at_twilio(line, transport)
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
        found = twilio_file(item.url) if item.url else None
        if found is not None:
            session.add(_deletion(found, case.id))
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
        session.add(_deletion(TwilioFile(TwilioFileKind.MESSAGE, account, sid), case_id))
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


def twilio_file(url: str) -> TwilioFile | None:
    """The photo or recording at Twilio a stored link names; None for any other link."""
    media = MEDIA_URL.search(url)
    if media:
        account, message_sid, sid = media.groups()
        return TwilioFile(TwilioFileKind.MEDIA, account, sid, message_sid)
    recording = RECORDING_URL.search(url)
    if recording:
        account, sid = recording.groups()
        return TwilioFile(TwilioFileKind.RECORDING, account, sid)
    return None


def _deletion(found: TwilioFile, case_id: int) -> TwilioDeletion:
    return TwilioDeletion(
        kind=found.kind,
        account_sid=found.account_sid,
        message_sid=found.message_sid,
        sid=found.sid,
        case_id=case_id,
    )


def delete_at_twilio(line: Line, transport: Transport) -> tuple[int, int]:
    """Delete each waiting photo and recording at Twilio; returns (deleted, left).

    A row goes once Twilio confirms (or says it is already gone). Twilio unreachable or
    busy (a retryable error) ends this run's deletions: the rest wait for the next run.
    """
    with line.db.sessions() as session:
        waiting = list(session.scalars(select(TwilioDeletion).order_by(TwilioDeletion.id)))
    deleted = 0
    for n, row in enumerate(waiting):
        found = TwilioFile(row.kind, row.account_sid, row.sid, row.message_sid)
        try:
            transport.delete_file(found)
        except SendError as error:
            _failed(line, row.id, error.reason)
            log_event("retention.twilio_failed", level=30, kind=row.kind, sid=row.sid)
            if error.retry:
                return deleted, len(waiting) - n
            continue
        with line.db.transaction() as session:
            session.execute(delete(TwilioDeletion).where(TwilioDeletion.id == row.id))
        deleted += 1
    return deleted, len(waiting) - deleted


def _failed(line: Line, row_id: int, reason: str) -> None:
    with line.db.transaction() as session:
        session.execute(
            update(TwilioDeletion)
            .where(TwilioDeletion.id == row_id)
            .values(attempts=TwilioDeletion.attempts + 1, last_error=reason[:100])
        )
