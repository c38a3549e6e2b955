"""Read-only views of the line's data for the command line."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from intake.core.models import Outbound
from intake.infra.timefmt import local_time

if TYPE_CHECKING:
    from intake.core.line import Line


def outbox_rows(line: Line, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(Outbound).order_by(Outbound.id.desc()).limit(limit)
    if status:
        query = query.where(Outbound.status == status)
    with line.db.sessions() as session:
        return [_row(r) for r in session.scalars(query)]


def _row(r: Outbound) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "channel": r.channel,
        "to": r.to_phone,
        "case_id": r.case_id,
        "template": r.template,
        "status": r.status,
        "send_at": r.send_at.isoformat(),
        "attempts": r.attempts,
        "last_error": r.last_error,
        "twilio_sid": r.twilio_sid,
        "delivery_status": r.delivery_status,
        "body": r.body,
    }


def outbox_line(row: dict[str, Any], zone: ZoneInfo) -> str:
    """One row for staff, its send time in the line's zone."""
    what = row["template"] or row["kind"]
    error = f"  error: {row['last_error']}" if row["last_error"] else ""
    when = local_time(datetime.fromisoformat(row["send_at"]), zone)
    return (
        f"#{row['id']:<6} {row['status']:<9} {when:<20} {row['to']:<16} "
        f"{what:<12} tries={row['attempts']}{error}"
    )
