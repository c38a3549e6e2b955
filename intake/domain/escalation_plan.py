"""The escalation plan as data: whom to wake, by what, how long to wait, in order.

A plan is a list of steps, as Grafana OnCall's escalation chains are. The escalator
(oncall.py) walks it: it takes a step, waits the step's `wait`, takes the next; a step
with no wait is followed at once by the next; after the last step the alert is over
("exhausted"). INTAKE_ESCALATION_PLAN gives the staff's own plan, one step per `;`:

    on_call by text, wait 5m; on_call by call, wait 5m; next, wait 5m, 3 rounds; fallback

Without it the plan is today's, from INTAKE_ESCALATION_WAIT and INTAKE_ESCALATION_ROUNDS
(`default_plan`): the person on call, then each next in the chain one wait apart until the
chain has gone round that many times, then everyone, then the fallback number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Whom(StrEnum):
    """Whom a step wakes."""

    ON_CALL = "on_call"  # whose turn it is (at first: the case's worker, else first on call)
    NEXT = "next"  # move on to the next in the chain who can be paged, and page them
    EVERYONE = "everyone"  # everyone on the roster who can be paged
    FALLBACK = "fallback"  # the fallback number (INTAKE_FALLBACK_ALERT_NUMBER)


class By(StrEnum):
    """How a step reaches them."""

    THEIR_WAY = "their way"  # as the roster says they want to be reached (sms, call or both)
    TEXT = "text"
    CALL = "call"


ON_CALL, NEXT, EVERYONE, FALLBACK = Whom.ON_CALL, Whom.NEXT, Whom.EVERYONE, Whom.FALLBACK
WHO = tuple(Whom)
THEIR_WAY, TEXT, CALL = By.THEIR_WAY, By.TEXT, By.CALL
BY = tuple(By)

MAX_STEPS = 20
MAX_ROUNDS = 20
DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Step:
    """One step of a plan: notify `who` by `by`, then wait `wait` before the next step.

    `rounds` is for `next` only: keep moving on through the chain, one person per wait,
    until the chain has been gone round that many times (0: move on once).
    """

    who: str
    by: str = THEIR_WAY
    wait: timedelta = timedelta(0)
    rounds: int = 0

    def __post_init__(self) -> None:
        if self.who not in WHO:
            raise ValueError(f"{self.who!r} is not one of {', '.join(WHO)}")
        if self.by not in BY:
            raise ValueError(f"'by {self.by}' is not one of: by text, by call, by their way")
        if self.wait < timedelta(0):
            raise ValueError("a wait cannot be negative")
        if self.rounds and self.who != NEXT:
            raise ValueError("only a 'next' step goes round the chain")
        if not 0 <= self.rounds <= MAX_ROUNDS:
            raise ValueError(f"rounds must be between 1 and {MAX_ROUNDS}")
        if self.who == FALLBACK and self.by == CALL:
            raise ValueError("the fallback number is texted, never called")

    def __str__(self) -> str:
        parts = [f"{self.who} by {self.by}" if self.by != THEIR_WAY else self.who]
        parts += [f"wait {_duration_text(self.wait)}"] if self.wait else []
        parts += [f"{self.rounds} rounds"] if self.rounds else []
        return ", ".join(parts)


Plan = tuple[Step, ...]


def default_plan(wait: timedelta, rounds: int) -> Plan:
    """Today's plan: the person on call; each next in the chain, one wait apart, until the
    chain has gone round `rounds` times; then everyone and the fallback number at once."""
    return (
        Step(ON_CALL, wait=wait),
        Step(NEXT, wait=wait, rounds=rounds),
        Step(EVERYONE),
        Step(FALLBACK),
    )


def parse_plan(text: str) -> Plan:
    """A plan written as in INTAKE_ESCALATION_PLAN; a ValueError says what is wrong and where."""
    written = [part.strip() for part in text.split(";") if part.strip()]
    if not written:
        raise ValueError("the plan has no steps")
    if len(written) > MAX_STEPS:
        raise ValueError(f"a plan has at most {MAX_STEPS} steps")
    steps = []
    for number, part in enumerate(written, 1):
        try:
            steps.append(parse_step(part))
        except ValueError as error:
            raise ValueError(f"step {number} ({part!r}): {error}") from None
    if not any(step.wait for step in steps[:-1]) and len(steps) > 1:
        raise ValueError("no step waits: everyone would be woken at once")
    return tuple(steps)


def parse_step(text: str) -> Step:
    """One step: 'next by call, wait 5m, 3 rounds' (who first; the rest in any order)."""
    first, *rest = [" ".join(part.split()).lower() for part in text.split(",")]
    who, _, by = first.partition(" by ")
    who = who.strip().replace(" ", "_").replace("-", "_")
    by, wait, rounds = by or THEIR_WAY, timedelta(0), 0
    for part in rest:
        if part.startswith("by "):
            by = " ".join(part[3:].split())
        elif part.startswith("wait "):
            wait = _parse_duration(part[5:].strip())
        elif part.endswith(("rounds", "round")) and part.split()[0].isdigit():
            rounds = int(part.split()[0])
            if rounds < 1:
                raise ValueError("rounds must be at least 1")
        else:
            raise ValueError(f"{part!r} is not 'by text|call|their way', 'wait 5m' or '3 rounds'")
    return Step(who, by, wait, rounds)


def describe(plan: Plan) -> str:
    """The plan as INTAKE_ESCALATION_PLAN would say it."""
    return "; ".join(str(step) for step in plan)


def _parse_duration(text: str) -> timedelta:
    match = DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a wait like 30s, 5m or 1h")
    amount, unit = match.groups()
    return timedelta(**{UNITS[unit]: int(amount)})


def _duration_text(wait: timedelta) -> str:
    seconds = int(wait.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
