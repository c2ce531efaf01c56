"""Entry point: `flask --app app …` and `gunicorn app:app`."""

from hiring import create_app

app = create_app()
