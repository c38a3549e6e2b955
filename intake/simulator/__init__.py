"""The phone the simulator page plays: texts and calls through the signed webhooks."""
