"""The one WSGI entry: gunicorn wsgi:app"""

from intake import startup
from intake.app import create_app

app = create_app()
startup.announce(app.extensions["intake"])  # logs what would let a case fall through
