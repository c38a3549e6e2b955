"""Flask blueprints: thin, parse the request, call a service function, render."""
