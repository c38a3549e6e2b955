"""Waking people: the roster, the escalation plan walked, paging, the office's hours."""
