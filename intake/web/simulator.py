"""/simulator: a phone in the browser, for trying the line without Twilio.

Every text and call goes through the same signed webhooks as Twilio's: the server signs
each request with the line's token for PUBLIC_BASE_URL + path (intake/simulator/phone.py) and
hands it to this app in-process, through the signature check. What the line sends a
number on its own (follow-ups, alerts, relayed texts) is read from the outbox.

Requests carry phone numbers in JSON bodies, never in URLs, so no access log shows them.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from intake.core.line import current_line
from intake.domain.enums import OutboxStatus
from intake.infra import phones
from intake.oncall import roster
from intake.simulator import phone as simulator
from intake.web import auth
from intake.web.values import clean

bp = Blueprint(
    "simulator",
    __name__,
    url_prefix="/simulator",
    static_folder="static/simulator",
    static_url_path="/static",
)

CAREGIVER = "+12125550147"  # 555-0100..0199: fictitious, it reaches no one
MAX_BODY = 1600  # Twilio's longest text
MAX_PHONES = 30  # phones one poll may ask about
MAX_NUMBER = 40  # characters of a typed phone number
SHOWN = (
    OutboxStatus.SENT,
    OutboxStatus.FAILED,
)  # outbox rows a phone shows: went out, or Twilio refused them
CALLS = simulator.HeldCalls()
MOVES = ("keys", "speech", "silence", "hangup")
YOU = "you"  # who made a move, among the lines heard on a call


def simulator_enabled() -> bool:
    """The one gate. On in local mode (no Twilio credentials: nothing leaves the machine);
    with Twilio credentials only when INTAKE_SIMULATOR=on, and then only for a signed-in
    admin."""
    settings = current_line().settings
    if not settings.uses_twilio:
        return True
    return settings.simulator and signed_in_admin()


def signed_in_admin() -> bool:
    """Whether an admin is signed in to the dashboard on this browser."""
    staff = auth.current_staff()
    return staff is not None and staff.is_admin


@bp.before_request
def gate():
    """Off: 404. On: every POST carries the page's CSRF token (Flask-WTF checks it)."""
    if simulator_enabled():
        current_app.extensions["csrf"].protect()
        return None
    settings = current_line().settings
    if settings.simulator:  # on, but nobody signed in as an admin
        return _refused(403, "Sign in to the dashboard as an admin to use the phone simulator.")
    abort(404)


@bp.get("/")
def page():
    line = current_line()
    return render_template(
        "simulator/page.html",
        org=line.settings.org_name,
        twilio=line.settings.uses_twilio,
        caregiver=CAREGIVER,
        staff=_staff_phones(),
        photo_url=_photo_url(),
    )


@bp.post("/text")
def text():
    """Text the line from a simulated phone; answers the replies the webhook gave."""
    data = _json()
    phone = _phone(data.get("phone"))
    body = data.get("body")
    photo = data.get("photo") is True
    if not isinstance(body, str) or len(body) > MAX_BODY or not (body.strip() or photo):
        return _refused(400, f"Type a text of 1 to {MAX_BODY} characters.")
    body = clean(body)  # a lone surrogate (half an emoji) cannot be signed or stored
    media = [_photo_url()] if photo else None
    replies = simulator.send_text(current_line().settings, _post(), phone, body, media)
    return jsonify(phone=phone, replies=replies, at=current_line().clock.now().isoformat())


@bp.post("/inbox")
def inbox():
    """What the line sent each asked-for phone on its own, from the outbox."""
    asked = _json().get("phones")
    if not isinstance(asked, list) or len(asked) > MAX_PHONES:
        return _refused(400, f"Ask about a list of at most {MAX_PHONES} phones.")
    if not all(isinstance(raw, str) for raw in asked):
        return _refused(400, "Each phone is a number, as text.")
    phones = {raw: _phone(raw) for raw in asked}
    with current_line().db.sessions() as session:
        texts = {
            raw: [_shown(t) for t in simulator.line_texts(session, phone, SHOWN)]
            for raw, phone in phones.items()
        }
    return jsonify(texts=texts)


@bp.post("/calls")
def start_call():
    """Call the line from a simulated phone; `staff_answer` says whether a person on call
    the line rings picks up and accepts (presses 1)."""
    data = _json()
    phone = _phone(data.get("phone"))
    staffed = data.get("staff_answer") is True
    callee = _accepts if staffed else simulator.nobody_answers
    settings = current_line().settings

    def begin(listener):
        return simulator.Call.start(_post(), settings, phone, callee=callee, listener=listener)

    return _call_started(phone, begin)


@bp.post("/calls/answer")
def answer_call():
    """Pick up a call the line placed to a simulated phone (an alert to someone on call)."""
    data = _json()
    phone = _phone(data.get("phone"))
    wanted = data.get("outbox")
    with current_line().db.sessions() as session:
        placed = [t for t in simulator.line_texts(session, phone) if t.id == wanted]
    if not placed or not placed[0].call_url:
        return _refused(404, "The line placed no such call to this phone.")
    settings = current_line().settings

    def begin(listener):
        return simulator.Call.answer(
            _post(), settings, phone, placed[0].call_url, line=_line_number(), listener=listener
        )

    return _call_started(phone, begin)


@bp.post("/calls/<call_id>")
def move(call_id: str):
    """One move of the caller: press keys, speak, stay silent or hang up."""
    held = CALLS.get(call_id)
    if held is None:
        return _refused(404, "This call is over (or waited too long): call again.")
    data = _json()
    kind, value = data.get("move"), data.get("value", "")
    if kind not in MOVES or not isinstance(value, str) or len(value) > MAX_BODY:
        return _refused(400, "A move is keys, speech, silence or hangup.")
    with held.lock:
        call = held.call
        if call.ended:
            return _call_state(call_id, held)
        held.hear(YOU, simulator.Spoken(_move_words(kind, value)))
        try:
            _play(call, kind, value)
        except simulator.CallError as error:
            return _refused(502, f"The call went wrong: {error}")
        return _call_state(call_id, held)


# --- helpers -----------------------------------------------------------------------------


def _accepts(number: str) -> simulator.Pickup:
    """Whoever the line rings picks up and presses 1 (accepts the caller)."""
    return simulator.answers("1")


def _move_words(kind: str, value: str) -> str:
    """The caller's move, as the page lists it among what was said."""
    keys = "".join(k for k in value if k in "0123456789*#")
    if kind == "keys" and keys:
        return f"[you press {keys}]"
    if kind == "speech" and value.strip():
        return value.strip()
    return "[you hang up]" if kind == "hangup" else "[you stay silent]"


def _play(call: simulator.Call, kind: str, value: str) -> None:
    if kind == "keys":
        keys = "".join(k for k in value if k in "0123456789*#")
        call.press(keys) if keys else call.silence()
    elif kind == "speech":
        call.say(value) if value.strip() else call.silence()
    elif kind == "silence":
        call.silence()
    else:
        call.hang_up()


def _call_started(phone: str, begin):
    try:
        call_id, held = CALLS.start(phone, begin)
    except simulator.CallError as error:
        return _refused(502, f"The call went wrong: {error}")
    return _call_state(call_id, held)


def _call_state(call_id: str, held: simulator.HeldCall):
    """What the page shows of a call: every line heard, and what it waits for."""
    call = held.call
    gather, record = call.current_gather, call.current_record
    waits = "record" if record else " ".join(sorted(gather.input.split())) if gather else ""
    prompt = gather or record
    return jsonify(
        id=call_id,
        phone=held.phone,
        heard=[{"who": who, "text": said.text, "lang": said.language} for who, said in held.heard],
        waits=waits,  # "dtmf", "dtmf speech", "speech", "record" or "" (ended)
        digits=gather.num_digits if gather else None,  # keys sent at once when this many
        finish=prompt.finish_on_key if prompt else "",  # a key that sends the keys typed
        timeout=gather.timeout if gather else None,  # else sent after this many quiet seconds
        ended=call.ended,
    )


def _photo_url() -> str:
    """The sample picture "Send a photo" sends, at the line's public address."""
    return current_line().settings.public_base_url + "/simulator/static/sample-photo.jpg"


def _line_number() -> str:
    return simulator.line_number(current_line().settings)


def _post() -> simulator.Post:
    """Requests to this very app, in-process, signed as Twilio signs them."""
    return simulator.app_post(current_app._get_current_object())


def _json() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(_refused(400, "Send a JSON object."))
    return data


def _phone(raw) -> str:
    """A simulated phone's number in E.164; with Twilio on, only a fictitious one."""
    settings = current_line().settings
    phone = None
    if isinstance(raw, str) and len(raw) <= MAX_NUMBER:
        phone = phones.possible(raw, settings.default_region)
    if phone is None:
        abort(_refused(400, "That is not a phone number (try +12125550147)."))
    if settings.uses_twilio and not phones.is_fictitious(phone):
        abort(_refused(400, "With Twilio on, the simulator uses only 555-0100 to 555-0199."))
    return phone


def _staff_phones() -> list[dict[str, str]]:
    """The roster's phones, to text as; none with Twilio on (their numbers are real)."""
    line = current_line()
    if line.settings.uses_twilio:
        return []
    with line.db.sessions() as session:
        return [{"name": p.name, "phone": p.phone} for p in roster.members(session)]


def _shown(text: simulator.LineText) -> dict:
    return {
        "id": text.id,
        "kind": text.kind,
        "channel": text.channel,
        "body": text.body,
        "status": text.status,
        "at": text.sent_at.isoformat() if text.sent_at else None,
    }


def _refused(status: int, why: str):
    response = jsonify(error=why)
    response.status_code = status
    return response
