"""How the operator calls the `intake` command here, for the commands the line prints."""

from __future__ import annotations

import os
import shutil
import sys


def this_command() -> str:
    """`intake` when that is what the PATH finds; else the path this command was started
    by (`.venv/bin/intake` under `make run`), or `python -m intake` with this Python."""
    started = os.path.abspath(sys.argv[0])
    name = os.path.basename(started)
    if name == "__main__.py":
        return f"{_short(sys.executable)} -m intake"
    if name != "intake":  # a server or a test runner: the checkout's command
        return "intake" if shutil.which("intake") else ".venv/bin/intake"
    found = shutil.which("intake")
    if found and os.path.realpath(found) == os.path.realpath(started):
        return "intake"
    return _short(started)


def _short(path: str) -> str:
    """A path relative to here when it lies below, else absolute."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path
