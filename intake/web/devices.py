"""Where a sign-in comes from: the client's network, the known-device cookie, the browser's name."""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta

from flask import after_this_request, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from intake.core.models import StaffAccount

DEVICE_COOKIE = "intake_device"
DEVICE_FOR = timedelta(days=400)  # the longest a browser keeps a cookie
DEVICE_ACCOUNTS = 5  # accounts one shared phone remembers


def network() -> str:
    """Where a try comes from: the client's address (an IPv6 client's /64). From the proxy
    (FORWARDED_ALLOW_IPS, the addresses gunicorn trusts: nginx on this host by default),
    the address the proxy saw, which nginx puts last in X-Forwarded-For."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded and is_proxy(ip):
            ip = ipaddress.ip_address(forwarded.split(",")[-1].strip())
    except ValueError:
        return address[:60] or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def is_proxy(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether gunicorn trusts this peer's X-Forwarded-* headers (gunicorn.conf.py reads
    the same variable, with the same default)."""
    allowed = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1,::1"
    for entry in (e.strip() for e in allowed.split(",")):
        if entry == "*":
            return True
        try:
            if entry and ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="intake.known-device")


def known_device() -> tuple[str | None, frozenset[int]]:
    """This browser's device id and the accounts it signed in to, if its cookie is ours."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None, frozenset()
    try:
        data = device_signer().loads(raw, max_age=int(DEVICE_FOR.total_seconds()))
    except BadData:
        return None, frozenset()
    device, known = data.get("d"), data.get("a")
    if not isinstance(device, str) or not isinstance(known, list):
        return None, frozenset()
    return device, frozenset(a for a in known if isinstance(a, int))


def remember_device(account: StaffAccount, device: str | None) -> None:
    """Set (or renew) the signed cookie saying this browser signed in to this account."""
    _, known = known_device()
    listed = [account.id] + [a for a in sorted(known) if a != account.id]
    value = device_signer().dumps(
        {"d": device or secrets.token_urlsafe(16), "a": listed[:DEVICE_ACCOUNTS]}
    )

    @after_this_request
    def _set(response):
        response.set_cookie(
            DEVICE_COOKIE,
            value,
            max_age=int(DEVICE_FOR.total_seconds()),
            path="/dashboard",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
        return response


def user_agent() -> str:
    """A short summary of the browser ("Firefox on Android"), never the whole string."""
    agent = request.headers.get("User-Agent", "")
    browser = next(
        (name for key, name in BROWSERS if key in agent), "A browser" if agent else "Unknown"
    )
    system = next((name for key, name in SYSTEMS if key in agent), "")
    return f"{browser} on {system}" if system else browser


BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS", "Mac"),
    ("Linux", "Linux"),
)
