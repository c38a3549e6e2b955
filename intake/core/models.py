"""The line's tables, as SQLAlchemy 2.0 typed models. Times are stored in UTC.

A child's details, every message body and the conversation state are `Encrypted`
(Fernet tokens, intake/infra/crypto.py). Phone numbers stay clear: they are looked up by value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    exists,
    false,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from intake.core.account_models import (  # the sign-in tables, here too: one place for every table
    RecoveryCode,
    SignInThrottle,
    StaffAccount,
    StaffSession,
)
from intake.core.modelbase import Base, UTCDateTime
from intake.domain.enums import AlertStatus, CaseStatus, OutboxStatus, ReachBy
from intake.infra.clock import stamp
from intake.infra.crypto import Encrypted, EncryptedJSON

__all__ = [
    "Alert",
    "AuditEntry",
    "Base",
    "Caller",
    "Case",
    "CaseMedia",
    "CaseNote",
    "EscalationEntry",
    "Message",
    "OnCallPerson",
    "Outbound",
    "Page",
    "RecoveryCode",
    "SignInThrottle",
    "StaffAccount",
    "StaffSession",
    "TwilioDeletion",
    "UTCDateTime",
]


class Caller(Base):
    """One phone number that has texted or called the line, and where its chat stands."""

    __tablename__ = "callers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(40), unique=True)  # E.164, or a raw sender id
    lang: Mapped[str] = mapped_column(String(5), default="en")
    state: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)  # every answer
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    updated_at: Mapped[datetime] = mapped_column(default=stamp, onupdate=stamp)

    cases: Mapped[list[Case]] = relationship(back_populates="caller")


class Case(Base):
    """What one intake collected about one missing child."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(12), unique=True)
    caller_id: Mapped[int] = mapped_column(ForeignKey("callers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=CaseStatus.INTAKE)  # CaseStatus
    lang: Mapped[str] = mapped_column(String(5), default="en")
    channel: Mapped[str] = mapped_column(String(8))  # Medium: always given, never assumed
    child_name: Mapped[str | None] = mapped_column(Encrypted)
    age_months: Mapped[int | None] = mapped_column(Integer)
    last_seen_when: Mapped[str | None] = mapped_column(Encrypted)
    last_seen_at: Mapped[datetime | None]  # estimated from "2 hours ago" style answers
    # when the caller gave that answer: "about 9pm" is read against the time it was said
    last_seen_told_at: Mapped[datetime | None]
    last_seen_where: Mapped[str | None] = mapped_column(Encrypted)
    description: Mapped[str | None] = mapped_column(Encrypted)
    police_called: Mapped[bool | None]
    # police refused or delayed a report ("they said wait 24 hours")
    police_refused: Mapped[bool] = mapped_column(default=False, server_default=false())
    police_report: Mapped[str | None] = mapped_column(Encrypted)
    relationship_to_child: Mapped[str | None] = mapped_column(String(20))
    callback_phone: Mapped[str | None] = mapped_column(Encrypted)
    # every child of a report about several: [{name, age_months, found}]; None for one
    children: Mapped[list[dict[str, Any]] | None] = mapped_column(EncryptedJSON)
    # the caller said a child is missing (a "missing" word): a stalled intake still pages
    reported_missing: Mapped[bool] = mapped_column(default=False, server_default=false())
    assigned_person_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_people.id"))
    # the phone simulator played it on a line with real Twilio: nothing about it reaches a
    # real phone (intake/cases/simulated.py)
    is_test: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    completed_at: Mapped[datetime | None]
    found_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Twilio refused a follow-up: the caller's number cannot receive texts; staff call instead
    cannot_text_at: Mapped[datetime | None]
    # its personal data was deleted under INTAKE_RETENTION_DAYS (intake/cases/retention.py)
    purged_at: Mapped[datetime | None]

    caller: Mapped[Caller] = relationship(back_populates="cases")
    assigned_person: Mapped[OnCallPerson | None] = relationship()
    media: Mapped[list[CaseMedia]] = relationship(back_populates="case", order_by="CaseMedia.id")
    messages: Mapped[list[Message]] = relationship(back_populates="case", order_by="Message.id")


# Twilio refused a follow-up to the caller's number (delivery.cannot_text marks the cases):
# read on first use, once per transaction, as one EXISTS (not every case the caller had).
Caller.cannot_take_texts = column_property(
    exists().where(Case.caller_id == Caller.id, Case.cannot_text_at.is_not(None)),
    deferred=True,
)


class CaseMedia(Base):
    """A photo (or other media) the caller sent; Twilio keeps the file, we keep the link."""

    __tablename__ = "case_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    url: Mapped[str] = mapped_column(Encrypted)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=stamp)

    case: Mapped[Case] = relationship(back_populates="media")


class TwilioDeletion(Base):
    """A photo, recording or text still to delete at Twilio after its case was purged.

    Only Twilio's SIDs, no personal data: the row goes once Twilio confirms (or says it
    is already gone); another failure leaves it for the next purge.
    """

    __tablename__ = "twilio_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # TwilioFileKind
    account_sid: Mapped[str] = mapped_column(String(34))
    message_sid: Mapped[str | None] = mapped_column(String(64))  # a photo's message
    sid: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class Message(Base):
    """Every text in or out, kept on the caller and (once there is one) the case."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_caller_created", "caller_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_people.id"))  # staff
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # Direction
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Encrypted, default="")
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str | None] = mapped_column(String(40))  # the question this answered
    reply_twiml: Mapped[str | None] = mapped_column(Encrypted)  # what we answered, for retries
    # a staff command's request as Twilio described it (sender, where from): a forged
    # caller ID can be traced (SECURITY.md)
    meta: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    created_at: Mapped[datetime] = mapped_column(default=stamp)

    case: Mapped[Case | None] = relationship(back_populates="messages")


class Outbound(Base):
    """One text (or call) the line sends on its own: a row first, sent by the dispatcher.

    status: pending -> sending (claimed, leased) -> sent | failed; or cancelled.
    delivery_status is what Twilio's status callback last said (queued ... delivered).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_due",
            "send_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_leased",
            "lease_until",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        Index("ix_outbox_to_pending", "to_phone", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # OutboxKind
    channel: Mapped[str] = mapped_column(String(5))  # Medium: always given, never assumed
    to_phone: Mapped[str] = mapped_column(String(40))
    template: Mapped[str | None] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    body: Mapped[str | None] = mapped_column(Encrypted)  # literal text, or the rendered template
    lang: Mapped[str] = mapped_column(String(5), default="en")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    send_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    sent_at: Mapped[datetime | None]
    # when a request for this row first left for Twilio (wall clock), and whether the
    # last one may have reached Twilio unanswered (a timeout, a dropped connection, a
    # worker that died mid-send): such a row is looked up at Twilio before it is sent again
    tried_at: Mapped[datetime | None]
    unsure: Mapped[bool] = mapped_column(default=False, server_default=false())

    case: Mapped[Case | None] = relationship()
    caller: Mapped[Caller | None] = relationship()


class OnCallPerson(Base):
    """Someone who can be woken for a case: the roster, in order."""

    __tablename__ = "oncall_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), unique=True)
    reach_by: Mapped[str] = mapped_column(String(5), default=ReachBy.SMS)  # ReachBy
    windows: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: always on call
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    opted_out_at: Mapped[datetime | None]  # texted STOP: Twilio refuses pages to them
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class Alert(Base):
    """One effort to wake someone for a case: who to try, where it stands, when to look again."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "ix_alerts_due",
            "next_check_at",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # AlertReason
    status: Mapped[str] = mapped_column(String(10), default=AlertStatus.OPEN)  # AlertStatus
    chain: Mapped[list[int]] = mapped_column(JSON, default=list)  # person ids, in order
    step: Mapped[int] = mapped_column(Integer, default=0)  # index into chain
    round: Mapped[int] = mapped_column(Integer, default=0)
    plan_step: Mapped[int] = mapped_column(Integer, default=0)  # the plan step it is at
    next_check_at: Mapped[datetime | None]  # None while open: nobody was on call; it waits
    acked_by_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_people.id"))
    acked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=stamp)

    case: Mapped[Case] = relationship()
    acked_by: Mapped[OnCallPerson | None] = relationship()


class Page(Base):
    """One text or call that an alert sent to one person (or the fallback number).

    Pages to one number close together share one outbox row (a combined text).
    """

    __tablename__ = "alert_pages"
    __table_args__ = (Index("ix_alert_pages_to_created", "to_phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_people.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    to_phone: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(5))  # Medium
    created_at: Mapped[datetime] = mapped_column(default=stamp)

    alert: Mapped[Alert] = relationship()
    person: Mapped[OnCallPerson | None] = relationship()
    outbox: Mapped[Outbound | None] = relationship()


class EscalationEntry(Base):
    """One thing the line did or heard while waking someone for a case (texted Dana,
    called Dana, no answer, Dana took it, the fallback told, stood down): the case page's
    escalation timeline. Who is a roster person (their name is shown, never a number)."""

    __tablename__ = "escalation_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_people.id"))
    action: Mapped[str] = mapped_column(String(20))  # audit.ESCALATION_WORDS
    detail: Mapped[str] = mapped_column(String(40), default="")  # a word: never a number
    created_at: Mapped[datetime] = mapped_column(default=stamp)

    case: Mapped[Case] = relationship()
    alert: Mapped[Alert | None] = relationship()
    person: Mapped[OnCallPerson | None] = relationship()


class CaseNote(Base):
    """A note staff wrote on a case (encrypted: it may name the child)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    body: Mapped[str] = mapped_column(Encrypted)
    created_at: Mapped[datetime] = mapped_column(default=stamp)

    staff: Mapped[StaffAccount] = relationship()


class AuditEntry(Base):
    """Who looked at what and did what on the dashboard, and when (admins read it)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")  # never personal data
    created_at: Mapped[datetime] = mapped_column(default=stamp, index=True)

    staff: Mapped[StaffAccount | None] = relationship()
    case: Mapped[Case | None] = relationship()
