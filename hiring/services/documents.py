"""Candidates' documents: checked by content, stored outside the database."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from datetime import datetime
from pathlib import Path

from flask import current_app

from ..extensions import db
from ..models import (
    Application,
    Document,
    User,
)
from ..pipeline import (
    Action,
    InvalidInput,
)
from .core import (
    audit,
    require,
    resolve_now,
    touch,
    transaction,
)

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
}


def sniff_document_type(data: bytes) -> str | None:
    """The document type by content, not by name: PDF, DOC (OLE2), DOCX or ODT (zip)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # OLE2 also holds .xls, .msi and .msg files; a Word file has a WordDocument stream.
        return "doc" if "WordDocument".encode("utf-16-le") in data else None
    if data.startswith(b"PK\x03\x04"):
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "mimetype" in names and archive.read("mimetype").strip() == DOCUMENT_TYPES["odt"].encode():
                    return "odt"
                if "[Content_Types].xml" in names and any(n.startswith("word/") for n in names):
                    return "docx"
        except (zipfile.BadZipFile, OSError, KeyError, ValueError):
            return None
    return None


def add_document(application: Application, *, filename: str, data: bytes, actor: User | None,
                 now: datetime | None = None) -> Document:
    require(actor, Action.MANAGE_APPLICATIONS)
    now = resolve_now(now)
    if not data:
        raise InvalidInput("The file is empty.", {"document": "Choose a file."})
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInput("The file is too large.", {"document": "At most 10 MB."})
    kind = sniff_document_type(data)
    if kind is None:
        raise InvalidInput("Unsupported file.", {"document": "Upload a PDF, DOC, DOCX or ODT document."})
    safe_name = re.sub(r"[^\w.\- ]+", "_", Path(filename or "document").name).strip() or "document"
    stem = safe_name.rsplit(".", 1)[0] if "." in safe_name else safe_name
    safe_name = f"{stem[:200]}.{kind}"
    storage_key = uuid.uuid4().hex
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # candidates' documents: owner only
    path = folder / storage_key
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
        fh.write(data)
    try:
        with transaction():
            document = Document(application_id=application.id, filename=safe_name, content_type=DOCUMENT_TYPES[kind],
                                size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                storage_key=storage_key, uploaded_by_id=actor.id if actor else None,
                                uploaded_at=now)
            db.session.add(document)
            touch(application, now)
            db.session.flush()
            audit("document_uploaded", now, actor, application, document_id=document.id, filename=safe_name)
    except BaseException:
        path.unlink(missing_ok=True)  # no orphan file when the row did not land
        raise
    return document


def document_path(document: Document) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / document.storage_key
