"""Render what the engine said as TwiML, with the twilio library's builders."""

from __future__ import annotations

from collections.abc import Sequence

from twilio.twiml.messaging_response import MessagingResponse

SMS_LIMIT = 1600  # Twilio's most for one message body


def sms_twiml(texts: Sequence[str]) -> str:
    """One <Message> holding every text in order (separate messages can arrive out of order)."""
    response = MessagingResponse()
    for body in _bodies(texts):
        response.message(body)
    return str(response)


def _bodies(texts: Sequence[str]) -> list[str]:
    """Join texts into as few bodies as fit Twilio's limit, never splitting one text."""
    bodies: list[str] = []
    for text in texts:
        if bodies and len(bodies[-1]) + 2 + len(text) <= SMS_LIMIT:
            bodies[-1] += "\n\n" + text
        else:
            bodies.append(text[:SMS_LIMIT])
    return bodies
