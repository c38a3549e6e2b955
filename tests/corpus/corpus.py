"""The conversation corpus: whole conversations as people text them, each turn with
what must be stored and what must happen, run through the engine (pure, no database).

A file in tests/corpus/conversations/ holds conversations in a plain block format:

    == es-014 es | a grandmother; police sent her away
    > mi nieta no llego de la escuela      || lang=es; +ReportedMissing
    > no me quisieron tomar el reporte     || +PoliceRefused; police_refused=yes
    > hmm                                  || step=police_called... (see below)

`== <id> <language of the caller> | <what it is about>` starts a conversation; each
`> <text>` is one text from the caller, and after ` || ` come the checks on the
conversation after that text, separated by `;`:

    key=value     an answer as stored (none, yes, no, a number, or the words), or:
                  lang, step, status (the conversation), role (relationship),
                  age (years), when (unknown, or minutes ago), children (how many),
                  names (the children's names, comma-separated), ages (their ages)
    +Event        this text caused the event (ChildFound, PoliceRefused, ...)
    -Event        this text did not cause it
    >template     the line said this (answer_what_next, police_refused, ...)
    !template     the line did not say it
    -key          nothing is stored under key (absent or unknown)

A line starting with # is a comment. A turn is counted for the step the line was
asking when the text came (or `first` for a first text, `after` once the intake is done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows import engine
from flows import events as ev
from flows.intake import intake_flow
from flows.language import confidences
from intake.core.words import vocabulary

FOLDER = Path(__file__).parent / "conversations"
SENDER = "+15555550123"


@dataclass
class Turn:
    text: str
    checks: list[str]
    line: int


@dataclass
class Conversation:
    id: str
    lang: str
    about: str
    source: str
    turns: list[Turn] = field(default_factory=list)


@dataclass
class Outcome:
    conversation: Conversation
    turn: Turn
    step: str
    failures: list[str]


def load(folder: Path = FOLDER) -> list[Conversation]:
    """Every conversation of every file, in order."""
    out: list[Conversation] = []
    for path in sorted(folder.glob("*.txt")):
        current: Conversation | None = None
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("== "):
                head, _, about = line[3:].partition("|")
                ident, lang = head.split()
                current = Conversation(ident, lang, about.strip(), f"{path.name}:{number}")
                out.append(current)
            elif line.startswith("> "):
                if current is None:
                    raise ValueError(f"{path.name}:{number}: a text before any ==")
                text, _, checks = line[2:].partition(" || ")
                parts = [c.strip() for c in checks.split(";") if c.strip()]
                current.turns.append(Turn(text.strip(), parts, number))
            else:
                raise ValueError(f"{path.name}:{number}: cannot read {line!r}")
    ids = [c.id for c in out]
    doubled = {i for i in ids if ids.count(i) > 1}
    if doubled:
        raise ValueError(f"conversation ids used twice: {sorted(doubled)}")
    return out


def flow() -> engine.Flow:
    return intake_flow("US", vocabulary(), confidences)


def run(conversation: Conversation, the_flow: engine.Flow | None = None) -> list[Outcome]:
    """Each text of a conversation through the engine, with what its checks found."""
    the_flow = the_flow or flow()
    state = engine.State()
    outcomes = []
    for turn in conversation.turns:
        step = _asked(state)
        result = engine.run(
            the_flow, state, engine.Inbound(text=turn.text, sender=SENDER, channel="sms")
        )
        state = result.state
        failures = [f for f in (_check(c, result) for c in turn.checks) if f]
        outcomes.append(Outcome(conversation, turn, step, failures))
    return outcomes


def _asked(state: engine.State) -> str:
    if state.status == engine.NEW:
        return "first"
    if state.pending:
        return state.pending["kind"]
    if state.status == engine.ACTIVE and state.step:
        return state.step
    return "after"


def _check(check: str, result: engine.Result) -> str | None:
    """None when the check holds, else what was found instead."""
    state = result.state
    names = [type(e).__name__ for e in result.events]
    said = [r.template for r in result.replies]
    if check.startswith("+"):
        return None if check[1:] in names else f"{check}: events were {names}"
    if check.startswith("-") and "=" not in check:
        name = check[1:]
        if name[:1].isupper():
            return None if name not in names else f"{check}: events were {names}"
        value = state.answers.get(name)
        return None if value in (None, [], {}) else f"{check}: stored {value!r}"
    if check.startswith(">"):
        return None if check[1:] in said else f"{check}: said {said}"
    if check.startswith("!"):
        return None if check[1:] not in said else f"{check}: said {said}"
    key, _, want = check.partition("=")
    got = _value(key.strip(), state)
    wanted = want.strip() if isinstance(got, str) else _expected(key.strip(), want.strip())
    return None if got == wanted else f"{check}: got {got!r}"


def _value(key: str, state: engine.State) -> Any:
    answers = state.answers
    children = answers.get("children") or []
    match key:
        case "lang" | "step" | "status":
            return getattr(state, key)
        case "role":
            return answers.get("relationship")
        case "age":
            months = answers.get("age_months")
            return None if months is None else round(months / 12, 1)
        case "when":
            when = answers.get("last_seen_when", "absent")
            if when is None:
                return "unknown"
            return when if when == "absent" else when.get("ago_minutes")
        case "children":
            return len(children) or 1
        case "names":
            return [c.get("name") for c in children]
        case "ages":
            return [None if c.get("age_months") is None else c["age_months"] / 12 for c in children]
        case "found":
            return [c.get("name") for c in children if c.get("found")]
    return answers.get(key, "absent")


def _expected(key: str, want: str) -> Any:
    if key in ("names", "found"):
        return [w.strip() for w in want.split(",") if w.strip()]
    if key == "ages":
        return [None if w.strip() == "?" else float(w) for w in want.split(",")]
    if key in ("lang", "step", "status", "role") or key == "child_name":
        return None if want == "none" else want
    if key == "age":
        return None if want == "none" else float(want)
    if key == "when":
        return want if want in ("unknown", "absent") else int(want)
    return {"none": None, "yes": True, "no": False, "absent": "absent"}.get(
        want, int(want) if want.isdigit() else want
    )


def run_all(conversations: list[Conversation] | None = None) -> list[Outcome]:
    the_flow = flow()
    out: list[Outcome] = []
    for conversation in conversations or load():
        out.extend(run(conversation, the_flow))
    return out


EVENT_NAMES = {cls.__name__ for cls in vars(ev).values() if isinstance(cls, type)}
