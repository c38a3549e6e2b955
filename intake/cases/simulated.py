"""Simulated callers: the fictitious numbers the phone simulator plays, and the test cases
they open.

With Twilio credentials and INTAKE_SIMULATOR=on, an admin can play a caregiver from a
North American 555-0100..0199 number (set aside for fiction: it reaches no one). Such an
intake is a test case (Case.is_test): the dashboard labels it, and every text or call the
line makes about it is delivered locally (dispatcher), never to a real phone, so a drill
never pages real staff. With the simulator off, no number is taken for a test: an
emergency line never drops a page on a guess.
"""

from __future__ import annotations

from intake.infra.config import Settings
from intake.infra.phones import is_fictitious


def is_test_caller(settings: Settings, phone: str) -> bool:
    """Whether an intake from this number is the simulator's, on a line with real Twilio."""
    return settings.uses_twilio and settings.simulator and is_fictitious(phone)
