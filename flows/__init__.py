"""The line's scripted conversations: pure Python, no Flask, no database, no Twilio."""
