"""The Emails page: every email the product sent or tried to send, its status and error,
shown rendered, with a retry button for the ones that failed (admin and recruiters)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import BigInteger, Integer, Row, String, bindparam, select

from .. import services, timefmt
from ..extensions import db
from ..models import Application, OutboxEmail, OutboxStatusCount
from ..pipeline import Action, DomainError, OutboxStatus
from ..queries import constants
from ..web import db_int, moment
from . import ListPage, id_url_prefix, read_only, require_action

bp = Blueprint("emails", __name__, url_prefix="/emails")

PER_PAGE = 50
STATUSES = OutboxStatus.values()
STATUS_LABELS = dict(OutboxStatus.choices())
STATUS_BADGES = {OutboxStatus.QUEUED: "badge-due-soon", OutboxStatus.SENT: "badge-on-track",
                 OutboxStatus.FAILED: "badge-overdue", OutboxStatus.NOT_DELIVERED: "badge-none"}
# The email's own HTML runs in a sandboxed frame with nothing allowed but its inline styles
# and inline images: no scripts, no requests, no forms, no navigation of the page around it.
PREVIEW_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


def _email_or_404(email_id: int) -> OutboxEmail:
    email = db.session.get(OutboxEmail, email_id)
    if email is None:
        abort(404)
    return email


# The statements of the list, built once (and their cache keys with them): the values are
# bound when they run. Only the columns the list shows, as plain rows: the ORM objects
# carried each email's bodies and attachments, and building them was a third of the page.
_PAGE = (select(OutboxEmail.id, OutboxEmail.created_at, OutboxEmail.recipient, OutboxEmail.to_candidate,
                OutboxEmail.subject, OutboxEmail.status, OutboxEmail.last_error, OutboxEmail.sent_at,
                OutboxEmail.attempts)
         .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
         .limit(bindparam("page_limit", type_=Integer)).offset(bindparam("page_offset", type_=BigInteger)))
_PAGE_OF_STATUS = _PAGE.where(OutboxEmail.status == bindparam("status", type_=String))
# The per-status counts, kept up to date by the database's triggers (a COUNT over every
# email cost ~70 ms at 100k applications); they also give the total. Asked by status, so
# PostgreSQL reads them through the primary key: the triggers update these few rows once
# per email, and after a large batch in one transaction (an import, the demo generator)
# the table keeps every page its dead versions filled until a VACUUM FULL; a scan of all
# of them (16 MB for one live row at 100k applications) cost 0.5-2 ms a visit.
_COUNTS = (select(OutboxStatusCount.status, OutboxStatusCount.count)
           .where(OutboxStatusCount.status.in_(constants(STATUSES)),
                  OutboxStatusCount.count > 0))


@dataclass
class EmailPage(ListPage):
    """A page of the list, its total from the per-status counts."""

    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // PER_PAGE)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@bp.get("/")
@read_only
@require_action(Action.VIEW_EMAILS)
def index():
    status = request.args.get("status", "")
    if status not in STATUSES:
        status = ""
    number = max(1, request.args.get("page", 1, type=db_int))
    counts = dict(db.session.execute(_COUNTS).all())
    params = {"page_limit": PER_PAGE, "page_offset": (number - 1) * PER_PAGE, **({"status": status} if status else {})}
    rows = db.session.execute(_PAGE_OF_STATUS if status else _PAGE, params).all()
    page = EmailPage(rows, number, counts.get(status, 0) if status else sum(counts.values()))
    return render_template("outbox/index.html", page=page, status=status, counts=counts, statuses=STATUSES,
                           labels=STATUS_LABELS, rows=_rows(page.items),
                           mail_server=bool(current_app.config.get("MAIL_SERVER")))


def _rows(emails: list[Row]) -> Markup:
    """The table's rows, written here as the template wrote them (same bytes): a Jinja loop
    escaped and joined each value one by one, built each link with url_for and formatted
    each date through the request's moment. Here the link's pattern and the date format
    (zone, today) are worked out once per request."""
    m = moment()
    date_time = timefmt.date_time_formatter(m.policy, today=m.today)
    detail_url = id_url_prefix("emails.detail", "email_id")
    sent = OutboxStatus.SENT.value
    out = []
    for e in emails:
        who = " <small class=\"muted\">candidate</small>" if e.to_candidate else " <small class=\"muted\">team</small>"
        error = ""
        if e.last_error and e.status != sent:
            error = f'<br><small class="error-text">{escape(e.last_error)}</small>'
        sent_at = f'<br><small class="muted">{escape(date_time(e.sent_at))}</small>' if e.status == sent else ""
        out.append(f'\n  <tr>\n    <td data-label="Queued">{escape(date_time(e.created_at))}</td>'
                   f'\n    <td data-label="To">{escape(e.recipient)}{who}</td>'
                   f'\n    <td data-label="Subject"><a href="{detail_url}{e.id}">{escape(e.subject)}</a></td>'
                   f'\n    <td data-label="Status"><span class="badge {escape(STATUS_BADGES[e.status])}">'
                   f'{escape(STATUS_LABELS[e.status])}</span>\n      {error}\n      {sent_at}</td>'
                   f'\n    <td data-label="Attempts">{e.attempts}</td>\n  </tr>\n  ')
    return Markup("".join(out))


@bp.get("/<int:email_id>")
@require_action(Action.VIEW_EMAILS)
def detail(email_id: int):
    email = _email_or_404(email_id)
    application = db.session.get(Application, email.application_id) if email.application_id else None
    return render_template("outbox/detail.html", email=email, application=application, labels=STATUS_LABELS,
                           badges=STATUS_BADGES,
                           can_retry=email.status in services.RETRYABLE_STATUSES)


@bp.get("/<int:email_id>/preview")
@require_action(Action.VIEW_EMAILS)
def preview(email_id: int):
    """The email's HTML alone, for the sandboxed iframe on the detail page."""
    email = _email_or_404(email_id)
    if not email.body_html:
        abort(404)
    response = make_response(email.body_html)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/<int:email_id>/attachments/<int:index>")
@require_action(Action.VIEW_EMAILS)
def attachment(email_id: int, index: int):
    email = _email_or_404(email_id)
    attachments = email.attachments or []
    if not 0 <= index < len(attachments):
        abort(404)
    item = attachments[index]
    response = make_response(item["data"])
    response.headers["Content-Type"] = item["content_type"].split(";")[0] + "; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{item["filename"]}"'
    return response


@bp.post("/<int:email_id>/retry")
@require_action(Action.VIEW_EMAILS)
def retry(email_id: int):
    email = _email_or_404(email_id)
    try:
        services.retry_email(email, actor=current_user._get_current_object())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        if current_app.config.get("MAIL_SERVER"):
            flash(f"The email to {email.recipient} is queued again; the outbox sends it within a minute.", "success")
        else:
            flash(f"The email to {email.recipient} is queued again, but no mail server is configured "
                  "(HIRING_MAIL_SERVER): it will be marked “not delivered” again.", "warning")
    return redirect(url_for("emails.detail", email_id=email.id))
