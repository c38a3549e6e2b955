"""The `intake` command and its subcommands (run, worker, db, oncall, staff, check, simulate)."""
