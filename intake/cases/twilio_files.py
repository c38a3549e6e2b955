"""Photos, recordings and texts kept at Twilio: which file a link names, and deleting them there."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update

from intake.core.models import TwilioDeletion
from intake.domain.enums import TwilioFileKind
from intake.infra.db import Database
from intake.infra.logs import event as log_event
from intake.infra.transport import SendError, Transport, TwilioFile

if TYPE_CHECKING:
    from intake.core.line import Line

MEDIA_URL = re.compile(r"/Accounts/(AC\w+)/Messages/(MM\w+)/Media/(ME\w+)")
RECORDING_URL = re.compile(r"/Accounts/(AC\w+)/Recordings/(RE\w+)")


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


def deletion(found: TwilioFile, case_id: int) -> TwilioDeletion:
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
            _failed(line.db, row.id, error.reason)
            log_event("retention.twilio_failed", level=30, kind=row.kind, sid=row.sid)
            if error.retry:
                return deleted, len(waiting) - n
            continue
        with line.db.transaction() as session:
            session.execute(delete(TwilioDeletion).where(TwilioDeletion.id == row.id))
        deleted += 1
    return deleted, len(waiting) - deleted


def _failed(db: Database, row_id: int, reason: str) -> None:
    with db.transaction() as session:
        session.execute(
            update(TwilioDeletion)
            .where(TwilioDeletion.id == row_id)
            .values(attempts=TwilioDeletion.attempts + 1, last_error=reason[:100])
        )
