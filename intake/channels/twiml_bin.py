"""The static TwiML for a Twilio "TwiML Bin": what Twilio answers when the line is down.

Twilio fetches a number's fallback URL when the line's webhook fails or takes longer than
15 s. A static document cannot tell the caller's language, so it carries the emergency
message (`line.fallback_words`, the words the line says from memory) in English, then in
Spanish. Built with the twilio library from the templates, never written by hand:
`intake fallback-twiml --sms` and `--voice` print it, deploy/twiml-bin/ keeps a copy.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from intake.channels import twiml as channels
from intake.channels.voice import RING_SECONDS, VOICES
from intake.core import words
from intake.core.line import fallback_words
from intake.domain.enums import Medium
from intake.infra.config import Settings


def sms(settings: Settings) -> str:
    """One reply holding the emergency text in every language (as few texts as fit)."""
    return channels.sms_twiml(
        [fallback_words(settings, lang, channel=Medium.SMS) for lang in words.LANGUAGES]
    )


def voice(settings: Settings) -> str:
    """The spoken emergency words in every language, each in its own voice; then the
    fallback number rings when one is set. A bin cannot act on a key press, so its words
    never offer one ("press 0"): with a fallback number the caller is put through anyway."""
    response = VoiceResponse()
    for lang in words.LANGUAGES:
        _say(response, lang, fallback_words(settings, lang, channel=Medium.VOICE, press_0=False))
    number = settings.fallback_alert_number
    if number:
        for lang in words.LANGUAGES:
            _say(response, lang, _words("connecting", lang, settings))
        response.dial(number, timeout=RING_SECONDS * 2)
    for lang in words.LANGUAGES:
        _say(response, lang, _words("goodbye", lang, settings))
    response.hangup()
    return str(response)


def _say(response: VoiceResponse, lang: str, text: str) -> None:
    name, language = VOICES[lang]
    response.say(text, voice=name, language=language)


def _words(template: str, lang: str, settings: Settings) -> str:
    return words.render(template, lang, channel=Medium.VOICE, org=settings.org_name)
