"""Signed events: how the patients' answers go back to the clinic's system.

The bot POSTs a JSON event and signs it as Stripe and Cal.com sign theirs: a header

    X-Companion-Signature: t=1790000000,v1=5257a869e7ec...

where ``v1`` is hex HMAC-SHA256(secret, f"{t}.{body}") over the exact bytes of the body. The
receiver recomputes it, compares in constant time and refuses a timestamp further than the
tolerance (300 s) from its clock, so a captured request cannot be replayed later. While a
secret is rotated the header may carry several ``v1`` values (one per secret), and a
receiver may hold several secrets: any match is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SIGNATURE_HEADER",
    "SignatureError",
    "sign",
    "signature_header",
    "verify",
]

SIGNATURE_HEADER = "X-Companion-Signature"
DEFAULT_TOLERANCE_SECONDS = 300
_MAX_HEADER = 4096


class SignatureError(ValueError):
    """The signature header is malformed, too old or too new, or matches no secret."""


def _secret(secret: str | bytes) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise ValueError("an empty secret signs nothing")
    return raw


def _unix(timestamp: int | datetime) -> int:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("the timestamp must be an aware datetime")
        return int(timestamp.timestamp())
    return int(timestamp)


def sign(secret: str | bytes, timestamp: int | datetime, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{t}.{body}"`` (t in whole Unix seconds)."""
    message = str(_unix(timestamp)).encode("ascii") + b"." + body
    return hmac.new(_secret(secret), message, hashlib.sha256).hexdigest()


def signature_header(
    secrets: str | bytes | Sequence[str | bytes], timestamp: int | datetime, body: bytes
) -> str:
    """The header's value, ``t=<unix>,v1=<hex>``, one ``v1`` per secret (rotation: new first)."""
    keys = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    if not keys:
        raise ValueError("no secret to sign with")
    t = _unix(timestamp)
    return ",".join([f"t={t}", *(f"v1={sign(k, t, body)}" for k in keys)])


def _parse(header: str) -> tuple[int, list[str]]:
    if len(header) > _MAX_HEADER:
        raise SignatureError("the signature header is too long")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("the signature header is not t=...,v1=...")
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise SignatureError("the signature header's t is not one Unix time")
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value.strip().lower())
        # other schemes (v0, a future v2) are ignored, as Stripe's receivers do
    if timestamp is None or not signatures:
        raise SignatureError("the signature header lacks t or v1")
    return timestamp, signatures


def verify(
    secrets: str | bytes | Iterable[str | bytes],
    header: str,
    body: bytes,
    *,
    now: int | datetime,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check ``header`` for ``body``; the signed timestamp, or :class:`SignatureError`.

    ``now`` comes from the caller's clock (never read here). Every pair of a held secret and
    a ``v1`` value is compared in constant time, and all are compared (no early exit).
    """
    keys = [secrets] if isinstance(secrets, str | bytes) else list(secrets)
    timestamp, signatures = _parse(header)
    if abs(_unix(now) - timestamp) > tolerance:
        raise SignatureError("the signature's timestamp is outside the tolerance")
    matched = False
    for key in keys:
        expected = sign(key, timestamp, body).encode("ascii")
        for given in signatures:
            matched |= hmac.compare_digest(expected, given.encode("utf-8", "replace"))
    if not matched:
        raise SignatureError("no signature matches")
    return timestamp
