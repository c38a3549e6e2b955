"""Roster rules: numbers that can be dialled, names that tell people apart."""

from __future__ import annotations

import pytest

from intake.oncall import roster
from tests.conftest import make_settings

ANA, ANA_2, BEN = "+12125550111", "+12125550112", "+12125550122"


def names(line) -> list[tuple[int, str, str]]:
    with line.db.sessions() as s:
        return [(p.position, p.name, p.phone) for p in roster.people(s)]


def test_a_number_that_cannot_be_dialled_is_refused(line):
    with line.db.transaction() as s, pytest.raises(roster.RosterError, match="dialled"):
        roster.add(s, "Ana", "555-1234")
    assert names(line) == []


def test_a_second_active_person_with_the_same_name_is_refused(line):
    with line.db.transaction() as s:
        roster.add(s, "Ana Ruiz", ANA)
    with line.db.transaction() as s, pytest.raises(roster.RosterError, match="already"):
        roster.add(s, "  ana   RUIZ ", ANA_2)
    assert names(line) == [(1, "Ana Ruiz", ANA)]


def test_a_name_two_people_share_moves_nobody(line):
    with line.db.transaction() as s:
        roster.add(s, "Ana", ANA)
        roster.add(s, "Ben", BEN)
        # two people with one name, as a roster from before the rule may hold
        roster.add(s, "Ana Two", ANA_2).name = "ana"
    with line.db.transaction() as s, pytest.raises(roster.RosterError, match="2 people"):
        roster.move(s, "ANA", 1)
    assert [n for _, n, _ in names(line)] == ["Ana", "Ben", "ana"]
    with line.db.transaction() as s:
        roster.move(s, ANA_2, 1)  # the phone number still picks one
    assert names(line)[0] == (1, "ana", ANA_2)


def test_nobody_to_alert_needs_a_reachable_person_or_a_fallback(line, settings, tmp_path):
    fallback = make_settings(settings.database_url, tmp_path, fallback_alert_number=BEN)
    with line.db.transaction() as s:
        assert roster.nobody_to_alert(s, settings)
        assert not roster.nobody_to_alert(s, fallback)
        roster.add(s, "Ana", ANA).opted_out_at = line.clock.now()
        assert roster.nobody_to_alert(s, settings)
        roster.add(s, "Ben", BEN)
        assert not roster.nobody_to_alert(s, settings)
