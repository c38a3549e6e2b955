"""The running line: settings, database, flow and fallback words, built once.

The app, the CLI and the worker all build one `Line`; web views reach it through
`current_line()`, so no blueprint imports the app factory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, request
from sqlalchemy.exc import SQLAlchemyError

from flows import language
from flows.engine import Flow
from flows.intake import intake_flow
from intake.core import words
from intake.domain.enums import Medium
from intake.infra import crypto
from intake.infra.clock import SYSTEM, Clock
from intake.infra.config import ConfigError, Settings
from intake.infra.db import Database, DatabaseBusy
from intake.infra.deadline import Turns
from intake.infra.spool import Spool


@dataclass
class Line:
    """Everything a request needs: settings, the database, the flow, the fallback words."""

    settings: Settings
    db: Database
    flow: Flow
    fallback: dict[str, str]  # the emergency text per language, ready before any request
    spoken_fallback: dict[str, str]  # the same for a call
    clock: Clock = SYSTEM  # the one source of "now": read once per request, job or command
    turns: Turns = field(init=False)  # webhook turns against a deadline (intake/infra/deadline.py)
    spool: Spool = field(
        init=False
    )  # what was answered from memory, on disk (intake/infra/spool.py)

    def __post_init__(self) -> None:
        self.turns = Turns(self.db, self.settings.answer_within.total_seconds())
        self.spool = Spool(self.settings.spool_folder, self.settings.data_key_ring(), self.clock)

    @classmethod
    def build(cls, settings: Settings, clock: Clock = SYSTEM) -> Line:
        """The line; ConfigError when INTAKE_DATA_KEYS cannot read the stored data."""
        keys = settings.data_key_ring()
        db = Database(settings.database_url, keys, clock)
        language.confidences("hola")  # load the language models now, not on a caller's text
        _check_keys(db, keys)
        return cls(
            settings=settings,
            db=db,
            flow=intake_flow(settings.default_region, words.vocabulary(), language.confidences),
            fallback={
                lang: fallback_words(settings, lang, channel=Medium.SMS) for lang in words.LANGUAGES
            },
            spoken_fallback={
                lang: fallback_words(settings, lang, channel=Medium.VOICE)
                for lang in words.LANGUAGES
            },
            clock=clock,
        )


def current_line() -> Line:
    """The line of the app handling this request."""
    return current_app.extensions["intake"]


def request_now() -> datetime:
    """This request's time: the line's clock, read once per request (kept in its environ,
    which lives exactly as long as the request; flask.g can outlive it in a test)."""
    if "intake.now" not in request.environ:
        request.environ["intake.now"] = current_line().clock.now()
    return request.environ["intake.now"]


def _check_keys(db: Database, keys) -> None:
    """A wrong key stops the line at start, not at the first caller's message."""
    try:
        with db.engine.connect() as conn:
            crypto.check(conn, keys)
    except crypto.DataKeyError as error:
        db.dispose()
        raise ConfigError(str(error)) from None
    except (SQLAlchemyError, DatabaseBusy):
        pass  # no database or no tables yet: the readiness check says so


def fallback_words(
    settings: Settings, lang: str, *, channel: str, press_0: bool | None = None
) -> str:
    """The emergency message said from memory (and in the static TwiML Bin fallback).

    On a call it offers 0 for a person only where a key press is listened for and leads
    somewhere: by default, when the line has a fallback number to ring (`press_0`)."""
    if press_0 is None:
        press_0 = bool(settings.fallback_alert_number)
    params = {"org": settings.org_name, "ref": "", "child_name": "", "press_0": press_0}
    return words.render("fallback", lang, channel=channel, **params)
