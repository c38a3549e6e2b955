"""The domain's plain types (StrEnums, the escalation plan's steps): no I/O, no imports of ours."""
