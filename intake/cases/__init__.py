"""A case's life: opened, found, closed; the follow-ups, the card, retention of its data."""
