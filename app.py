"""Entry point: `flask --app app …` and `gunicorn app:app`."""

import gc

from hiring import create_app

app = create_app()
# What importing and building the app made (modules, routes, compiled statements) lives as
# long as the worker: kept out of the collector, a full collection no longer walks those
# ~160,000 objects (≈80 ms, once every few dozen requests of a page that loads many ORM
# objects, such as the API's lists).
gc.freeze()
