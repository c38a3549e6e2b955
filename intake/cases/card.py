"""The card: one text, at the end of an intake, that the caregiver can read out to the
police and to NCMEC when they call them.

It holds what they will be asked first: each child's name, age and clothes, when and
where the child was last seen, the police report number if one was given, and the line's
own case number (said plainly not to be a police report: the line reports nothing). It is
sent through the outbox like every text, in the caller's language, only to a number that
can take texts (followups.can_take_texts), once per case.

It fits MAX_SEGMENTS as sent. The caller's answers have accents GSM-7 lacks folded away
(Sofía reads the same as Sofia) so the card stays GSM-7 (docs/sms-encoding.md); when it is
still too long, the longest answer is shortened at a word, with "...", until it fits.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from intake.cases import followups
from intake.core import outbox, words
from intake.core.models import Caller, Case
from intake.domain.enums import Medium
from intake.infra.timefmt import local_time

if TYPE_CHECKING:
    from intake.core.line import Line

KIND = outbox.CARD
TEMPLATE = "card"
MAX_SEGMENTS = 3
SHORTEST = 12  # an answer is never cut below this many characters
ELLIPSIS = "..."
# Characters a phone keyboard puts in that GSM-7 lacks, and their plain forms.
PLAIN = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
PLAIN_ELLIPSIS = {"\u2026": "..."}


@dataclass(frozen=True)
class Child:
    name: str
    age: str
    wearing: str


@dataclass(frozen=True)
class Facts:
    """What the card says, as plain text ready to render."""

    children: tuple[Child, ...]
    when: str
    where: str
    report: str
    ref: str


def send(session: Session, line: Line, case: Case, caller: Caller, now: datetime) -> bool:
    """Queue the card for a case whose intake just ended; False when it cannot be texted."""
    if not followups.can_take_texts(caller):
        return False
    body = text(line, case, caller.lang)
    row = outbox.enqueue(
        session,
        kind=KIND,
        to=caller.phone,
        send_at=now,
        body=body,
        lang=caller.lang,
        case_id=case.id,
        caller_id=caller.id,
        dedupe_key=f"{KIND}:{case.id}",
        channel=Medium.SMS,
    )
    return row is not None


def text(line: Line, case: Case, lang: str) -> str:
    """The card's words for this case, within MAX_SEGMENTS."""
    return fit(facts_of(case, lang, line.settings.zone), lang, line.settings.org_name)


def facts_of(case: Case, lang: str, zone) -> Facts:
    when = case.last_seen_when or ""
    if case.last_seen_at is not None:
        about = {"en": "about", "es": "aprox."}.get(lang, "about")
        when = f"{about} {local_time(case.last_seen_at, zone)}"
    return Facts(
        children=tuple(children_of(case, lang)),
        when=plain(when),
        where=plain(case.last_seen_where or ""),
        report=plain(case.police_report or ""),
        ref=case.ref,
    )


def children_of(case: Case, lang: str) -> list[Child]:
    """Every child of the case: each of a report's several children (cases.children: name
    and age; the caller's one description goes with the first), else the case's one child."""
    listed = [c for c in getattr(case, "children", None) or [] if isinstance(c, dict)]
    if len(listed) < 2:
        wearing = plain(case.description or "")
        return [Child(plain(case.child_name or ""), age_words(case.age_months, lang), wearing)]
    return [
        Child(
            name=plain(child.get("name") or ""),
            age=age_words(child.get("age_months"), lang),
            wearing=plain(case.description or "") if i == 0 else "",
        )
        for i, child in enumerate(listed)
    ]


def age_words(months: int | None, lang: str) -> str:
    """'7' years, or months under two ('18 months', '18 meses'); '' when not given."""
    if months is None:
        return ""
    if months < 24:
        return f"{months} {'meses' if lang == 'es' else 'months'}"
    return f"{months // 12} {'años' if lang == 'es' else 'years'}"


def plain(answer: str) -> str:
    """A caller's answer on one line, in GSM-7 where only accents keep it out (á becomes
    a, a curly quote a straight one); letters of other scripts are kept as written."""
    out = []
    for char in " ".join(answer.split()):
        char = PLAIN.get(char) or PLAIN_ELLIPSIS.get(char) or char
        if not words.is_gsm(char):
            folded = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            char = folded if folded and words.is_gsm(folded) else char
        out.append(char)
    return "".join(out)


# How answers give way when the card is too long, in turn: the descriptive answers first
# (down to SHORTEST), then the police report and the names too, then the descriptive and
# report answers are left out (the names and the case number always stay).
PASSES = (
    (SHORTEST, ("when", "where", "wearing")),
    (SHORTEST, ("when", "where", "wearing", "report", "name")),
    (0, ("when", "where", "wearing", "report")),
)


def fit(facts: Facts, lang: str, org: str) -> str:
    """The card rendered, answers shortened (PASSES) until it fits MAX_SEGMENTS."""
    for floor, fields in PASSES:
        while True:
            body = render(facts, lang, org)
            if words.segments(body) <= MAX_SEGMENTS:
                return body
            shorter = _shorten_longest(facts, floor, fields)
            if shorter == facts:
                break
            facts = shorter
    return body


def render(facts: Facts, lang: str, org: str) -> str:
    return words.render(
        TEMPLATE,
        lang,
        channel=Medium.SMS,
        org=org,
        children=facts.children,
        when=facts.when,
        where=facts.where,
        report=facts.report,
        ref=facts.ref,
    )


def _shorten_longest(facts: Facts, floor: int, fields: tuple[str, ...]) -> Facts:
    """The same facts with the longest of these answers cut by about a fifth, at a word;
    an answer cut to nothing is left out of the card."""
    answers = [(key, getattr(facts, key)) for key in ("when", "where", "report")]
    for i, child in enumerate(facts.children):
        answers += [(f"wearing:{i}", child.wearing), (f"name:{i}", child.name)]
    answers = [(key, value) for key, value in answers if key.split(":")[0] in fields]
    key, longest = max(answers, key=lambda pair: len(pair[1]))
    if len(longest) <= floor:
        return facts
    cut = shorten(longest, max(floor, len(longest) * 4 // 5))
    if ":" not in key:
        return replace(facts, **{key: cut})
    field, i = key.split(":")
    children = list(facts.children)
    children[int(i)] = replace(children[int(i)], **{field: cut})
    return replace(facts, children=tuple(children))


def shorten(answer: str, limit: int) -> str:
    """At most `limit` characters, cut at a word where one is near, ending in '...'."""
    if len(answer) <= limit:
        return answer
    room = limit - len(ELLIPSIS)
    if room < SHORTEST // 2:  # a stub says nothing: leave the answer out
        return ""
    cut = answer[:room]
    space = cut.rfind(" ")
    if space >= room // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + ELLIPSIS
