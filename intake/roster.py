"""The on-call roster: who can be woken, how, and when they are on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.parse import parse_phone
from intake.models import OnCallPerson
from intake.windows import on_call, parse_window

REACH_BY = ("sms", "call", "both")


class RosterError(ValueError):
    """A roster change that cannot be made; the message says why in plain words."""


def normalise_phone(text: str, region: str = "US") -> str:
    phone = parse_phone(text, region, strict=False)
    if phone is None:
        raise RosterError(f"{text!r} is not a phone number (try +12125551234)")
    return phone


def people(session: Session) -> list[OnCallPerson]:
    """Everyone on the roster, in order."""
    query = select(OnCallPerson).where(OnCallPerson.active).order_by(OnCallPerson.position)
    return list(session.scalars(query))


def can_page(person: OnCallPerson) -> bool:
    """Whether a page can reach this person: still on the roster and not opted out."""
    return person.active and person.opted_out_at is None


def chain(session: Session, moment: datetime, zone: ZoneInfo) -> list[OnCallPerson]:
    """The people to try, in order, at this moment: their windows cover it and a page
    can reach them."""
    local = moment.astimezone(zone)
    return [
        p
        for p in people(session)
        if can_page(p) and on_call([parse_window(w) for w in p.windows], local)
    ]


def find(session: Session, who: str, region: str = "US") -> OnCallPerson:
    """A person by phone number or by name (case-insensitive)."""
    try:
        phone = normalise_phone(who, region)
    except RosterError:
        phone = None
    query = select(OnCallPerson).where(OnCallPerson.active)
    if phone:
        match = session.scalar(query.where(OnCallPerson.phone == phone))
    else:
        match = session.scalar(query.where(func.lower(OnCallPerson.name) == who.strip().lower()))
    if match is None:
        raise RosterError(f"nobody called {who!r} is on the roster")
    return match


def by_phone(session: Session, phone: str, lock: bool = False) -> OnCallPerson | None:
    """The active roster member with this number; locked for the transaction if asked."""
    query = select(OnCallPerson).where(OnCallPerson.phone == phone, OnCallPerson.active)
    return session.scalar(query.with_for_update() if lock else query)


def add(
    session: Session,
    name: str,
    phone: str,
    reach_by: str = "sms",
    windows: list[str] | None = None,
    region: str = "US",
) -> OnCallPerson:
    """Put someone at the end of the roster (or back on it)."""
    name = " ".join(name.split())
    if not name:
        raise RosterError("a name is needed")
    if reach_by not in REACH_BY:
        raise RosterError(f"--by must be one of {', '.join(REACH_BY)}")
    try:
        canonical = [str(parse_window(w)) for w in windows or []]
    except ValueError as error:
        raise RosterError(str(error)) from None
    phone = normalise_phone(phone, region)
    person = session.scalar(select(OnCallPerson).where(OnCallPerson.phone == phone))
    if person is not None and person.active:
        raise RosterError(f"{phone} is already on the roster as {person.name}")
    person = person or OnCallPerson(phone=phone)
    person.name, person.reach_by, person.windows, person.active = name, reach_by, canonical, True
    person.position = len(people(session)) + 1
    session.add(person)
    session.flush()
    _renumber(session)
    return person


def remove(session: Session, who: str, region: str = "US") -> OnCallPerson:
    """Take someone off the roster (kept for the record of who was alerted)."""
    person = find(session, who, region)
    person.active = False
    session.flush()
    _renumber(session)
    return person


def move(session: Session, who: str, position: int, region: str = "US") -> OnCallPerson:
    """Move someone to a place in the order (1 is first)."""
    person = find(session, who, region)
    order = [p for p in people(session) if p.id != person.id]
    position = max(1, min(position, len(order) + 1))
    order.insert(position - 1, person)
    for n, p in enumerate(order, 1):
        p.position = n
    return person


def _renumber(session: Session) -> None:
    for n, person in enumerate(people(session), 1):
        person.position = n
