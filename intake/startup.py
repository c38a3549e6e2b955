"""What a starting line says out loud: anything that would let a case fall through."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from intake.core.line import Line
from intake.infra import config
from intake.infra.invocation import this_command
from intake.infra.logs import event as log_event
from intake.infra.migrate import readiness
from intake.oncall import roster

_NOBODY_TO_ALERT = (
    "Nobody on the roster can be alerted and INTAKE_FALLBACK_ALERT_NUMBER is unset: "
    "a missing-child report would wake no one. Add someone with `{intake} oncall add` "
    "or set INTAKE_FALLBACK_ALERT_NUMBER."
)


def nobody_to_alert() -> str:
    """The warning, naming the command as it is called here (`.venv/bin/intake`...)."""
    return _NOBODY_TO_ALERT.format(intake=this_command())


@dataclass(frozen=True)
class StartupWarning:
    event: str  # the log event's name
    level: int
    text: str  # one plain sentence for the terminal


def warnings(line: Line) -> list[StartupWarning]:
    """Everything a starting line should warn about, loudest first."""
    found = [
        StartupWarning("config.public_base_url_not_https", logging.WARNING, text)
        for text in config.warnings(line.settings)
    ]
    state = readiness(line.db.engine)
    if not state.ready:
        problem = StartupWarning("startup.database_not_ready", logging.CRITICAL, state.problem)
        return [problem, *found]
    try:
        with line.db.sessions() as session:
            nobody = roster.nobody_to_alert(session, line.settings)
    except SQLAlchemyError:
        return found  # the database went away; /healthz will say so
    if nobody:
        warning = StartupWarning("oncall.nobody_to_alert", logging.CRITICAL, nobody_to_alert())
        found.insert(0, warning)
    return found


def announce(line: Line, echo: Callable[[str], None] | None = None) -> None:
    """Log each warning; also print it in plain words when a terminal is watching."""
    for warning in warnings(line):
        log_event(warning.event, level=warning.level)
        if echo is not None:
            echo(f"{logging.getLevelName(warning.level)}: {warning.text}")
