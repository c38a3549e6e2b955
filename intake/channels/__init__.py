"""The adapters: a webhook in, a typed input for the one turn, TwiML out (SMS and voice)."""
