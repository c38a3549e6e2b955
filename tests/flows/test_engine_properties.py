"""Properties of the engine over any conversation: whatever a caller sends, in any order,
on either channel, the engine answers and leaves a state that can be stored and read back.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import events as ev
from flows.engine import (
    ACTIVE,
    CLOSED,
    COMPLETE,
    ENDED,
    NEW,
    Inbound,
    Media,
    Result,
    State,
    pass_over,
    run,
)
from flows.intake import intake_flow
from intake.core.words import vocabulary

FLOW = intake_flow("US", vocabulary())
STATUSES = (NEW, ACTIVE, COMPLETE, ENDED, CLOSED)
STEP_KEYS = {s.key for s in FLOW.steps}
SENDER = "+12125551234"
KEYWORDS = ("STOP", "START", "HELP", "FOUND", "RESTART", "ESPANOL", "ENGLISH", "español")
ANSWERS = (
    "my son is missing",
    "yes",
    "no",
    "Mia Lopez",
    "7",
    "seven years old",
    "2 hours ago",
    "Elm Park, Springfield",
    "red coat, 4 feet, brown hair",
    "Springfield PD, report 24-1187",
    "mom",
    "skip",
    "this number",
    "212 555 9876",
    "what do I do?",
    "he is home now",
    "I need a person",
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _cased(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from((word, word.lower(), word.title(), f"  {word.lower()} "))


texts = st.one_of(
    st.sampled_from(KEYWORDS).flatmap(_cased),
    st.sampled_from(ANSWERS).flatmap(_cased),
    st.from_regex(r"[0-9#*]{0,6}", fullmatch=True),  # keyed digits
    st.text(max_size=40),  # anything at all, control characters and surrogates included
    st.just(""),
)
media_items = st.builds(
    Media,
    url=st.sampled_from(("https://api.twilio.com/media/ME1", "")),
    content_type=st.sampled_from(("image/jpeg", "IMAGE/PNG", "audio/amr", "text/vcard", "")),
)
inbounds = st.builds(
    Inbound,
    text=texts,
    media=st.lists(media_items, max_size=3).map(tuple),
    sender=st.sampled_from((SENDER, "", "not a number")),
    channel=st.sampled_from(("sms", "voice")),
    lang=st.sampled_from((None, None, None, "en", "es")),
)
# A move is a message from the caller, or a question passed over (silence on a call).
moves = st.one_of(
    inbounds,
    st.tuples(st.sampled_from(("sms", "voice")), st.booleans()),
)
starts = st.sampled_from(
    (State(), State(status=CLOSED, lang="en", warned=("en",)), State(status=CLOSED, lang="es"))
)


def _valid(state: State) -> None:
    """A state the service can store, read back and run again."""
    assert state.status in STATUSES
    if state.status == ACTIVE:
        assert state.step in STEP_KEYS
    json.dumps(state.to_dict())
    assert State.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def _answered(result: Result) -> bool:
    """Something was said to the caller, or the message was an opt-out."""
    return bool(result.replies) or any(isinstance(e, ev.OptedOut) for e in result.events)


def _play(state: State, move) -> Result:
    if isinstance(move, Inbound):
        result = run(FLOW, state, move)
        assert _answered(result), (state, move)
        return result
    channel, quietly = move
    return pass_over(FLOW, state, channel, quietly=quietly)


@SETTINGS
@given(start=starts, conversation=st.lists(moves, max_size=25))
def test_any_conversation_ends_in_a_valid_state_and_every_message_is_answered(start, conversation):
    state = start
    for move in conversation:
        state = _play(state, move).state
        _valid(state)


# A conversation that goes deep: the answers that walk the flow, mixed with anything.
happy = st.lists(
    st.builds(
        Inbound, text=st.sampled_from(ANSWERS), channel=st.just("sms"), sender=st.just(SENDER)
    ),
    min_size=3,
    max_size=15,
)


@SETTINGS
@given(start=happy, then=st.lists(moves, max_size=12), channel=st.sampled_from(("sms", "voice")))
def test_from_any_reachable_state_the_engine_answers_and_pass_over_never_raises(
    start, then, channel
):
    state = State()
    for move in start + then:
        state = _play(state, move).state
        _valid(state)
        _valid(pass_over(FLOW, state, channel).state)


def _stored(status: str) -> st.SearchStrategy[State]:
    """A state as stored: an ACTIVE one names a step; any answer may have been passed over."""
    steps = st.sampled_from(sorted(STEP_KEYS)) if status == ACTIVE else st.none()
    return st.builds(
        State,
        status=st.just(status),
        step=steps,
        answers=st.dictionaries(st.sampled_from(sorted(STEP_KEYS)), st.none(), max_size=6),
        lang=st.sampled_from(("en", "es")),
        retries=st.integers(0, 3),
    )


@SETTINGS
@given(stored=st.sampled_from(STATUSES).flatmap(_stored), inbound=inbounds)
def test_any_stored_state_with_passed_over_answers_runs_without_raising(stored, inbound):
    """Answers passed over are None; every later message still runs on them."""
    result = run(FLOW, stored, inbound)
    assert _answered(result)
    _valid(result.state)
    _valid(pass_over(FLOW, stored, inbound.channel).state)


@SETTINGS
@given(step=st.sampled_from((None, "a_step_since_removed")), inbound=inbounds)
def test_a_stored_step_the_flow_no_longer_has_never_raises(step, inbound):
    """A conversation stored under an older flow is answered all the same."""
    stored = State(status=ACTIVE, step=step)
    assert _answered(run(FLOW, stored, inbound))
    pass_over(FLOW, stored, inbound.channel)
