"""The domain's words live in intake/domain/enums.py: no status, kind or medium literal elsewhere.

The rule is read from the source (ast), so it keeps holding as the code changes: a
comparison, a `status=`/`kind=` keyword or an `.in_(...)` with one of the stored words
written as a string, anywhere in the service but intake/domain/enums.py, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flows.state import Channel
from intake.core import outbox, words
from intake.core.models import Case, Outbound
from intake.domain import enums as domain
from intake.domain.enums import (
    AlertReason,
    AlertStatus,
    CaseStatus,
    Direction,
    Medium,
    OutboxKind,
    OutboxStatus,
    ReachBy,
    StaffRole,
    TwilioFileKind,
)

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = [
    p
    for folder in ("intake", "flows")
    for p in sorted((ROOT / folder).rglob("*.py"))
    if "migrations" not in p.parts  # a migration keeps the words of its own day
]
DOMAIN = ROOT / "intake" / "domain" / "enums.py"

STATUSES = {*CaseStatus, *AlertStatus, *OutboxStatus}
KINDS = {*OutboxKind, *TwilioFileKind}
# which words a field may not be compared with or set to as a literal
FIELDS = {
    "status": STATUSES,
    "kind": KINDS,
    "reason": set(AlertReason),
    "direction": set(Direction),
    "channel": {*Medium, domain.OLD_CALL},
    "reach_by": {*ReachBy, domain.OLD_CALL},
    "role": set(StaffRole),
}
# flows/ imports nothing of ours: it keeps its own channel words ("sms" | "voice", the same
# as Medium's values); no status or kind of the service may appear there either
FLOWS_FIELDS = {
    name: words for name, words in FIELDS.items() if name not in ("channel", "reach_by")
}
RULES = (
    "a status, kind or medium of the domain is written as a string: "
    "use its enum from intake/domain/enums.py"
)


def _field(node: ast.AST) -> str | None:
    """The field a node names: `case.status`, `Outbound.kind`, `status`, `row.channel`."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _literals(node: ast.AST) -> list[str]:
    """The strings a node writes: "open", or ("open", "exhausted")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for item in node.elts for s in _literals(item)]
    return []


def offences(source: str, fields: dict[str, set[str]] = FIELDS) -> list[tuple[int, str]]:
    """(line, what) for every domain word written as a literal where the domain is meant."""
    FIELDS = fields  # noqa: N806  (the rules this source is held to)
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = {_field(side) for side in sides} & FIELDS.keys()
            for side in sides:
                for word in _literals(side):
                    if any(word in FIELDS[name] for name in named):
                        found.append((node.lineno, f"compared with {word!r}"))
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in FIELDS:
                    for word in _literals(keyword.value):
                        if word in FIELDS[keyword.arg]:
                            found.append((node.lineno, f"{keyword.arg}={word!r}"))
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("in_", "not_in"):
                if _field(func.value) in FIELDS:
                    words = FIELDS[_field(func.value)]
                    for arg in node.args:
                        for word in _literals(arg):
                            if word in words:
                                found.append((node.lineno, f".{func.attr}({word!r})"))
        elif isinstance(node, ast.Assign):
            targets = {_field(t) for t in node.targets}
            targets |= {_field(e) for t in node.targets if isinstance(t, ast.Tuple) for e in t.elts}
            named = targets & FIELDS.keys()
            for word in _literals(node.value):
                if any(word in FIELDS[name] for name in named):
                    found.append((node.lineno, f"set to {word!r}"))
    return found


@pytest.mark.parametrize("path", PRODUCTION, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_domain_word_is_written_outside_the_domain(path):
    if path == DOMAIN:
        return
    flows = path.is_relative_to(ROOT / "flows")
    found = offences(path.read_text(), FLOWS_FIELDS if flows else FIELDS)
    assert not found, f"{path.relative_to(ROOT)}: {RULES}: " + "; ".join(
        f"line {line}: {what}" for line, what in found
    )


@pytest.mark.parametrize(
    "source",
    [
        'if case.status == "open": pass',
        'select(Alert).where(Alert.status.in_(("open", "exhausted")))',
        'outbox.enqueue(session, kind="relay", to=phone)',
        'row.status, row.last_error = "failed", why',
        'if item.channel == "call": pass',
        'Message(direction="in")',
        'return self.role == "admin"',
        'query.where(Outbound.status.not_in(("pending", "sending")))',
    ],
)
def test_the_check_sees_each_way_a_literal_is_written(source):
    assert offences(source)


def test_the_check_leaves_other_strings_alone():
    source = 'if result == "found": pass\nlog(kind=item.kind, status="ok")\nx = {"open": 1}'
    assert offences(source) == []


def test_an_open_case_is_an_intake_under_way_or_one_being_worked():
    assert [s for s in CaseStatus if s.is_open] == [CaseStatus.INTAKE, CaseStatus.OPEN]
    assert CaseStatus.ABANDONED.is_workable and not CaseStatus.ABANDONED.is_open
    assert CaseStatus.CLOSED.is_foundable and CaseStatus.CLOSED.is_finished
    assert not CaseStatus.FOUND.is_foundable


def test_an_alert_waits_until_someone_takes_it():
    assert [s for s in AlertStatus if s.is_waiting] == [AlertStatus.OPEN, AlertStatus.EXHAUSTED]


def test_the_stored_words_are_the_enum_values():
    """The enums compare equal to what the database holds: no schema break."""
    assert CaseStatus("intake") == "intake" and OutboxStatus.PENDING == "pending"
    assert Medium("voice") is Medium.VOICE
    # "call", stored for a call before migration 0018 and still typed at the CLI, reads as voice
    assert Medium("call") is Medium.VOICE and ReachBy("call") is ReachBy.VOICE
    assert Medium.VOICE.shown == "call" and Medium.SMS.shown == "sms"
    assert [r.shown for r in ReachBy] == ["sms", "call", "both"]


def test_a_case_is_looked_up_by_ref_in_one_place():
    """cases.by_ref is the one lookup (dashboard, staff commands, CLI): no other module
    compares Case.ref with what someone typed."""
    elsewhere = []
    for path in PRODUCTION:
        if path == ROOT / "intake" / "cases" / "lifecycle.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                isinstance(side, ast.Attribute)
                and side.attr == "ref"
                and isinstance(side.value, ast.Name)
                and side.value.id == "Case"
                for side in [node.left, *node.comparators]
            ):
                elsewhere.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert elsewhere == []


def _defaulted_channels(source: str) -> list[int]:
    """The lines of every function (or lambda) whose parameter `channel` has a default."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        pairs = [
            *zip(positional, defaults, strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
        ]
        found += [node.lineno for arg, default in pairs if arg.arg == "channel" and default]
    return found


@pytest.mark.parametrize("path", PRODUCTION, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_channel_is_assumed(path):
    """A missing channel is a type error, never a quiet "sms" (issue 18)."""
    lines = _defaulted_channels(path.read_text())
    assert not lines, f"{path.relative_to(ROOT)}: a default channel at lines {lines}"


@pytest.mark.parametrize(
    "source",
    [
        'def render(name, lang, /, channel="sms", **params): pass',
        "def enqueue(session, *, kind, channel=Medium.SMS): pass",
        "async def send(to, channel=None): pass",
        'speak = lambda text, channel="voice": text',
    ],
)
def test_the_channel_check_sees_each_way_a_default_is_written(source):
    assert _defaulted_channels(source)


def test_the_channel_check_leaves_a_required_channel_alone():
    assert not _defaulted_channels("def render(name, lang, /, *, channel, lang2='en'): pass")


def test_the_engine_and_the_domain_name_the_channels_alike():
    """flows names the channels once (Channel); intake's Medium stores the same words."""
    assert [c.value for c in Channel] == [m.value for m in Medium] == ["sms", "voice"]
    assert Channel.VOICE == Medium.VOICE and Channel.SMS == Medium.SMS


def test_a_render_without_its_channel_is_a_type_error():
    with pytest.raises(TypeError):
        words.render("welcome", "en", org="Org")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        outbox.enqueue(None, kind=OutboxKind.FOLLOWUP, to="+12125551234", send_at=None)  # type: ignore[call-arg]
    assert words.render("welcome", "en", channel=Medium.SMS, org="Org")


def test_a_stored_template_names_its_folder_and_render_takes_a_bare_name():
    """An outbox row stores "staff:oncall_alert" (staff's words) or a bare name (the row's
    channel's words); render takes the folder as its channel, never inside the name."""
    assert words.stored_name("staff:oncall_alert", Medium.SMS) == ("staff", "oncall_alert")
    assert words.stored_name("followup_3", Medium.SMS) == ("sms", "followup_3")
    with pytest.raises(ValueError):
        words.render("staff:oncall_alert", "en", channel=Medium.SMS)


def test_a_stored_channel_is_never_assumed():
    """A case's and an outbox row's channel columns have no default: a row written without
    one fails (NOT NULL) rather than quietly becoming a text."""
    assert Case.__table__.c.channel.default is None
    assert Outbound.__table__.c.channel.default is None
