"""WSGI entry point: `flask --app app run`, `gunicorn app:app`."""
from loyalty_app import create_app

app = create_app()
