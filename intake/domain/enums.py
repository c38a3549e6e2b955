"""The domain's words in one place: every status, kind and medium the line stores, as enums.

Each value is the string stored in the database today (a StrEnum compares equal to it, so
columns keep their String storage). A rule about these words ("is this case open?", "is
this alert still waiting?") is written here once; tests/test_domain.py fails if a status
or kind literal appears anywhere else in the service.
"""

from __future__ import annotations

from enum import StrEnum

from flows.state import Channel


class CaseStatus(StrEnum):
    """Where a case stands: intake -> open -> found | closed; or abandoned part-way."""

    INTAKE = "intake"  # the conversation is still collecting answers
    OPEN = "open"  # the intake is complete; staff work it
    FOUND = "found"  # the child is found
    CLOSED = "closed"  # staff closed it
    ABANDONED = "abandoned"  # an intake left half done: timed out, or started again (RESTART)

    @property
    def is_open(self) -> bool:
        """The caller's case is live: an intake under way or a completed intake being
        worked. Follow-ups go out, a new text continues it, retention waits."""
        return self in OPEN_CASE

    @property
    def is_workable(self) -> bool:
        """Staff may still take, find or close it (an abandoned intake too)."""
        return self in WORKABLE_CASE

    @property
    def is_finished(self) -> bool:
        """Found or closed: nothing waits on anyone; retention's clock starts."""
        return self in FINISHED_CASE

    @property
    def is_foundable(self) -> bool:
        """A caregiver may still say the child is found (even after staff closed it)."""
        return self in FOUNDABLE_CASE


OPEN_CASE = (CaseStatus.INTAKE, CaseStatus.OPEN)
FINISHED_CASE = (CaseStatus.FOUND, CaseStatus.CLOSED)
WORKABLE_CASE = (*OPEN_CASE, CaseStatus.ABANDONED)
FOUNDABLE_CASE = (*WORKABLE_CASE, CaseStatus.CLOSED)


class AlertStatus(StrEnum):
    """An effort to wake someone for a case: open -> acked, or exhausted (nobody answered
    the whole chain; it still waits for someone to take it)."""

    OPEN = "open"
    ACKED = "acked"
    EXHAUSTED = "exhausted"

    @property
    def is_waiting(self) -> bool:
        """Nobody has taken the case yet."""
        return self in ALERT_WAITING


ALERT_WAITING = (AlertStatus.OPEN, AlertStatus.EXHAUSTED)  # an alert that still wants someone


class AlertReason(StrEnum):
    """Why an alert was started (stored on the alert; the dashboard shows it)."""

    INTAKE = "intake"  # an intake completed
    ASKED = "asked"  # the caller asked for a person
    HANDED_BACK = "handed_back"  # a worker gave the case back (NOTME, STOP)
    VOICEMAIL = "voicemail"  # a caller left a voicemail
    HUNG_UP = "hung_up"  # the caller hung up during the intake
    STALLED = "stalled"  # the caller went quiet mid-intake
    ABANDONED = "abandoned"  # the intake was left unfinished
    FROM_MEMORY = "from_memory"  # a new report answered from memory (database away)
    CALL_FROM_MEMORY = "call_from_memory"  # ... and a new caller's call answered so


class OutboxStatus(StrEnum):
    """An outbox row: pending -> sending (claimed, leased) -> sent | failed; or cancelled."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


UNSETTLED = (OutboxStatus.PENDING, OutboxStatus.SENDING)  # may still go out
REACHED = (OutboxStatus.SENDING, OutboxStatus.SENT)  # went out (or is going): the person has it


class OutboxKind(StrEnum):
    """What an outbox row is for."""

    FOLLOWUP = "followup"  # the follow-up plan's checklist texts (intake/cases/followups.py)
    CARD = "card"  # the text to read to police and NCMEC at the end of an intake
    ALERT = "alert"  # a page by text
    ALERT_CALL = "alert_call"  # a page by call
    ALERT_TAKEN = "alert_taken"  # telling those woken that someone took the case
    RELAY = "relay"  # staff's words relayed to a caregiver
    STAFF_REPLY = "staff_reply"  # the line's answer to a staff member's call
    STAFF_NOTICE = "staff_notice"  # a notice to a staff member
    CAREGIVER_TOLD = "caregiver_told"  # telling a caregiver what staff did
    PHOTO_REQUEST = "photo_request"  # a text asking a caller (on a call) for a photo
    LATE_REPLY = "late_reply"  # a turn's answer the caller never saw


ALERT_KINDS = (OutboxKind.ALERT, OutboxKind.ALERT_CALL)


class Medium(StrEnum):
    """How a message travels: a text or a phone call. A case's channel, an outbox row's and a
    page's, and the engine's channel: one word for a call, "voice" (migration 0018 turned
    the "call" the outbox, pages and roster once stored into it)."""

    SMS = Channel.SMS.value  # the engine's channel names (flows.state.Channel), one place
    VOICE = Channel.VOICE.value

    @classmethod
    def _missing_(cls, value: object) -> Medium | None:
        return cls.VOICE if value == OLD_CALL else None

    @property
    def shown(self) -> str:
        """The word staff read: "sms" or "call"."""
        return OLD_CALL if self is Medium.VOICE else self.value


class ReachBy(StrEnum):
    """How a roster member wants to be paged ("call" is still read as VOICE: the CLI's
    `--reach-by call` and the roster form keep working)."""

    SMS = "sms"
    VOICE = "voice"
    BOTH = "both"

    @classmethod
    def _missing_(cls, value: object) -> ReachBy | None:
        return cls.VOICE if value == OLD_CALL else None

    @property
    def shown(self) -> str:
        """The word staff read and type: "sms", "call" or "both"."""
        return OLD_CALL if self is ReachBy.VOICE else self.value

    @property
    def by_text(self) -> bool:
        return self in (ReachBy.SMS, ReachBy.BOTH)

    @property
    def by_call(self) -> bool:
        return self in (ReachBy.VOICE, ReachBy.BOTH)


OLD_CALL = "call"  # the word the outbox, pages and roster stored for a call before 0018


class Direction(StrEnum):
    """A kept message: from the caller (or staff) to the line, or from the line."""

    IN = "in"
    OUT = "out"


class StaffRole(StrEnum):
    """What a dashboard account may do: staff work cases; admins also edit the roster and
    read the audit log."""

    STAFF = "staff"
    ADMIN = "admin"


class TwilioFileKind(StrEnum):
    """What a Twilio file to delete after a purge is."""

    MEDIA = "media"
    RECORDING = "recording"
    MESSAGE = "message"


class EscalationAction(StrEnum):
    """One step the line took (or heard) while waking someone, as the escalation log keeps
    it (intake/core/audit.py says each in words)."""

    STARTED = "started"
    TEXTED = "texted"
    CALLED = "called"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    NOT_DELIVERED = "not_delivered"
    TOOK = "took"
    FALLBACK = "fallback"
    NO_FALLBACK = "no_fallback"
    EXHAUSTED = "exhausted"
    STOOD_DOWN = "stood_down"
