"""What a retention purge does with every column of every table: empties it, or why it stays."""

from __future__ import annotations

# Every column of every table, and what a purge does with it. A column that can hold a
# child's or a caregiver's data is PURGED (emptied, or its row deleted); any other says
# why it is kept. tests/test_retention_columns.py checks this against the models. PURGED is
# also what a caregiver's number becomes on a purged outbox row.
PURGED = "purged"
AN_ID = "kept: an id or a link between rows"
A_TIME = "kept: a time (counts and times stay)"
A_WORD = "kept: one of a few fixed words or numbers"
STAFF = "kept: about staff, not the family"
SID = "kept: Twilio's id, no personal data (the resource is deleted at Twilio)"
COLUMNS: dict[str, dict[str, str]] = {
    "callers": {
        "id": AN_ID,
        "phone": PURGED,  # once none of the caller's cases is kept: "purged:<id>"
        "lang": A_WORD,
        "state": PURGED,
        "opted_out_at": A_TIME,
        "created_at": A_TIME,
        "updated_at": A_TIME,
    },
    "cases": {
        "id": AN_ID,
        "ref": "kept: the case's name for staff, random letters",
        "caller_id": AN_ID,
        "status": A_WORD,
        "lang": A_WORD,
        "channel": A_WORD,
        "child_name": PURGED,
        "age_months": "kept: an age, for counts",
        "last_seen_when": PURGED,
        "last_seen_at": A_TIME,
        "last_seen_where": PURGED,
        "description": PURGED,
        "police_called": A_WORD,
        "police_report": PURGED,
        "relationship_to_child": A_WORD,
        "callback_phone": PURGED,
        "reported_missing": A_WORD,
        "assigned_person_id": AN_ID,
        "created_at": A_TIME,
        "completed_at": A_TIME,
        "found_at": A_TIME,
        "closed_at": A_TIME,
        "cannot_text_at": A_TIME,
        "purged_at": A_TIME,
        "is_test": A_WORD,
        "last_seen_told_at": A_TIME,
        "children": PURGED,  # each child's name and age
        "police_refused": A_WORD,
    },
    "case_media": {
        "id": AN_ID,
        "case_id": AN_ID,
        "url": PURGED,  # the file itself is deleted at Twilio
        "content_type": A_WORD,
        "created_at": A_TIME,
    },
    "twilio_deletions": {
        "id": AN_ID,
        "kind": A_WORD,
        "account_sid": SID,
        "message_sid": SID,
        "sid": SID,
        "case_id": AN_ID,
        "attempts": A_WORD,
        "last_error": "kept: Twilio's error about a SID",
        "created_at": A_TIME,
    },
    "messages": {
        "id": AN_ID,
        "caller_id": AN_ID,
        "person_id": AN_ID,
        "case_id": AN_ID,
        "direction": A_WORD,
        "twilio_sid": SID,
        "body": PURGED,
        "num_media": A_WORD,
        "step": A_WORD,
        "reply_twiml": PURGED,
        "meta": PURGED,  # a staff command's or a caller's request as Twilio described it
        "created_at": A_TIME,
    },
    "outbox": {
        "id": AN_ID,
        "kind": A_WORD,
        "channel": A_WORD,
        "to_phone": PURGED,  # where it is the caregiver's; staff's numbers stay
        "template": A_WORD,
        "params": PURGED,
        "body": PURGED,
        "lang": A_WORD,
        "case_id": AN_ID,
        "caller_id": AN_ID,
        "dedupe_key": "kept: names rows and SIDs, never words",
        "send_at": A_TIME,
        "status": A_WORD,
        "attempts": A_WORD,
        "lease_until": A_TIME,
        "last_error": PURGED,  # Twilio's error words may quote the number
        "twilio_sid": SID,
        "delivery_status": A_WORD,
        "error_code": A_WORD,
        "created_at": A_TIME,
        "sent_at": A_TIME,
        "tried_at": A_TIME,
        "unsure": A_WORD,
    },
    "oncall_people": {
        "id": AN_ID,
        "name": STAFF,
        "phone": STAFF,
        "reach_by": STAFF,
        "windows": STAFF,
        "position": STAFF,
        "active": STAFF,
        "opted_out_at": STAFF,
        "created_at": A_TIME,
    },
    "alerts": {
        "id": AN_ID,
        "case_id": AN_ID,
        "reason": A_WORD,
        "status": A_WORD,
        "chain": STAFF,
        "step": A_WORD,
        "round": A_WORD,
        "plan_step": A_WORD,
        "next_check_at": A_TIME,
        "acked_by_id": AN_ID,
        "acked_at": A_TIME,
        "created_at": A_TIME,
    },
    "alert_pages": {
        "id": AN_ID,
        "alert_id": AN_ID,
        "person_id": AN_ID,
        "outbox_id": AN_ID,  # its text is purged on the outbox row
        "to_phone": STAFF,
        "channel": A_WORD,
        "created_at": A_TIME,
    },
    "escalation_log": {  # who is a roster person's id: their name is on the roster
        "id": AN_ID,
        "case_id": AN_ID,
        "alert_id": AN_ID,
        "person_id": AN_ID,
        "action": A_WORD,
        "detail": A_WORD,
        "created_at": A_TIME,
    },
    "staff_accounts": {
        "id": AN_ID,
        "email": STAFF,
        "name": STAFF,
        "password_hash": STAFF,
        "role": STAFF,
        "phone": STAFF,
        "active": STAFF,
        "failed_signins": STAFF,
        "last_failed_at": STAFF,
        "totp_secret": STAFF,
        "totp_on": STAFF,
        "totp_last_step": STAFF,
        "created_at": A_TIME,
    },
    "staff_sessions": {
        "id": "kept: a hash of a session's token",
        "staff_id": AN_ID,
        "user_agent": STAFF,
        "created_at": A_TIME,
        "last_seen_at": A_TIME,
        "expires_at": A_TIME,
        "ended_at": A_TIME,
    },
    "recovery_codes": {
        "id": AN_ID,
        "staff_id": AN_ID,
        "code_hash": STAFF,
        "used_at": A_TIME,
    },
    "signin_throttles": {  # a hash of whatever address was typed, never the address
        "id": AN_ID,
        "address_hash": STAFF,
        "source": STAFF,
        "failures": A_WORD,
        "last_checked_at": A_TIME,
    },
    "case_notes": {  # the rows are deleted: a note may name the child
        "id": PURGED,
        "case_id": PURGED,
        "staff_id": PURGED,
        "body": PURGED,
        "created_at": PURGED,
    },
    "audit_log": {
        "id": AN_ID,
        "staff_id": AN_ID,
        "action": A_WORD,
        "case_id": AN_ID,
        "detail": PURGED,
        "created_at": A_TIME,
    },
}


# What a purge empties on the case row itself: its PURGED columns, read from the one list.
CASE_ANSWERS = tuple(name for name, rule in COLUMNS["cases"].items() if rule == PURGED)


def undeclared(metadata) -> list[str]:
    """Every table.column of `metadata` without a rule in COLUMNS, and every rule whose
    column is gone: a new place for personal data must say whether the purge empties it."""
    have = {f"{t.name}.{c.name}" for t in metadata.tables.values() for c in t.columns}
    have.discard("alembic_version.version_num")
    declared = {f"{table}.{column}" for table, columns in COLUMNS.items() for column in columns}
    return sorted(have ^ declared)
