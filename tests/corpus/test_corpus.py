"""Every conversation of the corpus reads as its checks say (100%, per step)."""

from __future__ import annotations

import pytest

from tests.corpus.corpus import load, run

CONVERSATIONS = load()


def test_the_corpus_is_big_and_half_spanish():
    assert len(CONVERSATIONS) >= 300
    spanish = sum(1 for c in CONVERSATIONS if c.lang == "es")
    assert spanish >= len(CONVERSATIONS) // 2


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=lambda c: c.id)
def test_conversation(conversation):
    wrong = [o for o in run(conversation) if o.failures]
    assert not wrong, "\n".join(
        f"{o.conversation.source} [{o.step}] {o.turn.text!r}: {'; '.join(o.failures)}"
        for o in wrong
    )


def test_every_check_names_a_known_event():
    from tests.corpus.corpus import EVENT_NAMES

    for conversation in CONVERSATIONS:
        for turn in conversation.turns:
            for check in turn.checks:
                if check[:1] in "+-" and check[1:2].isupper():
                    assert check[1:] in EVENT_NAMES, f"{conversation.id}: {check}"
