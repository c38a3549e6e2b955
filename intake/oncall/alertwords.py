"""The staff-facing words about a case: what an alert says (alert_params, story), and the
display words (ages, police, relationship, language) the case page and the alert call use."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from intake.core import words
from intake.core.models import Alert, Case
from intake.domain.enums import AlertReason
from intake.infra import phones
from intake.infra.timefmt import clock_time

if TYPE_CHECKING:
    from intake.core.line import Line

STAFF = words.STAFF  # templates/staff/en: staff read English

LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
RELATIONSHIP_WORDS = {
    "parent": "parent or family",
    "foster": "foster parent",
    "caseworker": "agency staff",
    "group_home": "group home staff",
    "relative": "relative raising the child",
    "other": "other",
}
# None: no clear answer (the police question comes in the first reply, so it was asked)
POLICE_WORDS = {True: "yes", False: "not yet", None: "no answer"}
POLICE_REFUSED_WORDS = "police refused or delayed"


def police_text(case: Case) -> str:
    """Whether police were called, as staff read it; a refusal or delay is said first."""
    if case.police_refused:
        return POLICE_REFUSED_WORDS
    return POLICE_WORDS[case.police_called]


def children_count(case: Case) -> int:
    """How many children the report is about (one unless the caller said more)."""
    return max(1, len(case.children or []))


def ages_text(case: Case) -> str:
    """The age, or each child's age for a report about several ("7, 5")."""
    ages = [c.get("age_months") for c in case.children or []]
    if children_count(case) == 1 or all(a is None for a in ages):
        return age_text(case.age_months)
    return ", ".join(
        age_text(c.get("age_months")) if c.get("age_months") is not None else "?"
        for c in case.children or []
    )


def children_text(case: Case) -> str:
    """Each child of a report about several: "Liam (7), Emma (5, found)"."""
    parts = []
    for child in case.children or []:
        about = [age_text(child["age_months"])] if child.get("age_months") is not None else []
        about += ["found"] if child.get("found") else []
        name = child.get("name") or "name not given"
        parts.append(f"{name} ({', '.join(about)})" if about else name)
    return "; ".join(parts)


AREA_LIMIT, WHEN_LIMIT = 34, 22  # keep an alert at two SMS segments with a 40-char org name
# An intake left half done: how its alert says so, in the one sentence of what is known.
LEFT_PARTWAY = {
    AlertReason.HUNG_UP: "hung up during intake",
    AlertReason.STALLED: "went quiet mid-intake",
    AlertReason.ABANDONED: "left the intake unfinished",
}
STORY_RELATIONSHIPS = {
    "parent": "parent",
    "foster": "foster parent",
    "caseworker": "agency staff",
    "group_home": "group home",
    "relative": "relative",
}
STORY_POLICE = {True: "police called", False: "police not called"}
STORY_POLICE_REFUSED = "police refused"
STORY_AREA_LIMIT = 14  # two segments still, with a 50-character org name


def alert_params(line: Line, alert: Alert, now: datetime) -> dict[str, str]:
    """What an alert says: what to know before calling, little personal data unless
    INTAKE_ALERT_DETAIL=full. An intake left half done reads as one sentence (`story`)."""
    case = alert.case
    params = {
        "story": story(line, case, alert.reason) if alert.reason in LEFT_PARTWAY else "",
        "ref": case.ref,
        "reason": alert.reason,
        "age": ages_text(case),
        "children": children_count(case),
        "area": _short(case.last_seen_where, AREA_LIMIT) or "not given yet",
        "when": when_text(case, line.settings.zone),
        "lang": LANGUAGE_NAMES.get(case.lang, case.lang),
        "relationship": RELATIONSHIP_WORDS.get(case.relationship_to_child or "", "not given yet"),
        "police": police_text(case),
        "link": f"{line.settings.public_base_url}/cases/{case.ref}",
        "name": "",
        "description": "",
    }
    if line.settings.alert_detail == "full":
        params["name"] = _short(case.child_name, 60)
        params["description"] = _short(case.description, 120)
    return params


def story(line: Line, case: Case, reason: str) -> str:
    """A half-done intake in one sentence of what is known, e.g. "Caller +1 212... (Spanish)
    hung up during intake: age 6, last seen about 21:40 EST at Elm Park; police called." The
    name and description only with INTAKE_ALERT_DETAIL=full."""
    full = line.settings.alert_detail == "full"
    traits = [STORY_RELATIONSHIPS.get(case.relationship_to_child or "", "")]
    traits.append(LANGUAGE_NAMES.get(case.lang, case.lang) if case.lang != "en" else "")
    who = f"Caller {phones.masked(case.caller.phone)}"
    if any(traits):
        who += f" ({', '.join(t for t in traits if t)})"
    known = [_short(case.child_name, 60) if full else ""]
    known.append(_ages_said(case))
    known.append(_seen(case, line.settings.zone))
    known.append(_short(case.description, 120) if full else "")
    details = ", ".join(k for k in known if k)
    police = (
        STORY_POLICE_REFUSED if case.police_refused else STORY_POLICE.get(case.police_called, "")
    )
    details = "; ".join(d for d in (details, police) if d)
    if not details and case.reported_missing:
        details = "a child is missing, no details yet"
    if not details:
        return f"{who} {LEFT_PARTWAY[reason]} before giving any details."
    return f"{who} {LEFT_PARTWAY[reason]}: {details}."


def _ages_said(case: Case) -> str:
    """'age 6', or 'ages 7, 5' for a report about several children; '' when not given."""
    if children_count(case) > 1:
        return f"ages {ages_text(case)}"
    return f"age {age_text(case.age_months)}" if case.age_months is not None else ""


def _seen(case: Case, zone: ZoneInfo) -> str:
    """'last seen about 21:40 EST at Elm Park', or as much of it as is known."""
    when, where = _when(case, zone), _short(case.last_seen_where, STORY_AREA_LIMIT)
    if not when and not where:
        return ""
    return " ".join(w for w in ("last seen", when, f"at {where}" if where else "") if w)


def age_text(months: int | None) -> str:
    """The child's age as staff read it: months under two, else years."""
    if months is None:
        return "not given yet"
    return f"{months} months" if months < 24 else f"{months // 12}"


def when_text(case: Case, zone: ZoneInfo) -> str:
    """When the child was last seen: 'about 21:40 EST' when known, else the caller's words."""
    return _when(case, zone) or "time not given yet"


def _when(case: Case, zone: ZoneInfo) -> str:
    if case.last_seen_at is not None:
        return f"about {clock_time(case.last_seen_at, zone)}"
    return _short(case.last_seen_when, WHEN_LIMIT)


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def staff_words(template: str, **params) -> str:
    """A staff template in English (staff read English)."""
    return words.render(template, "en", channel=STAFF, **params)
