"""gunicorn's access log, each value escaped as the line's own logs are (intake/infra/logs.py).

gunicorn logs the decoded path: `/x%0a2026-12-07 INFO staff.signed_in account=1` would
write a forged line of its own, and `%00` a raw NUL. Here every value of a request that
reaches the access log (path, method, headers) has CR, LF, NUL and every other character
that could break or forge a line spelled out (`\\n`, `\\x00`).
"""

from __future__ import annotations

from gunicorn.glogging import Logger, SafeAtoms

from intake.infra.logs import escape


class EscapedAtoms(SafeAtoms):
    """The values of one request as the access log shows them: each escaped (a quote as
    \\", a backslash as \\\\), in place of gunicorn's, which escapes only the quote."""

    def __init__(self, atoms):
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = escape(value) if isinstance(value, str) else value


class AccessLogger(Logger):
    """gunicorn's logger, its access-log values escaped (gunicorn.conf.py: logger_class)."""

    atoms_wrapper_class = EscapedAtoms
