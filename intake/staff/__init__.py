"""What staff do: commands by text, taking a case, relays, opting out, accounts, the case file."""
