"""Events: the only way a flow causes side effects. The service applies them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base of every event the engine emits."""


@dataclass(frozen=True)
class IntakeStarted(Event):
    lang: str


@dataclass(frozen=True)
class AnswerGiven(Event):
    key: str
    value: Any


@dataclass(frozen=True)
class IntakeCompleted(Event):
    answers: dict[str, Any]
    followups: bool  # the follow-up texts go with it (else the channel offers them: a call)


@dataclass(frozen=True)
class MediaReceived(Event):
    media: tuple[Any, ...]  # flows.engine.Media


@dataclass(frozen=True)
class CaseMessage(Event):
    """A text after the intake was complete, to keep on the open case."""

    text: str


@dataclass(frozen=True)
class ReportedMissing(Event):
    """The caller's words say a child is missing (a sign that a stalled intake is real)."""


@dataclass(frozen=True)
class PoliceNotCalled(Event):
    """The caller said they have not called the police yet."""


@dataclass(frozen=True)
class ChildFound(Event):
    """Every child of the case is found: the case ends (follow-ups stop, staff stand down)."""


@dataclass(frozen=True)
class OneChildFound(Event):
    """One child of several is found; the others are still missing, so nothing ends."""

    name: str
    index: int


@dataclass(frozen=True)
class PoliceRefused(Event):
    """Police refused or delayed a report ("they said wait 24 hours")."""


@dataclass(frozen=True)
class OptedOut(Event):
    pass


@dataclass(frozen=True)
class OptedIn(Event):
    pass


@dataclass(frozen=True)
class AskedForPerson(Event):
    pass


@dataclass(frozen=True)
class LanguageChanged(Event):
    lang: str


@dataclass(frozen=True)
class Restarted(Event):
    pass


@dataclass(frozen=True)
class FollowupsWanted(Event):
    """The caller took the offer of the follow-up texts (press 1 on a call)."""


@dataclass(frozen=True)
class PhotoRequested(Event):
    """The caller asked for a text to answer with the child's photo (a call's offer)."""


@dataclass(frozen=True)
class HungUp(Event):
    """The caller hung up with the intake under way: someone is woken (it may mean danger)."""
