"""The on-call roster: who can be woken, how, and when they are on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Exists, Select, bindparam, func, select
from sqlalchemy.orm import Session

from intake.core.models import OnCallPerson
from intake.domain.enums import ReachBy
from intake.infra import phones
from intake.infra.config import Settings
from intake.infra.windows import on_call, parse_window

REACH_BY = tuple(ReachBy)


class RosterError(ValueError):
    """A roster change that cannot be made; the message says why in plain words."""


def normalise_phone(text: str, region: str) -> str:
    """A valid number in E.164; a number that cannot be dialled (555-1234) is refused."""
    phone = phones.dialable(text, region)
    if phone is None:
        raise RosterError(f"{text!r} is not a phone number that can be dialled (try +12125551234)")
    return phone


def members(session: Session) -> list[OnCallPerson]:
    """Everyone on the roster, in order, including those who texted STOP."""
    query = select(OnCallPerson).where(OnCallPerson.active).order_by(OnCallPerson.position)
    return list(session.scalars(query))


def people(session: Session) -> list[OnCallPerson]:
    """Everyone on the roster who can be paged (not stopped), in order."""
    return [p for p in members(session) if can_be_paged(p)]


def can_be_paged(person: OnCallPerson | None) -> bool:
    """On the roster and not stopped: texts and pages may go to them."""
    return person is not None and person.active and person.opted_out_at is None


def chain(session: Session, moment: datetime, zone: ZoneInfo) -> list[OnCallPerson]:
    """The people to try, in order, at this moment: their windows cover it and a page
    can reach them."""
    local = moment.astimezone(zone)
    return [p for p in people(session) if on_call([parse_window(w) for w in p.windows], local)]


def nobody_to_alert(session: Session, settings: Settings) -> bool:
    """True when an alert would reach no one: nobody reachable on the roster, no fallback."""
    if settings.fallback_alert_number:
        return False
    return not people(session)


def find(session: Session, who: str, region: str = phones.DEFAULT_REGION) -> OnCallPerson:
    """A person by phone number or by name (case-insensitive); a name two people share is
    refused, so nothing is changed for the wrong one."""
    try:
        phone = normalise_phone(who, region)
    except RosterError:
        phone = None
    query = select(OnCallPerson).where(OnCallPerson.active)
    if phone:
        matches = list(session.scalars(query.where(OnCallPerson.phone == phone)))
    else:
        matches = _named(session, who)
    if not matches:
        raise RosterError(f"nobody called {who!r} is on the roster")
    if len(matches) > 1:
        numbers = ", ".join(p.phone for p in matches)
        raise RosterError(
            f"{len(matches)} people are called {who!r} ({numbers}): use the phone number"
        )
    return matches[0]


def _named(session: Session, name: str) -> list[OnCallPerson]:
    """Active people with this name, ignoring case and extra spaces."""
    wanted = " ".join(name.split()).lower()
    query = select(OnCallPerson).where(OnCallPerson.active, func.lower(OnCallPerson.name) == wanted)
    return list(session.scalars(query))


def by_phone(session: Session, phone: str, lock: bool = False) -> OnCallPerson | None:
    """The active roster member with this number; locked for the transaction if asked.

    Every text asks this, and nearly every answer is "no": a plain Core read of the id
    (no entity to build for it), then the person only when there is one."""
    query = _NUMBER_LOCKED if lock else _NUMBER_ON_ROSTER
    found = session.execute(query, {"phone": phone}).scalar()
    return None if found is None else session.get(OnCallPerson, found)


def _number_on_roster() -> Select:
    people = OnCallPerson.__table__.c
    return select(people.id).where(people.phone == bindparam("phone"), people.active)


# Built once: building a statement costs more CPU than running it (bind "phone").
_NUMBER_ON_ROSTER = _number_on_roster()
_NUMBER_LOCKED = _NUMBER_ON_ROSTER.with_for_update()
IS_ON_ROSTER: Exists = _NUMBER_ON_ROSTER.exists()
"""SQL for "the number bound as `phone` is an active roster member's", to ask inside
another query."""


def add(
    session: Session,
    name: str,
    phone: str,
    reach_by: str = ReachBy.SMS,
    windows: list[str] | None = None,
    region: str = phones.DEFAULT_REGION,
) -> OnCallPerson:
    """Put someone at the end of the roster (or back on it)."""
    name = " ".join(name.split())
    if not name:
        raise RosterError("a name is needed")
    try:
        reach_by = ReachBy(reach_by)  # "call", the CLI's and the form's word, reads as voice
    except ValueError:
        raise RosterError("--by must be one of sms, call, both") from None
    canonical = canonical_windows(windows or [])
    phone = normalise_phone(phone, region)
    person = session.scalar(select(OnCallPerson).where(OnCallPerson.phone == phone))
    if person is not None and person.active:
        raise RosterError(f"{phone} is already on the roster as {person.name}")
    same_name = _named(session, name)
    if same_name:
        raise RosterError(
            f"{same_name[0].name} ({same_name[0].phone}) is already on the roster: "
            "give the new person a name that tells them apart"
        )
    person = person or OnCallPerson(phone=phone)
    person.name, person.reach_by, person.windows, person.active = name, reach_by, canonical, True
    person.position = len(members(session)) + 1
    session.add(person)
    session.flush()
    _renumber(session)
    return person


def remove(session: Session, who: str, region: str = phones.DEFAULT_REGION) -> OnCallPerson:
    """Take someone off the roster (kept for the record of who was alerted).

    staff.leave_roster does this and hands their cases back; call that instead."""
    person = find(session, who, region)
    person.active = False
    session.flush()
    _renumber(session)
    return person


def move(
    session: Session, who: str, position: int, region: str = phones.DEFAULT_REGION
) -> OnCallPerson:
    """Move someone to a place in the order (1 is first)."""
    person = find(session, who, region)
    order = [p for p in members(session) if p.id != person.id]
    position = max(1, min(position, len(order) + 1))
    order.insert(position - 1, person)
    for n, p in enumerate(order, 1):
        p.position = n
    return person


def set_windows(
    session: Session, who: str, windows: list[str], region: str = phones.DEFAULT_REGION
) -> OnCallPerson:
    """When someone is on call (no windows: always)."""
    person = find(session, who, region)
    person.windows = canonical_windows(windows)
    return person


def canonical_windows(windows: list[str]) -> list[str]:
    """Windows like "weekdays 17:00-09:00" in canonical form; a bad one is refused."""
    try:
        return [str(parse_window(w)) for w in windows if w.strip()]
    except ValueError as error:
        raise RosterError(str(error)) from None


def _renumber(session: Session) -> None:
    for n, person in enumerate(members(session), 1):
        person.position = n
