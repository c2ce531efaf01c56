"""The application page: everything about one application, and the actions that fit.

Emails link to /applications/<id>, so that URL stays. Every action is a POST that goes
through a service. A bad form, a stale form or a refused step re-renders the page with
the user's input kept; success redirects back (post/redirect/get).

Where things are:
- ``loading``   the application with everything the page shows; permissions; which steps fit
- ``actions``   the table: each step pipeline.available_actions offers → its form, its slot
                in the template, the endpoint that handles it
- ``timeline``  the history: one describer per audit kind, in a table
- ``page``      rendering the page (and sending a form back with its errors)
- ``routes``    the page and its action endpoints
- ``documents`` upload and download
The people search of the panel picker is in ``hiring.queries``.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("applications", __name__, url_prefix="/applications")

from . import documents, routes  # noqa: E402,F401  (they add their views to bp)
