"""Settings, database, crypto, migrations, logs, clock, spool, phones, the transport to Twilio."""
