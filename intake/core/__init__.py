"""The Line's parts: tables, words, the outbox, the audit and escalation logs, webhook paths."""
