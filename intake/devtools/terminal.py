"""The `intake simulate` session: the terminal plays a caregiver who texts, or a caller
(and the people the line dials), through the line's signed webhooks. A dev tool."""

from __future__ import annotations

import dataclasses
import os
import sys
import threading

import click
import requests

from intake.app import create_app
from intake.cli.base import require_ready
from intake.devtools import simulate as phone
from intake.infra.config import Settings
from intake.infra.db import Database
from intake.simulator import phone as sim


def simulate(settings: Settings, sender: str, url: str | None, voice: bool) -> None:
    """Text (or call, with --voice) the line from the terminal, through the signed webhooks."""
    if url and not os.environ.get("PUBLIC_BASE_URL", "").strip():
        # The line checks signatures against PUBLIC_BASE_URL, or without it against the
        # address it runs on (`intake run --port`): that is --url, whatever PORT says here.
        settings = dataclasses.replace(settings, public_base_url=url.rstrip("/"))
    if not (voice and url):  # the in-process line and the inbox of texts read the database
        require_ready(Database(settings.database_url))
    post = _line_post(settings, url)
    if voice:
        _call(settings, post, sender, url)
        return
    screen = threading.Lock()

    def show(text: str) -> None:
        with screen:  # one whole text at a time, never two interleaved
            click.echo(text)

    click.echo("Type a text and press Enter. 'photo: URL' sends a picture. Ctrl-D ends.")
    finish = phone.watch(
        phone.Inbox(settings, sender), lambda t: show(f"\n< (sent by the line) {t}\n")
    )
    try:
        for line in sys.stdin if not sys.stdin.isatty() else _prompted():
            for reply in _replies(settings, post, sender, line.rstrip("\n"), url):
                show(f"\n< {reply}\n")
    finally:
        finish()


def _line_post(settings, url: str | None):
    """How the simulator reaches the line: over HTTP at --url, or an app in this process."""
    if url:
        problem = phone.unreachable(url)
        if problem:
            raise click.ClickException(problem)
        return phone.http_post(url)
    return sim.app_post(create_app(settings))


def _call(settings, post, sender: str, url: str | None) -> None:
    """One phone call in the terminal: the driver plays Twilio, you play the caller."""
    click.echo(f"Calling the line. {phone.CALL_HELP} Ctrl-D hangs up.")
    try:
        call = sim.Call.start(post, settings, sender, callee=_ask_callee, listener=_show)
        while not call.ended:
            typed = _ask("> ")
            if typed is None:
                call.hang_up()
            elif not phone.play_line(call, typed):
                click.echo(phone.CALL_HELP)
    except sim.CallError as error:
        raise click.ClickException(str(error)) from None
    except requests.RequestException:
        raise click.ClickException(f"The line at {url} stopped answering.") from None
    click.echo("[the call ended]")


def _show(who: str, said) -> None:
    """A line the caller (or, indented, a person the line dialled) hears, with its language."""
    if who:
        click.echo(f"  ({who} hears) [{said.language}] {said.text}")
    else:
        click.echo(f"< [{said.language}] {said.text}")


def _ask_callee(number: str):
    """The terminal decides what a person the line dials does."""
    reply = _ask(f"The line dials {number}: the person on call answers? [y/N] ") or ""
    if not reply.strip().lower().startswith("y"):
        return sim.NO_ANSWER
    keys = (_ask("They press (keys, or Enter for nothing): ") or "").strip()
    return sim.answers(*([keys] if keys else []))


def _ask(prompt: str) -> str | None:
    """One typed line; None at the end of input. Piped input is echoed, as if typed."""
    if sys.stdin.isatty():
        try:
            return input(prompt)
        except EOFError:
            return None
    line = sys.stdin.readline()
    if not line:
        return None
    click.echo(prompt + line.rstrip("\n"))
    return line.rstrip("\n")


def _replies(settings, post, sender: str, text: str, url: str | None) -> list[str]:
    """The line's answer to one typed line; a line that went away ends the session plainly."""
    try:
        return phone.text_line(settings, post, sender, text)
    except requests.RequestException:
        raise click.ClickException(f"The line at {url} stopped answering.") from None


def _prompted():
    while True:
        try:
            yield input("> ")
        except EOFError:
            return
