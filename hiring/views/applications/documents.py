"""The application's documents: upload (through the service) and download."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from ... import services
from ...extensions import db
from ...models import Document
from ...pipeline import Action, Step
from . import bp
from .actions import posted
from .loading import load, require
from .routes import handle


@bp.post("/<int:application_id>/documents")
@login_required
def upload_document(application_id: int):
    application = load(application_id)
    require(Action.MANAGE_APPLICATIONS)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        # Refuse before parsing: nothing is spooled to disk for a file we will not keep.
        raise RequestEntityTooLarge()
    form = posted(Step.UPLOAD_DOCUMENT)

    def action(f):
        upload = f.document.data
        services.add_document(application, filename=upload.filename or "document",
                              data=upload.read(services.MAX_DOCUMENT_BYTES + 1), actor=current_user)

    return handle(application, form, action, success="Document uploaded.", anchor="documents")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """An upload past the request limit: say so on the page instead of a bare 413."""
    application_id = (request.view_args or {}).get("application_id")
    flash("The file is too large: documents can be at most 10 MB.", "error")
    if application_id is None:
        return "The upload is too large (at most 10 MB).", 413
    return redirect(url_for("applications.detail", application_id=application_id, _anchor="documents"))


@bp.get("/<int:application_id>/documents/<int:document_id>")
@login_required
def download_document(application_id: int, document_id: int):
    application = load(application_id)  # 404 for anyone who may not see the application
    document = db.session.get(Document, document_id)
    if document is None or document.application_id != application.id:
        abort(404)
    path = services.document_path(document)
    if not path.is_file():
        current_app.logger.error("document %s is missing its file %s", document.id, path)
        abort(404)
    response = send_file(path, mimetype=document.content_type, as_attachment=True,
                         download_name=document.filename, conditional=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
