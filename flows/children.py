"""Several children on one report, and which of them is found."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from flows import events as ev
from flows import read as rd
from flows.state import (
    ENDED,
    OTHER_CHILD,
    WHICH_CHILD,
    Flow,
    Inbound,
    Reply,
    Result,
    State,
    _child,
    children_of,
)
from flows.steps import _ask_again, _ask_pending, _pending_prompt
from flows.text import key
from flows.vocabulary import Vocabulary


def _with_first_child(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The children list, started from the child the questions are about."""
    children = children_of(answers)
    if not children:
        children = [_child(answers.get("child_name"), answers.get("age_months"))]
    return children


def _add_child(
    flow: Flow, state: State, inbound: Inbound, name: str | None, age_months: int | None
) -> Result:
    """Another child is missing: added to this report at once; the line asks its name
    and age when the text did not say them, then goes on where it was."""
    answers = dict(state.answers)
    children = _with_first_child(answers)
    placeholder = next((c for c in children[1:] if not c.get("name")), None)
    if placeholder is not None and name:
        placeholder.update(name=name, age_months=age_months)
    elif placeholder is None or name:
        children.append(_child(name, age_months))
    answers["children"] = children
    events: list[ev.Event] = [ev.AnswerGiven(key="children", value=children)]
    if inbound.media:
        events.append(ev.MediaReceived(media=inbound.media))
    new = replace(state, answers=answers)
    said = Reply("another_child", {"name": name, "count": len(children)})
    if not name:
        pending = {"kind": OTHER_CHILD, "index": len(children) - 1}
        answers["asked_other"] = sorted({*answers.get("asked_other", []), len(children) - 1})
        return Result(
            replace(new, pending=pending), (said, _pending_prompt(pending)), tuple(events)
        )
    return Result(new, (said, *_ask_again(flow, new)), tuple(events))


def _other_child_details(
    flow: Flow, state: State, inbound: Inbound, reading: rd.Reading, pending: dict[str, Any]
) -> Result:
    """The other child's name and age, as asked ("Eli, 4"); unknown stays unknown."""
    answers = dict(state.answers)
    children = _with_first_child(answers)
    index = min(int(pending.get("index", len(children) - 1)), len(children) - 1)
    if reading.kind == rd.ANSWER:
        name, age = _name_and_age(flow.vocab, inbound.text)
        known_age = children[index].get("age_months")
        children[index].update(
            name=name or children[index].get("name"), age_months=age or known_age
        )
    answers["asked_other"] = sorted({*answers.get("asked_other", []), index})
    answers["children"] = children
    new = replace(state, answers=answers)
    events = (ev.AnswerGiven(key="children", value=children),)
    return Result(new, (Reply("child_added"), *_ask_again(flow, new)), events)


def _name_and_age(vocab: Vocabulary, text: str) -> tuple[str | None, int | None]:
    """ "Eli, 4", "Eli hes 4", "se llama Ana y tiene 5": the name first, the age in it."""
    if rd.is_not_a_name(vocab, text):  # "around 6pm": no name, and no age either
        return None, None
    age = rd.parse_age_months(vocab, text)
    named = rd.other_children(vocab, text)[0].name
    if named:
        return named, age
    words = [w for w in text.replace(",", " ").split() if any(c.isalpha() for c in w)]
    known = vocab.reading.not_names | frozenset(vocab.age_units)
    name_words = [w for w in words if key(w) not in known][:2]
    return (" ".join(name_words) or None), age


def _found(flow: Flow, state: State, inbound: Inbound) -> Result:
    """A clear "found": the case ends, unless it has several children still missing and
    the text does not say which is found (then the line asks)."""
    children = children_of(state.answers)
    missing = [i for i, c in enumerate(children) if not c.get("found")]
    if len(missing) <= 1:
        return _all_found(state)
    which = _children_named(flow.vocab, inbound.text, children, missing)
    if which is None:
        names = [children[i].get("name") or "" for i in missing]
        return _ask_pending(flow, state, {"kind": WHICH_CHILD, "names": names}, inbound)
    return _found_these(flow, state, inbound, which)


def _children_named(
    vocab: Vocabulary, text: str, children: list[dict[str, Any]], missing: list[int]
) -> list[int] | None:
    """Which still-missing children a text names; every one for "both"; None if unclear."""
    folded = key(text)
    padded = f" {folded} "
    if any(f" {w} " in padded for w in vocab.reading.all_children):
        return missing
    named = []
    for clause in _CLAUSES.split(text):
        words = set(key(clause).split())
        if words & _STILL_MISSING_WORDS or words & vocab.negation or words & vocab.negation_more:
            continue  # "Karla no", "but not Liam", "Liam is still missing"
        padded = f" {key(clause)} "
        for i in missing:
            name = key(children[i].get("name") or "")
            if name and (f" {name} " in padded or f" {name.split()[0]} " in padded):
                named.append(i)
    return sorted(set(named)) or None


# Where a text about several children turns from one child to another.
_CLAUSES = re.compile(r"[,.;!?]|\b(?:but|pero|and|y|though|aunque)\b", re.IGNORECASE)
# Words that say the child in the same clause is still missing (beside the negations).
_STILL_MISSING_WORDS = frozenset(
    {"still", "missing", "gone", "sigue", "falta", "perdido", "perdida", "desaparecido"}
)


def _found_these(flow: Flow, state: State, inbound: Inbound, which: list[int]) -> Result:
    """Some children are found: every one found ends the case; else only they are marked."""
    answers = dict(state.answers)
    children = children_of(answers)
    for i in which:
        children[i]["found"] = True
    if all(c.get("found") for c in children):
        return _all_found(state)
    answers["children"] = children
    events: list[ev.Event] = [ev.AnswerGiven(key="children", value=children)]
    events += [ev.OneChildFound(name=children[i].get("name") or "", index=i) for i in which]
    new = replace(state, answers=answers, pending=None)
    names = [children[i].get("name") or "" for i in which]
    still = [c.get("name") or "" for c in children if not c.get("found")]
    said = Reply("one_found", {"found_names": names, "others": still})
    return Result(new, (said, *_ask_again(flow, new)), tuple(events))


def _which_child(flow: Flow, state: State, inbound: Inbound, reading: rd.Reading) -> Result | None:
    children = children_of(state.answers)
    missing = [i for i, c in enumerate(children) if not c.get("found")]
    which = _children_named(flow.vocab, inbound.text, children, missing)
    if which is not None:
        return _found_these(flow, replace(state, pending=None), inbound, which)
    pending = dict(state.pending or {})
    if reading.kind != rd.NON_ANSWER or pending.get("asked_again"):
        return None  # about something else: read as usual, the question is dropped
    return _ask_pending(flow, state, {**pending, "asked_again": True}, inbound)


def _all_found(state: State) -> Result:
    """Every child is found: the conversation ends, and so do the case's follow-ups."""
    ended = State(status=ENDED, step=None, answers={}, lang=state.lang, warned=state.warned)
    return Result(ended, (Reply("found"),), (ev.ChildFound(),))
