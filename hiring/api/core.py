"""The API's plumbing: the blueprint, bearer-token authentication, the endpoint registry
(which parses requests with pydantic and builds the OpenAPI document), and errors.

Every answer, including a failure, is JSON; every error has the same shape:
``{"error": {"code": ..., "message": ..., "fields": {...}}}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

from .. import security, services, settings
from ..extensions import db
from ..models import ApiToken, User, utcnow
from ..pipeline import DomainError
from . import schemas

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
# last_used_at is written at most this often per token, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def now() -> datetime:
    """The API's clock (tests move it)."""
    return utcnow()


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


def error_response(status: int, code: str, message: str, fields: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    body = schemas.ErrorResponse(error=schemas.ErrorDetail(code=code, message=message, fields=dict(fields or {})))
    response = Response(body.model_dump_json(), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status=status, mimetype="application/json")


# --- domain errors → HTTP ----------------------------------------------------------------------

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "not_ready",
}


def from_domain(exc: DomainError, field_names: Mapping[str, str] | None = None) -> ApiError:
    fields = {}
    for name, message in getattr(exc, "fields", {}).items():
        fields[(field_names or {}).get(name, name)] = message
    return ApiError(exc.http_status, exc.code, str(exc), fields)  # each class carries its status


# --- authentication ------------------------------------------------------------------------------


@cache
def _token_statement():
    """Built once: the token with its user, and the settings rows along (scalar subqueries,
    as the session check reads them: every request needs the policy, and one statement
    costs less than two)."""
    return (select(ApiToken, User, *settings.stored_values()).join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == bindparam("token_hash")))


def authenticate() -> User:
    """The token's user, or 401. The token acts with its user's role."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    challenge = {"WWW-Authenticate": 'Bearer realm="hiring"'}
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(401, "unauthorized", "Send an API token: Authorization: Bearer <token>.", headers=challenge)
    row = db.session.execute(_token_statement(), {"token_hash": services.hash_token(secret)}).first()
    if row is None or row.ApiToken.revoked_at is not None or not row.User.active:
        # Guessing tokens is throttled per client address like the login (hiring.security);
        # only failures pay for it: a valid token is never refused.
        address = security.client_address()
        if (refusal := security.check_throttle(address=address)) is not None:
            raise ApiError(429, "too_many_requests",
                           f"Too many requests with a wrong API token from your address. "
                           f"Try again in {security.duration(refusal.retry_after)}.",
                           headers={"Retry-After": str(refusal.retry_after)})
        security.count_failure(address=address)
        raise ApiError(401, "unauthorized", "This API token is unknown, revoked, or its user is deactivated.",
                       headers={**challenge, "WWW-Authenticate": 'Bearer realm="hiring", error="invalid_token"'})
    token, user = row.ApiToken, row.User
    settings.remember_stored(row[2:])
    moment = now()
    if token.last_used_at is None or moment - token.last_used_at >= LAST_USED_RESOLUTION:
        # On its own short transaction: the request's session is not committed (nor expired) by it.
        with db.engine.begin() as connection:
            connection.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=moment))
        db.session.expire(token, ["last_used_at"])
    g.api_user = user
    return user


# --- request parsing ---------------------------------------------------------------------------


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def validation_fields(exc: ValidationError, prefix: tuple = ()) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = _location(prefix + tuple(error["loc"])) or "body"
        message = error["msg"]
        if error["type"] == "missing":
            message = "This field is required."
        elif error["type"] == "extra_forbidden":
            message = "Unknown field."
        fields[name] = f"{fields[name]} {message}" if name in fields else message
    return fields


def parse_body(model: type[BaseModel]) -> BaseModel:
    limit = int(current_app.config.get("API_MAX_BODY_BYTES") or 1024 * 1024)
    too_large = ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json).")
    # A chunked body has no Content-Length: read at most one byte past the limit to notice.
    chunks: list[bytes] = []
    size = 0
    while size <= limit:  # a stream may return short reads: loop until the end or past the limit
        chunk = request.stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise too_large
    raw = b"".join(chunks)
    if not raw.strip():
        raw = b"{}"  # an empty body is an empty object: every field at its default
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        top = [e for e in exc.errors(include_url=False, include_input=False) if not e["loc"]]
        if top:
            if top[0]["type"] == "json_invalid":
                raise ApiError(400, "bad_request", f"The body is not valid JSON: {top[0]['msg']}") from None
            raise ApiError(400, "bad_request", "The body must be a JSON object.") from None
        raise ApiError(422, "validation_error", "Some fields are not valid.", validation_fields(exc)) from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    names = {info.alias or name for name, info in model.model_fields.items()}  # `from` is `from_`
    known = {key: value for key, value in request.args.items() if key in names}
    try:
        return model.model_validate(known)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "Some query parameters are not valid.",
                       validation_fields(exc)) from None


# --- the endpoint registry -------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    method: str
    rule: str
    summary: str
    description: str
    tag: str
    response: type[BaseModel] | None
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    errors: tuple[int, ...]
    auth: bool
    field_names: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    produces: str | None = None  # a non-JSON success body (e.g. application/zip)

    @property
    def path(self) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.rule)


ENDPOINTS: list[Endpoint] = []


def endpoint(method: str, rule: str, *, summary: str, tag: str, response: type[BaseModel] | None,
             status: int = 200, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
             errors: tuple[int, ...] = (), auth: bool = True,
             field_names: Mapping[str, str] | None = None, location: str | None = None,
             produces: str | None = None, read_only: bool | None = None) -> Callable:
    """Register a view: authenticate, parse body and query, call it, serialise its result.

    The view receives ``user`` (when ``auth``), its path parameters, and ``body`` / ``query``
    as validated models; it returns a model of ``response`` (or a ready Response).
    ``location`` (e.g. "/positions/{id}") gives a created resource's URL in the Location header.
    ``read_only`` (default: a GET) reads on PostgreSQL without BEGIN and COMMIT, as the pages
    marked ``views.read_only`` do (hiring.web); a GET that writes (the audited export) says False.
    """

    def decorator(func: Callable) -> Callable:
        spec = Endpoint(name=func.__name__, method=method, rule=rule, summary=summary,
                        description=(func.__doc__ or "").strip(), tag=tag, response=response, status=status,
                        body=body, query=query, errors=errors, auth=auth, field_names=dict(field_names or {}),
                        location=location, produces=produces)

        def view(**path_args: Any) -> Response:
            kwargs: dict[str, Any] = dict(path_args)
            if spec.auth:
                kwargs["user"] = authenticate()
            if spec.body is not None:
                kwargs["body"] = parse_body(spec.body)
            if spec.query is not None:
                kwargs["query"] = parse_query(spec.query)
            try:
                result = func(**kwargs)
            except DomainError as exc:
                raise from_domain(exc, spec.field_names) from None
            if isinstance(result, Response):
                return result
            response = json_response(result, spec.status)
            if spec.location:
                response.headers["Location"] = PREFIX + spec.location.format(id=result.id)
            return response

        view.__name__ = func.__name__
        view.__doc__ = func.__doc__
        if (method == "GET") if read_only is None else read_only:
            view._hiring_read_only = True  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=func.__name__, view_func=view, methods=[method])
        ENDPOINTS.append(spec)
        return func

    return decorator


# --- the OpenAPI document ---------------------------------------------------------------------

BODY_ERRORS = (400, 413, 415, 422)
ERROR_TEXT = {
    400: "Malformed JSON, or the body is not a JSON object.",
    401: "No API token, or an unknown or revoked one.",
    403: "The token's user may not do this.",
    404: "No such resource (or not visible to you).",
    409: "Not possible in the current stage, a stale version, or a duplicate.",
    413: "The body is larger than the limit (1 MB by default).",
    415: "The body is not JSON.",
    422: "Validation failed; `fields` names each bad field.",
    429: "Too many requests with a wrong token from this address; wait `Retry-After` seconds.",
    503: "Not ready yet (the reports' figures are being prepared); try again after `Retry-After` seconds.",
}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Query parameters are absent rather than null: drop the null branch and default."""
    any_of = schema.get("anyOf")
    if any_of and {"type": "null"} in any_of:
        rest = [s for s in any_of if s != {"type": "null"}]
        schema = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        schema.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
    return schema


def openapi_document(company: str = "embeddeers") -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = [(schemas.ErrorResponse, "serialization")]
    for spec in ENDPOINTS:
        if spec.body is not None:
            models.append((spec.body, "validation"))
        if spec.query is not None:
            models.append((spec.query, "validation"))
        if spec.response is not None:
            models.append((spec.response, "serialization"))
    models = list(dict.fromkeys(models))
    refs, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    components = definitions.get("$defs", {})
    error_ref = refs[(schemas.ErrorResponse, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for spec in ENDPOINTS:
        operation: dict[str, Any] = {
            "operationId": spec.name,
            "summary": spec.summary,
            "tags": [spec.tag],
            "responses": {},
        }
        if spec.description:
            operation["description"] = spec.description
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": schemas.ID_MAX}}
            for name in spec.path_params
        ]
        if spec.query is not None:
            query_schema = components.pop(spec.query.__name__)
            required = set(query_schema.get("required", []))
            for name, prop in query_schema["properties"].items():
                prop = _without_null(dict(prop))
                parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if "description" in prop:
                    parameter["description"] = prop["description"]
                parameters.append(parameter)
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            body_required = any(f.is_required() for f in spec.body.model_fields.values())
            operation["requestBody"] = {
                "required": body_required,
                "content": {"application/json": {"schema": refs[(spec.body, "validation")]}},
            }
        success: dict[str, Any] = {"description": {200: "OK", 201: "Created", 204: "No content"}.get(spec.status, "OK")}
        if spec.produces:
            success["content"] = {spec.produces: {"schema": {"type": "string", "format": "binary"}}}
        if spec.response is not None:
            success["content"] = {"application/json": {"schema": refs[(spec.response, "serialization")]}}
        if spec.location:
            success["headers"] = {"Location": {"description": "The new resource's URL.",
                                               "schema": {"type": "string"}}}
        operation["responses"][str(spec.status)] = success
        codes = set(spec.errors)
        if spec.auth:
            codes |= {401, 429}
            operation["security"] = [{"bearerAuth": []}]
        else:
            operation["security"] = []
        if spec.body is not None:
            codes |= set(BODY_ERRORS)
        if spec.query is not None:
            codes |= {422}
        if spec.path_params:
            codes |= {404}
        for code in sorted(codes):
            operation["responses"][str(code)] = {
                "description": ERROR_TEXT[code],
                "content": {"application/json": {"schema": error_ref}},
            }
        paths.setdefault(PREFIX + spec.path, {})[spec.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{company} hiring pipeline API",
            "version": "1.0.0",
            "description": "Positions, applications and the hiring process, for careers sites, HR systems and "
                           "scripts. Authenticate with `Authorization: Bearer <token>` (create one with "
                           "`flask --app app tokens create EMAIL`); a token acts with its user's role.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


# --- error handlers -----------------------------------------------------------------------------


def _handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _handle_domain_error(exc: DomainError) -> Response:
    db.session.rollback()
    return _handle_api_error(from_domain(exc))


def _handle_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    message = exc.description or exc.name
    if status == 413:
        limit = current_app.config.get("API_MAX_BODY_BYTES")
        message = f"The request body is larger than {limit} bytes."
    return error_response(status, HTTP_CODES.get(status, "http_error"), message, headers=headers)


def _handle_database_error(exc: DBAPIError) -> Response:
    db.session.rollback()
    if isinstance(exc, IntegrityError):
        # A race the services' checks could not see (two requests creating the same thing).
        return error_response(409, "conflict", "This clashes with data saved in the meantime; reload and retry.")
    current_app.logger.exception("database error in the API")
    return error_response(500, "internal_error", "The database refused the request; it was not saved.")


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _handle_http_error(exc)
    db.session.rollback()
    current_app.logger.exception("unexpected error in the API")
    return error_response(500, "internal_error", "Something went wrong on our side; nothing was changed.")


def register_error_handlers() -> None:
    bp.register_error_handler(ApiError, _handle_api_error)
    bp.register_error_handler(DomainError, _handle_domain_error)
    bp.register_error_handler(DBAPIError, _handle_database_error)
    # By code as well as by class: an app-wide HTML handler for a code would otherwise win.
    for code in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429):
        bp.register_error_handler(code, _handle_http_error)
    bp.register_error_handler(HTTPException, _handle_http_error)
    bp.register_error_handler(500, _handle_unexpected)
    bp.register_error_handler(Exception, _handle_unexpected)


@bp.after_request
def _no_caching(response: Response) -> Response:
    # Candidate data must not stay in shared caches or proxies.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def routing_errors_as_json() -> Response | None:
    """404 and 405 under the API prefix are raised while routing, before any blueprint
    handler can see them; answer them in JSON here instead."""
    exc = request.routing_exception
    if exc is None or isinstance(exc, RequestRedirect):
        return None
    if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
        return None
    if isinstance(exc, HTTPException):
        return _handle_http_error(exc)
    return None
