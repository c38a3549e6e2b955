"""The intake flow: the few questions police, NCMEC and the on-call worker need first.

Each step is data: the answer key, the prompt template, and a small parser. The words
live in templates/sms/<lang>/<template>.txt.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flows import events as ev
from flows.engine import (
    CHOICE,
    DIGITS,
    MEDIA,
    NO,
    OTHER_NUMBER,
    SAME_NUMBER,
    SKIP,
    YES,
    YES_NO,
    Flow,
    Inbound,
    Parsed,
    State,
    Step,
    children_of,
)
from flows.language import Detector
from flows.parse import (
    is_question,
    is_same_number,
    is_skip,
    is_skip_word,
    looks_like_when,
    parse_last_seen_ago_minutes,
    parse_phone,
    parse_relationship,
    parse_yes_no,
)
from flows.read import caller_role, is_not_a_name, name_of, split_ages, split_names
from flows.text import key
from flows.vocabulary import Vocabulary

ADULT_MONTHS = 18 * 12
MAX_NAME = 80
MAX_SHORT = 300
MAX_LONG = 1000
# What else a caller in this role must do now, said after they tell us their role.
RELATIONSHIP_NOTES = {
    "caseworker": ("note_caseworker_duty",),
    "foster": ("note_foster",),
    "group_home": ("note_group_home",),
}


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _free_text(limit: int, retry: str, min_letters: int = 1, vocab: Vocabulary | None = None):
    """A parser for a free-text answer that must contain some words; with `vocab`, a skip
    word ("skip", "none") leaves the answer unknown instead of being kept as the answer."""

    def parse(inbound: Inbound, state: State) -> Parsed:
        text = inbound.text.strip()
        if vocab is not None and is_skip_word(vocab, text):
            return Parsed(value=None)
        if sum(ch.isalnum() for ch in text) < min_letters or len(text) > limit:
            return Parsed(retry=retry)
        return Parsed(value=text)

    return parse


def _yes_no(vocab: Vocabulary, inbound: Inbound) -> bool | None:
    """Yes or no, said, texted or keyed (keys by the channel's keypad, a text by its words)."""
    if inbound.means(YES) or inbound.means(NO):
        return inbound.means(YES)
    return parse_yes_no(vocab, inbound.text)


def _skipped(vocab: Vocabulary, inbound: Inbound) -> bool:
    """The caller passes on a question: a skip key on a call, skip or no words."""
    return inbound.means(SKIP) or is_skip(vocab, inbound.text) or key(inbound.text) in vocab.no


def parse_name(vocab: Vocabulary, inbound: Inbound, state: State) -> Parsed:
    """The child's name; "Liam and Emma" names two children: the first is the one the
    questions are about, and the case lists both."""
    text = name_of(vocab, inbound.text)
    if not _has_letter(text) or len(text) > MAX_NAME or is_not_a_name(vocab, text):
        return Parsed(retry="retry_name")
    names = split_names(text, vocab)
    children = children_of(state.answers)
    if len(names) < 2:
        if children:
            children[0]["name"] = text
            return _with_children(text, children)
        return Parsed(value=text)
    for i, name in enumerate(names):
        if i < len(children):
            children[i]["name"] = name
        else:
            children.append({"name": name, "age_months": None, "found": False})
    return _with_children(names[0], children)


def _with_children(value, children: list[dict], notes: tuple[str, ...] = ()) -> Parsed:
    """An answer that also fills in the case's list of children."""
    event = ev.AnswerGiven(key="children", value=children)
    return Parsed(value=value, notes=notes, remember={"children": children}, events=(event,))


def parse_age(vocab: Vocabulary, inbound: Inbound, state: State) -> Parsed:
    """The child's age in months; "7 and 5" gives each child of the case its age."""
    ages = split_ages(vocab, inbound.text)
    if not ages:
        return Parsed(retry="retry_age")
    notes = ("note_adult",) if ages[0] >= ADULT_MONTHS else ()
    children = children_of(state.answers)
    if len(ages) > 1 and not children:
        children = [{"name": state.answers.get("child_name"), "age_months": None, "found": False}]
        children += [{"name": None, "age_months": None, "found": False} for _ in ages[1:]]
    if not children:
        return Parsed(value=ages[0], notes=notes)
    for i, months in enumerate(ages[: len(children)]):
        children[i]["age_months"] = months
    return _with_children(ages[0], children, notes)


def parse_when(vocab: Vocabulary, inbound: Inbound, state: State) -> Parsed:
    text = inbound.text.strip()
    if is_skip_word(vocab, text):  # "skip": unknown, like "not sure"
        return Parsed(value=None)
    if not looks_like_when(vocab, text) or len(text) > MAX_SHORT:
        return Parsed(retry="retry_when")
    return Parsed(value={"text": text, "ago_minutes": parse_last_seen_ago_minutes(vocab, text)})


def parse_police(vocab: Vocabulary, inbound: Inbound, state: State) -> Parsed:
    """Yes moves on; the first no urges the call and asks again; a later no moves on.
    A question instead of an answer ("what do I do?") is answered with the urge too.

    Urging is not a sign the caller is stuck, so it does not count toward MAX_RETRIES;
    unclear answers do, as on every step.
    """
    answer = _yes_no(vocab, inbound)
    asking = answer is None and is_question(vocab, inbound.text)  # "what do I do?"
    if answer is None and not (asking and not state.answers.get("police_urged")):
        return Parsed(retry="retry_police")
    if answer:
        return Parsed(value=True)
    urged = (ev.PoliceNotCalled(),)
    if asking or not state.answers.get("police_urged"):
        remember = {"police_urged": True}
        return Parsed(retry="police_urge", events=urged, remember=remember, unclear=False)
    return Parsed(value=False, notes=("police_reminder",), events=urged)


def parse_police_report(vocab: Vocabulary, inbound: Inbound, state: State) -> Parsed:
    if _skipped(vocab, inbound):
        return Parsed(value=None)
    return _free_text(MAX_SHORT, "retry_police_report")(inbound, state)


def parse_relationship_step(vocab: Vocabulary, inbound: Inbound, state: State) -> Parsed:
    """The caller's role. "Mama de crianza" alone may be foster care or a grandmother
    who raised the child: the line asks which (1 family, 2 foster through an agency)."""
    relationship = caller_role(vocab, key(inbound.text)) or parse_relationship(vocab, inbound.text)
    if relationship == "unclear":
        return Parsed(retry="retry_relationship_unclear", unclear=False)
    if relationship is None:
        return Parsed(retry="retry_relationship")
    return Parsed(value=relationship, notes=RELATIONSHIP_NOTES.get(relationship, ()))


def parse_photos(vocab: Vocabulary, inbound: Inbound, state: State) -> Parsed:
    images = [
        {"url": m.url, "content_type": m.content_type}
        for m in inbound.media
        if m.content_type.lower().startswith("image/")
    ]
    if images:
        return Parsed(value=list(state.answers.get("photos") or []) + images)
    if _skipped(vocab, inbound):
        return Parsed(value=list(state.answers.get("photos") or []))
    return Parsed(retry="retry_photo")


def _callback_parser(region: str, vocab: Vocabulary):
    def parse(inbound: Inbound, state: State) -> Parsed:
        if inbound.means(OTHER_NUMBER):  # on a call: the number is keyed in next
            return Parsed(retry="ask_callback_number", unclear=False)
        if inbound.means(SAME_NUMBER) or is_same_number(vocab, inbound.text):
            sender = parse_phone(inbound.sender, region, strict=False)
            return Parsed(value=sender) if sender else Parsed(retry="retry_callback_number")
        number = parse_phone(inbound.text, region)
        return Parsed(value=number) if number else Parsed(retry="retry_callback")

    return parse


def _police_not_called(answers: dict[str, Any]) -> bool:
    return answers.get("police_called") is not True


def _has_photos(answers: dict[str, Any]) -> bool:
    return bool(answers.get("photos"))


def _role_known(answers: dict[str, Any]) -> bool:
    """The caller already said who they are (their note was said then)."""
    return bool(answers.get("relationship"))


def intake_flow(region: str, vocab: Vocabulary, detect: Detector | None = None) -> Flow:
    """The SMS and voice intake, in the order a frightened caller can manage.

    The police call comes first: asking about it is one more push to make it now. Each
    step says how it is best answered, so a call can offer the keypad or listen.
    """
    return Flow(
        name="intake",
        welcome="welcome",
        summary="summary",
        vocab=vocab,
        detect=detect,
        offers_on=("voice",),  # a call offers the follow-up texts (press 1) at the end
        steps=(
            Step(
                "police_called",
                "ask_police",
                partial(parse_police, vocab),
                answer=YES_NO,
                retry="retry_police",
            ),
            Step("child_name", "ask_name", partial(parse_name, vocab), retry="retry_name"),
            Step(
                "age_months", "ask_age", partial(parse_age, vocab), answer=DIGITS, retry="retry_age"
            ),
            Step("last_seen_when", "ask_when", partial(parse_when, vocab), retry="retry_when"),
            Step(
                "last_seen_where",
                "ask_where",
                _free_text(MAX_SHORT, "retry_where", 1, vocab),
                retry="retry_where",
            ),
            Step(
                "description",
                "ask_description",
                _free_text(MAX_LONG, "retry_description", 3, vocab),
                retry="retry_description",
            ),
            Step(
                "police_report",
                "ask_police_report",
                partial(parse_police_report, vocab),
                skip_if=_police_not_called,
                retry="retry_police_report",
            ),
            Step(
                "relationship",
                "ask_relationship",
                partial(parse_relationship_step, vocab),
                skip_if=_role_known,
                answer=CHOICE,
                retry="retry_relationship",
            ),
            Step(
                "photos",
                "ask_photo",
                partial(parse_photos, vocab),
                skip_if=_has_photos,
                answer=MEDIA,
                skip_on=("voice",),  # a call offers a text to send it instead
                retry="retry_photo",
            ),
            Step(
                "callback_phone",
                "ask_callback",
                _callback_parser(region, vocab),
                answer=DIGITS,
                retry="retry_callback",
            ),
        ),
    )
