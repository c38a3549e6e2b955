"""The one turn every channel takes: resume, run the flow, apply its events, save."""
