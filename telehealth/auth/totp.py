"""TOTP (RFC 6238) keys: made, encrypted for storage, shown once as a URI and QR code,
and codes checked with the time step they belong to, so a code is never accepted twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ISSUER = "Telehealth"
# One step either side: phone clocks drift, and a code typed at the end of its 30 s is late.
ALLOWED_DRIFT_STEPS = 1
CODE_DIGITS = 6
NONCE_BYTES = 12


class TotpKeyUnreadable(Exception):
    """A stored key does not decrypt: the server secret changed or the row was altered."""


@dataclass(frozen=True, slots=True)
class TotpEnrollment:
    """What a person needs to add the key to an authenticator app, shown once."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpKeyBox:
    """Encrypts TOTP keys with AES-GCM under a key derived from the server secret; the
    account id is bound in, so a key copied to another account's row does not decrypt."""

    def __init__(self, server_secret: str) -> None:
        key = hmac.new(server_secret.encode(), b"telehealth totp keys v1", hashlib.sha256)
        self._aead = AESGCM(key.digest())

    def seal(self, clinician_id: str, secret: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), clinician_id.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, clinician_id: str, stored: str) -> str:
        raw = base64.urlsafe_b64decode(stored.encode())
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], clinician_id.encode())
        except InvalidTag:
            raise TotpKeyUnreadable("the stored TOTP key does not decrypt") from None
        return plain.decode()


def new_enrollment(account_name: str) -> TotpEnrollment:
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    uri = pyotp.TOTP(secret, digits=CODE_DIGITS).provisioning_uri(
        name=account_name, issuer_name=ISSUER
    )
    return TotpEnrollment(secret=secret, otpauth_uri=uri, qr_svg=qr_code_svg(uri))


def qr_code_svg(uri: str) -> str:
    """The URI as an SVG QR code, drawn on the server (no script, no remote image)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, title="QR code"
    )
    return out.getvalue().decode()


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code `code` is (within the allowed drift), or None."""
    digits = "".join(code.split())
    if len(digits) != CODE_DIGITS or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=CODE_DIGITS)
    now_step = totp.timecode(at)
    for step in range(now_step - ALLOWED_DRIFT_STEPS, now_step + ALLOWED_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None
