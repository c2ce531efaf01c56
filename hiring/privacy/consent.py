"""Talent-pool consent (given, withdrawn by a signed link, renewed, expired) and the talent
pool itself: tags and invitations to apply."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import BindParameter, Select, String, cast, event, inspect, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from ..extensions import db
from ..models import (
    Application,
    Candidate,
    Position,
    TagCount,
    User,
)
from ..pipeline import InvalidInput, Role, Source
from ..queries import SEARCH_COUNT_LIMIT, candidate_matches, count_candidate_matches, like_pattern
from ..services import submit_application
from ..services.core import Conflict, audit, transaction
from ..services.core import resolve_now as clock
from ..settings import get_policy
from .common import (
    CONSENT_SOURCES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    RENEWAL_DAYS,
    WITHDRAWAL_SALT,
    add_months,
    consent_valid,
    require_role,
)

# --- talent-pool consent ---------------------------------------------------------------------


def give_consent(candidate: Candidate, *, source: str, actor: User | None, now: datetime | None = None) -> Candidate:
    """Record (or renew) talent-pool consent: when, how, and until when."""
    require_role(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    if source not in CONSENT_SOURCES:
        raise InvalidInput("The consent could not be recorded.", {"source": "Choose how the candidate agreed."})
    if candidate.anonymised_at is not None:
        raise Conflict("This candidate has been anonymised.")
    with transaction():
        candidate.talent_pool_consent = True
        candidate.talent_pool_consent_at = now
        candidate.talent_pool_consent_source = CONSENT_SOURCES[source]
        candidate.talent_pool_expires_at = add_months(now, get_policy().talent_pool_months)
        candidate.talent_pool_renewal_sent_at = None
        audit("talent_pool_consent_given", now, actor, candidate_id=candidate.id, source=source,
              expires_at=candidate.talent_pool_expires_at)
    return candidate


def withdraw_consent(candidate: Candidate, *, via: str, actor: User | None = None,
                     now: datetime | None = None) -> bool:
    """The candidate no longer wants to be in the talent pool (the link in every email, or
    the team on their behalf). False when there was nothing to withdraw."""
    now = clock(now)
    if not candidate.talent_pool_consent:
        return False
    with transaction():
        candidate.talent_pool_consent = False
        candidate.talent_pool_expires_at = now
        audit("talent_pool_consent_withdrawn", now, actor, candidate_id=candidate.id, via=via)
    return True


def expire_consents(now: datetime) -> int:
    """Consents past their date end (the candidate then falls under retention again)."""
    expired = db.session.scalars(select(Candidate).where(
        Candidate.talent_pool_consent.is_(True), Candidate.talent_pool_expires_at <= now)).all()
    if not expired:
        return 0
    with transaction():
        for candidate in expired:
            candidate.talent_pool_consent = False
            audit("talent_pool_consent_expired", now, None, candidate_id=candidate.id)
    return len(expired)


def withdrawal_token(candidate: Candidate) -> str:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=WITHDRAWAL_SALT).dumps(
        {"c": candidate.id, "e": candidate.email})


def withdrawal_max_age() -> int:
    return int(current_app.config.get("PRIVACY_LINK_MAX_AGE") or 90 * 86400)


def candidate_from_token(token: str) -> Candidate | None:
    """The candidate a withdrawal link names, or None (forged, expired, or erased since)."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=WITHDRAWAL_SALT)
    try:
        payload = serializer.loads(token, max_age=withdrawal_max_age())
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict):
        return None
    candidate = db.session.get(Candidate, payload.get("c"))
    if candidate is None or candidate.email != payload.get("e") or candidate.anonymised_at is not None:
        return None
    return candidate


def footer_context(candidate: Candidate) -> dict[str, str]:
    """What every candidate email's footer links to: the privacy notice and the signed,
    expiring link to leave the talent pool (worded for whether they are in it: a candidate
    who never agreed would ask "what consent?")."""
    from ..notifications import absolute_url

    return {
        "privacy_url": current_app.config.get("PRIVACY_URL") or absolute_url("/privacy"),
        "withdraw_url": absolute_url(f"/privacy/talent-pool/{withdrawal_token(candidate)}"),
        "in_talent_pool": bool(candidate.talent_pool_consent) and candidate.anonymised_at is None,
    }


def send_consent_renewals(now: datetime) -> dict[str, int]:
    """The daily `consent-renewals` job: ask candidates to renew 30 days before their consent
    expires, once per expiry date."""
    from .. import notifications as notify

    due = db.session.scalars(select(Candidate).where(
        Candidate.talent_pool_consent.is_(True), Candidate.anonymised_at.is_(None),
        Candidate.talent_pool_expires_at > now,
        Candidate.talent_pool_expires_at <= now + timedelta(days=RENEWAL_DAYS),
        # Reset when the consent is given again, so once per expiry date.
        Candidate.talent_pool_renewal_sent_at.is_(None),
    ).order_by(Candidate.id)).all()
    sent = 0
    for candidate in due:
        with transaction():
            email = notify.queue_email(
                template="talent_pool_renewal", recipient=candidate.email,
                idempotency_key=f"talent-pool-renewal:{candidate.id}:{candidate.talent_pool_expires_at.date()}",
                context={"candidate": candidate, "expires_at": candidate.talent_pool_expires_at,
                         **footer_context(candidate)},
                lang=candidate.language, to_candidate=True, now=now)
            candidate.talent_pool_renewal_sent_at = now
            audit("talent_pool_renewal_requested", now, None, candidate_id=candidate.id)
        sent += email is not None
    return {"renewal_requests": sent}


@event.listens_for(Session, "before_flush")
def _date_new_consents(session: Session, flush_context: Any, instances: Any) -> None:
    """Consent ticked on the application form (hiring.services, the API) arrives as the bare
    flag: give it its date, how, and expiry — the application's time, so ``now`` holds."""
    for candidate in [o for o in (*session.new, *session.dirty) if isinstance(o, Candidate)]:
        if not candidate.talent_pool_consent or candidate.anonymised_at is not None:
            continue
        state = inspect(candidate)
        # Undated, or switched on again (a new application after the old consent ended)
        # by code that did not date it (give_consent dates it itself).
        switched_on = state.attrs.talent_pool_consent.history.has_changes() \
            and not state.attrs.talent_pool_consent_at.history.has_changes()
        if candidate.talent_pool_consent_at is not None and not switched_on:
            continue
        when = next((a.created_at for a in session.new if isinstance(a, Application) and a.candidate is candidate
                     and a.created_at is not None), None) or candidate.created_at
        if when is None:
            continue
        with session.no_autoflush:
            months = get_policy().talent_pool_months
        candidate.talent_pool_consent_at = when
        candidate.talent_pool_consent_source = CONSENT_SOURCES["application_form"]
        candidate.talent_pool_expires_at = add_months(when, months)
        candidate.talent_pool_renewal_sent_at = None


# --- talent pool: tags and invitations -------------------------------------------------------


def clean_tags(raw: str | list[str]) -> list[str]:
    values = raw.split(",") if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for value in values:
        tag = re.sub(r"\s+", " ", str(value)).strip().lower()
        if tag and tag not in tags:
            tags.append(tag)
    errors = {}
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"At most {MAX_TAGS} tags."
    elif any(len(t) > MAX_TAG_LENGTH for t in tags):
        errors["tags"] = f"A tag has at most {MAX_TAG_LENGTH} characters."
    elif any(not t.isprintable() for t in tags):
        errors["tags"] = "Tags cannot contain control characters."
    if errors:
        raise InvalidInput("The tags could not be saved.", errors)
    return tags


def set_tags(candidate: Candidate, tags: str | list[str], *, actor: User | None,
             now: datetime | None = None) -> Candidate:
    require_role(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    cleaned = clean_tags(tags)
    with transaction():
        candidate.tags = cleaned
        audit("candidate_tagged", now, actor, candidate_id=candidate.id, tags=len(cleaned))
    return candidate


# The tags in use, from the counts the triggers keep (it read every tagged candidate's
# list and decoded it: 20 ms a page with 5,000 tagged candidates). Built once.
_TAGS_IN_USE = select(TagCount.tag).where(TagCount.count > 0).order_by(TagCount.tag)


def known_tags() -> list[str]:
    """Every tag in use, for the suggestions as one types."""
    return list(db.session.scalars(_TAGS_IN_USE))


def talent_pool(now: datetime, *, search: str = "", tag: str = "", position_id: int | None = None,
                limit: int = 500, offset: int = 0) -> list[Candidate]:
    """The consented candidates, filtered by name/email, tag and positions applied for,
    in name order: ``limit`` of them from ``offset`` (see ``talent_pool_query``)."""
    return list(db.session.scalars(talent_pool_query(now, search=search, tag=tag, position_id=position_id,
                                                     limit=limit, offset=offset)))


def talent_pool_query(now: datetime | BindParameter, *, search: str = "", tag: str = "",
                      position_id: int | None = None, limit: int | BindParameter = 500,
                      offset: int | BindParameter = 0, columns: tuple[Any, ...] = ()) -> Select:
    """The statement of ``talent_pool``: of Candidate objects, or of ``columns`` (of
    Candidate; the talent pool page selects what it shows, as a subquery of its statement).
    ``now``, ``limit`` and ``offset`` may be bound parameters, for a statement built once.

    The unfiltered pool walks the name index and stops after the page. Each filter instead
    names the few candidates it can find through an index, which are then sorted: walking
    the name index and testing each of the 275,000 consented candidates (at 1M
    applications) took 2-3.5 s on SQLite for a position, a tag or a name with few matches.
    """
    query = select(*columns) if columns else select(Candidate)
    query = query.where(Candidate.talent_pool_consent.is_(True), Candidate.anonymised_at.is_(None),
                                    or_(Candidate.talent_pool_expires_at.is_(None),
                                        Candidate.talent_pool_expires_at > now))
    order = (Candidate.name, Candidate.id)
    if search.strip():
        # The candidate search's condition (the trigram index from three characters on);
        # for a common name, the count up to the limit says to walk the name index instead.
        # The walk goes over a second reference to the table, in its order: on PostgreSQL it
        # then reads ix_candidate_name_id_email alone and only the matches' rows for the
        # consent (10 ms instead of 200 ms for "schmidt" at 1M).
        many = count_candidate_matches(search.strip(), limit=SEARCH_COUNT_LIMIT + 1) > SEARCH_COUNT_LIMIT
        match = aliased(Candidate)
        query = query.join(match, match.id == Candidate.id).where(
            candidate_matches(search.strip(), many=many, on=match))
        order = (match.name, match.id)
    if position_id:
        # The position's applicants through ix_application_position_stage; as a correlated
        # EXISTS per candidate it read the whole name index.
        query = query.where(Candidate.id.in_(select(Application.candidate_id)
                                             .where(Application.position_id == position_id)))
    if tag.strip():
        # The list as stored (json.dumps: ["a", "b"]), searched for the quoted tag among the
        # tagged candidates of the partial index ix_candidate_tagged ('[]' written into the
        # statement, not bound: only then may SQLite use that partial index).
        quoted = json.dumps(tag.strip().lower())
        tagged = select(Candidate.id).where(Candidate.anonymised_at.is_(None),
                                            cast(Candidate.tags, String) != literal_column("'[]'"),
                                            cast(Candidate.tags, String).like(like_pattern(quoted), escape="\\"))
        query = query.where(Candidate.id.in_(tagged))
    return query.order_by(*order).limit(limit).offset(offset)


def invite_to_apply(candidate: Candidate, position: Position, *, actor: User | None,
                    now: datetime | None = None) -> Application:
    """Invite a talent-pool candidate: a new application for ``position`` (source: talent
    pool) and the usual "application received" email with the promised date."""
    require_role(actor, Role.ADMIN, Role.RECRUITER)
    now = clock(now)
    if not consent_valid(candidate, now) or candidate.anonymised_at is not None:
        raise InvalidInput("Only candidates in the talent pool can be invited.",
                           {"candidate": "Not in the talent pool (no valid consent)."})
    return submit_application(position, name=candidate.name, email=candidate.email, phone=candidate.phone,
                              language=candidate.language, actor=actor, now=now, source=Source.TALENT_POOL)
