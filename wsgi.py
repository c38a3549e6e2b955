"""The one WSGI entry: gunicorn wsgi:app"""

from intake.app import create_app

app = create_app()
