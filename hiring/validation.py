"""Rules for text, addresses, numbers, dates and passwords that come in from people.

One place for the forms (hiring.forms), the API's schemas (hiring.api.schemas) and the
services (which the CLI and the jobs reach directly): each asks the same functions here,
so a value one of them refuses is refused by all. Pure Python, no Flask.
"""

from __future__ import annotations

import gzip
import re
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources

from email_validator import EmailNotValidError, validate_email

# --- text -------------------------------------------------------------------------------------
# A single-line field (a name, a title, a subject's parts) may hold no control character at
# all: a CR or LF in a title became a header break in the emails (a spoofed "Bcc:" line, or a
# relay that refused the message), a tab or an escape is never meant. C0 (U+0000–U+001F), DEL,
# C1 (U+0080–U+009F) and the Unicode line and paragraph separators are refused. A multi-line
# field (notes, rationale, summaries) keeps line breaks (LF, CRLF) and tabs, nothing else.
_SINGLE_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MULTI_LINE_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]|\r(?!\n)")

SINGLE_LINE_MESSAGE = "Use a single line without control characters (no line breaks or tabs)."
MULTI_LINE_MESSAGE = "Remove the control characters (only line breaks and tabs are allowed)."


def single_line_error(value: str | None) -> str | None:
    """The message for a single-line value with a control character, else None."""
    return SINGLE_LINE_MESSAGE if value and _SINGLE_LINE_BAD.search(value) else None


def multi_line_error(value: str | None) -> str | None:
    """The message for a multi-line value with a control character other than LF, CRLF and tab."""
    return MULTI_LINE_MESSAGE if value and _MULTI_LINE_BAD.search(value) else None


def one_line(value: str) -> str:
    """``value`` with every run of control characters and whitespace made one space: for an
    email header built from text stored before these rules (the relay never sends a break)."""
    return " ".join(_SINGLE_LINE_BAD.sub(" ", value).split())


# --- email addresses ------------------------------------------------------------------------
# The relay speaks plain SMTP through Flask-Mail, which cannot send to an address with
# non-ASCII characters before the @ (that needs SMTPUTF8 end to end). Such an address is
# refused where it is typed, with a message saying so; an internationalised domain
# (jurgen@exämple.com) is fine: it is sent to its ASCII form (xn--…).
NON_ASCII_LOCAL_PART = ("Addresses with non-ASCII characters before the @ (such as ü or é) cannot be delivered "
                        "by our mail server. Ask for another address.")


class BadAddress(ValueError):
    """An email address we cannot send to; the message says why, for a person."""


def _checked(value: str):
    value = (value or "").strip()
    if not value:
        raise BadAddress("Enter an email address.")
    if single_line_error(value):
        raise BadAddress("An email address is one line without control characters.")
    try:
        return validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        if "before the @-sign are not supported" in str(exc):
            raise BadAddress(NON_ASCII_LOCAL_PART) from None
        raise BadAddress(str(exc)) from None


def normalise_email(value: str | None) -> str:
    """The address as we store it (lower case, normalised domain), or BadAddress."""
    return _checked(value or "").normalized.lower()


def smtp_address(value: str) -> str:
    """The address in the form an SMTP envelope carries (ASCII domain), or BadAddress."""
    return _checked(value).ascii_email


# --- numbers and dates ------------------------------------------------------------------------

DB_INT_MAX = 2**31 - 1  # ids, versions and the like are PostgreSQL integer columns
# Dates outside this window are typing mistakes, and far-away years overflow date arithmetic
# (the API's bounds, the forms' and the services'; emails never promise the year 9999).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
DATE_RANGE_MESSAGE = "Choose a date between 1970 and 2099."


def date_in_range(value: date | datetime) -> bool:
    if isinstance(value, datetime):
        try:
            value = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
        except (OverflowError, ValueError):
            return False
        return EARLIEST <= value < LATEST
    return EARLIEST.date() <= value < LATEST.date()


# --- passwords --------------------------------------------------------------------------------

PASSWORD_MIN_LENGTH = 12
PASSWORD_TOO_SHORT = f"Use at least {PASSWORD_MIN_LENGTH} characters."
PASSWORD_TOO_COMMON = "This password is among the most common ones; choose another."


@cache
def common_passwords() -> frozenset[str]:
    """About 20,000 of the commonest passwords, lower case (Django's list, by Royce
    Williams; see hiring/data/README.md)."""
    data = resources.files("hiring").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode().splitlines() if line.strip())


def password_error(password: str | None) -> str | None:
    """The message for a password we refuse, else None."""
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        return PASSWORD_TOO_SHORT
    if password.strip().lower() in common_passwords():
        return PASSWORD_TOO_COMMON
    return None
