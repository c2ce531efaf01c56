"""Two-factor sign-in (TOTP, RFC 6238) helpers: secrets, codes, QR, recovery codes.

No state changes here: the verbs in hiring.services enable, disable, reset and check
the second factor. The one-time codes come from pyotp, the QR code from segno (an SVG
rendered on the server: no script), the encryption of the stored secret from
cryptography's Fernet with a key derived from SECRET_KEY (HKDF), so a copy of the
database alone does not give away anyone's second factor. Changing SECRET_KEY makes the
stored secrets unreadable: everyone with two-factor sign-in then signs in with a recovery
code (or an admin resets their two-factor sign-in) and enrols again.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# A code of the current 30-second step, the one before or the one after (clock drift).
VALID_WINDOW = 1
RECOVERY_CODES = 10
_CODE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code as an inline SVG element (no XML declaration, no script, no style)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title="QR code for your app")


def grouped(secret: str) -> str:
    """The key for typing by hand, in groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def clean_code(value: str | None) -> str:
    """What a person typed, without the spaces and dashes apps and printouts add."""
    return re.sub(r"[\s-]", "", value or "").lower()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is (within VALID_WINDOW), or None."""
    code = clean_code(code)
    if not _CODE.match(code):
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(code, for_time=now, valid_window=VALID_WINDOW)
    except pyotp.OTPVerificationError:
        return None


def code_at(secret: str, now: datetime) -> str:
    """The current code (for tests and the CLI's own checks)."""
    return pyotp.TOTP(secret).at(now)


# --- the stored secret, encrypted at rest ---------------------------------------------------


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"hiring: TOTP secrets at rest").derive(str(current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(stored: str | None) -> str | None:
    """The secret, or None when it cannot be read (SECRET_KEY changed since enrolment)."""
    if not stored:
        return None
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        current_app.logger.warning("A stored TOTP secret cannot be decrypted: was SECRET_KEY changed?")
        return None


# --- recovery codes ---------------------------------------------------------------------------


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes of 16 base32 characters (80 bits, so an unsalted sha256 is enough), shown as
    four groups of four."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(clean_code(code).encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(clean_code(code)) == 16
