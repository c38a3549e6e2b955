"""The after-hours missing-child intake line: the service around the flows."""
