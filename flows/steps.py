"""Asking and answering a flow's questions: a new intake, an answer read by its step,
then the next question or the summary; a question passed over; a question in between."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flows import events as ev
from flows import read as rd
from flows.intents import intents, is_new_report
from flows.state import (
    ACTIVE,
    CLOSED,
    COMPLETE,
    CONFIRM_HEARD,
    MAX_RETRIES,
    OTHER_CHILD,
    ROLE_NOTES,
    UNKNOWN_OK,
    WHICH_CHILD,
    Flow,
    Inbound,
    Media,
    Parsed,
    Reply,
    Result,
    State,
    Step,
    _child,
    children_of,
)


def _start(
    flow: Flow,
    state: State,
    inbound: Inbound,
    lang: str,
    reported: bool = False,
    reading: rd.Reading | None = None,
) -> Result:
    """Begin a new intake: the safety message first, then the first question.

    `reported`: the caller's words already said a child is missing. What the first text
    says of the caller's role or of several children is kept, and the role's note is
    said at once, right after the safety message."""
    first = flow.next_step(None, {}, inbound.channel)
    assert first is not None, "a flow has at least one step"
    answers: dict[str, Any] = {}
    events: list[ev.Event] = [ev.IntakeStarted(lang=lang)]
    notes: tuple[Reply, ...] = ()
    if reported or (reading is not None and reading.missing):
        events.append(ev.ReportedMissing())
    if inbound.media:
        images = _images(inbound.media)
        if images:  # a photo sent first spares the photo question later
            answers["photos"] = images
        events.append(ev.MediaReceived(media=inbound.media))
    if reading is not None:
        notes = _take_role(answers, reading, events)
        if reading.several:
            answers["children"] = [_child(), _child()]
            events.append(ev.AnswerGiven(key="children", value=answers["children"]))
        if reading.event == rd.POLICE_REFUSED:
            notes += _police_refused(answers, events)
        if reading.kind == rd.QUESTION:  # "who is this?" as a first text
            notes += (Reply(f"answer_{reading.topic}", {"done": False}),)
    new = State(status=ACTIVE, step=first.key, answers=answers, lang=lang, warned=(lang,))
    replies = (Reply(flow.welcome), *notes, Reply(first.prompt))
    return Result(new, replies, tuple(events))


def _take_role(answers: dict[str, Any], reading: rd.Reading, events: list) -> tuple[Reply, ...]:
    """Who the caller said they are, taken the first time it shows: its note at once."""
    role = reading.role
    if role is None or answers.get("relationship") or answers.get("role_unclear"):
        return ()
    if role == "unclear":
        answers["role_unclear"] = True
        return ()
    answers["relationship"] = role
    events.append(ev.AnswerGiven(key="relationship", value=role))
    return tuple(Reply(n) for n in ROLE_NOTES.get(role, ()))


def _answer(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    step = flow.step(state.step)
    if step is None:  # the flow changed under a stored conversation: start over safely
        return _start(flow, state, inbound, lang=state.lang)
    answers = dict(state.answers)
    events: list[ev.Event] = [ev.ReportedMissing()] if reading.missing else []
    role_notes = _take_role(answers, reading, events) if step.key != "relationship" else ()
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
        images = _images(inbound.media)
        if images and step.key != "photos":  # a photo sent early spares the photo question
            # (a photo step passed over holds None: the late photo is kept all the same)
            answers["photos"] = list(answers.get("photos") or []) + images
    if reading.kind == rd.NON_ANSWER and not (inbound.media and step.key == "photos"):
        return _non_answer(flow, state, step, answers, reading, events, role_notes, inbound)
    parsed = step.parse(inbound, replace(state, answers=answers))
    events.extend(parsed.events)
    answers.update(parsed.remember)
    if parsed.retry is not None and parsed.unclear and state.retries >= MAX_RETRIES:
        # Asked too often: take the answer as unknown so the caller is never trapped;
        # the words are kept for a person to read, and the next question follows.
        answers[f"{step.key}_unparsed"] = inbound.text
        parsed = Parsed(value=None, notes=("moving_on",))
    if parsed.retry is not None:
        notes = role_notes + tuple(Reply(n) for n in parsed.notes)
        retries = state.retries + 1 if parsed.unclear else state.retries
        new = replace(state, answers=answers, retries=retries)
        return Result(new, notes + (Reply(parsed.retry),), tuple(events))
    notes = role_notes + tuple(Reply(n) for n in parsed.notes)
    return _accept(flow, state, step, answers, parsed.value, notes, events, inbound.channel)


def _non_answer(
    flow: Flow,
    state: State,
    step: Step,
    answers: dict[str, Any],
    reading: rd.Reading,
    events: list[ev.Event],
    notes: tuple[Reply, ...],
    inbound: Inbound,
) -> Result:
    """ "hmm", "ok", "idk": nothing is kept as a fact. "I don't know" is taken as unknown
    where that is a fair answer; otherwise the question is asked again, and after
    MAX_RETRIES the step is passed over as unknown."""
    if (reading.unknown and step.key in UNKNOWN_OK) or state.retries >= MAX_RETRIES:
        said = notes if reading.unknown else notes + (Reply("moving_on"),)
        return _accept(flow, state, step, answers, None, said, events, inbound.channel)
    new = replace(state, answers=answers, retries=state.retries + 1)
    return Result(new, notes + (Reply(step.retry or step.prompt),), tuple(events))


def _answer_question(flow: Flow, state: State, reading: rd.Reading) -> Result:
    """A question to the line: a short true answer, then the question again."""
    params = {"done": state.status != ACTIVE}
    reply = Reply(f"answer_{reading.topic}", params)
    answers = dict(state.answers)
    events: list[ev.Event] = []
    notes = _take_role(answers, reading, events)
    again = _ask_again(flow, state)
    return Result(replace(state, answers=answers), (reply, *notes, *again), tuple(events))


def _ask_again(flow: Flow, state: State) -> tuple[Reply, ...]:
    """The question the conversation is at, if any (after an answer, note or event)."""
    if state.pending:
        return (_pending_prompt(state.pending),)
    step = flow.step(state.step) if state.status == ACTIVE else None
    return (Reply(step.prompt),) if step else ()


def _ask_pending(flow: Flow, state: State, pending: dict[str, Any], inbound: Inbound) -> Result:
    """Ask something in between (confirm, which child); the step waits."""
    events: tuple[ev.Event, ...] = ()
    if inbound.media:
        events = (ev.MediaReceived(media=inbound.media),)
    new = replace(state, pending=pending)
    return Result(new, (_pending_prompt(pending),), events)


def _pending_prompt(pending: dict[str, Any]) -> Reply:
    kind = pending["kind"]
    if kind == WHICH_CHILD:
        return Reply("ask_which_child", {"missing_names": pending.get("names", [])})
    if kind == CONFIRM_HEARD:
        return Reply("heard", {"heard": pending.get("heard", "")})
    return Reply(f"ask_{kind}", {"name": pending.get("name")})


def _police_refused(answers: dict[str, Any], events: list[ev.Event]) -> tuple[Reply, ...]:
    """Police refused or delayed: kept on the case; the caller hears there is no waiting
    period and to call NCMEC now."""
    answers["police_refused"] = True
    events += [ev.PoliceRefused(), ev.AnswerGiven(key="police_refused", value=True)]
    return (Reply("police_refused"),)


def pass_over(flow: Flow, state: State, channel: str, quietly: bool = False) -> Result:
    """The caller gave no answer at all (silence on a call), or the question is not asked
    on this channel: take it as unknown and go on to the next question."""
    step = flow.step(state.step) if state.status == ACTIVE else None
    if step is None:
        return Result(state)
    notes = () if quietly else (Reply("moving_on"),)
    return _accept(flow, state, step, dict(state.answers), None, notes, [], channel)


def _accept(
    flow: Flow,
    state: State,
    step: Step,
    answers: dict[str, Any],
    value: Any,
    notes: tuple[Reply, ...],
    events: list[ev.Event],
    channel: str,
) -> Result:
    """Keep the answer to this step, then ask the next question, or finish the intake."""
    answers[step.key] = value
    events.append(ev.AnswerGiven(key=step.key, value=value))
    following = flow.next_step(step.key, answers, channel)
    if following is None:
        done = replace(state, status=COMPLETE, step=None, answers=answers, retries=0)
        followups = channel not in flow.offers_on  # else the caller takes them (OFFER)
        events.append(ev.IntakeCompleted(answers=dict(answers), followups=followups))
        summary = Reply(flow.summary, {"police_called": answers.get("police_called")})
        return Result(done, notes + (summary,), tuple(events))
    new = replace(state, status=ACTIVE, step=following.key, answers=answers, retries=0)
    unnamed = _unnamed_child(answers) if step.key in CHILD_STEPS else None
    if unnamed is not None:  # "my two kids" / "7 and 5": the other child's name first
        answers["asked_other"] = [*answers.get("asked_other", []), unnamed]
        pending = {"kind": OTHER_CHILD, "index": unnamed}
        return Result(
            replace(new, pending=pending), (*notes, _pending_prompt(pending)), tuple(events)
        )
    return Result(new, notes + (Reply(following.prompt),), tuple(events))


CHILD_STEPS = ("child_name", "age_months")  # after these, a child without a name is asked about


def _unnamed_child(answers: dict[str, Any]) -> int | None:
    """The first other child the case has no name for, not asked about yet."""
    asked = set(answers.get("asked_other", []))
    children = children_of(answers)
    return next(
        (i for i, c in enumerate(children) if i > 0 and not c.get("name") and i not in asked),
        None,
    )


def _after_intake(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    """A text after the intake is done: keep it on the case, say it was kept. A text that
    reports a child missing may be about another child: the reply says how to report one
    (RESTART), since it is kept on this case all the same."""
    said = intents(flow.vocab, inbound.text)
    events: list[ev.Event] = [ev.CaseMessage(text=inbound.text)]
    if reading.missing:
        events.append(ev.ReportedMissing())
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    kept = Reply("after_intake_missing" if is_new_report(said) else "after_intake")
    return Result(state, (kept,), tuple(events))


def _after_end(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result:
    """A text after FOUND gets a kind word; after staff closed the case, it goes to
    the worker who had it. Neither is a new emergency; it is kept all the same. A
    question is answered; a text that may say a child is found is asked about."""
    events: list[ev.Event] = []
    if state.status == CLOSED:
        events.append(ev.CaseMessage(text=inbound.text))
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    if reading.kind == rd.QUESTION:
        answered = _answer_question(flow, state, reading)
        return replace(answered, events=tuple(events) + answered.events)
    if reading.kind == rd.EVENT and reading.event == rd.FOUND and reading.hedged:
        return Result(state, (Reply("confirm_found"),), tuple(events))
    said = Reply("after_close") if state.status == CLOSED else Reply("after_found")
    return Result(state, (said,), tuple(events))


def _media_dict(media: Media) -> dict[str, str]:
    return {"url": media.url, "content_type": media.content_type}


def _images(media: tuple[Media, ...]) -> list[dict[str, str]]:
    """The media that can be the child's photo: images only, not a voice note or vCard."""
    return [_media_dict(m) for m in media if m.content_type.lower().startswith("image/")]
