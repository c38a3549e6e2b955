"""The line's webhook paths: one list that the app's routes, `intake check` and the
simulator all take them from (the URLs themselves never change: Twilio's console holds them)."""

from __future__ import annotations

from typing import NamedTuple

SMS_PATH = "/twilio/sms"  # a text comes in
STATUS_PATH = "/twilio/status"  # delivery report of a text the line sent
CALL_STATUS_PATH = "/twilio/call-status"  # report on a call the line placed (an alert)
VOICE_PATH = "/twilio/voice"  # a call comes in (the voice routes live under it)
VOICE_STATUS_PATH = "/twilio/voice/status"  # an incoming call's status changes
VOICE_ALERT_PATH = "/twilio/voice/alert"  # the TwiML of an alert call the line placed
VOICE_ALERT_ANSWER_PATH = VOICE_ALERT_PATH + "/answer"  # the key the woken person pressed


class ConsoleHook(NamedTuple):
    """A webhook the number's settings in the Twilio console must point at."""

    setting: str  # the field's name in Twilio's API (IncomingPhoneNumber)
    path: str
    label: str  # as the console shows it


# What the number's settings in the Twilio console must point at (README, step by step).
CONSOLE = (
    ConsoleHook("sms_url", SMS_PATH, '"A message comes in"'),
    ConsoleHook("voice_url", VOICE_PATH, '"A call comes in"'),
    ConsoleHook("status_callback", VOICE_STATUS_PATH, '"Call status changes"'),
)

# Every path Twilio posts to on its own (the console's, and the callbacks the line gives
# Twilio with each text or call it sends). The voice conversation's own steps (Gather
# actions under VOICE_PATH) come from the TwiML the line writes.
ALL = (SMS_PATH, STATUS_PATH, CALL_STATUS_PATH, VOICE_PATH, VOICE_STATUS_PATH, VOICE_ALERT_PATH)
