"""Sending what the outbox holds, and what Twilio reports back about it."""
