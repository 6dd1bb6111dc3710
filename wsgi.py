"""WSGI entry point: gunicorn wsgi:app, flask --app wsgi ..."""

from irritants import create_app

app = create_app()
