"""The patient's reference in the clinic's system, kept only as a keyed hash.

The clinic's schedule names a patient by its own reference (a record number, a FHIR
``Patient/<id>``). The bot needs to recognise the same patient in the next import, never to
read the reference back, so it keeps HMAC-SHA256(secret, source NUL reference) in hex: equal
references of one source give equal keys, and without the secret (a settings value, never in
the database or a log) a key cannot be turned back or tried against guessed record numbers.

The reference is read trimmed and in Unicode NFC; a FHIR ``Patient/`` prefix is dropped, so a
FHIR feed and a CSV export of the same system name a patient alike. Changing the secret
changes every key: the wiring must re-key (or re-link) visits when it is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

__all__ = ["MIN_SECRET_BYTES", "PatientKeyer", "normalize_reference"]

MIN_SECRET_BYTES = 32
"""A key as long as the hash (RFC 2104 recommends at least its output length)."""


def normalize_reference(reference: str) -> str:
    """The reference as hashed: trimmed, NFC, without a FHIR ``Patient/`` prefix."""
    text = unicodedata.normalize("NFC", reference.strip())
    if text.startswith("Patient/"):
        text = text.removeprefix("Patient/").strip()
    return text


class PatientKeyer:
    """Keys patient references with one secret (``INTAKE_PATIENT_KEY`` in the settings)."""

    __slots__ = ("__secret",)

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(f"the patient key secret must be at least {MIN_SECRET_BYTES} bytes")
        self.__secret = raw

    def __repr__(self) -> str:
        return "PatientKeyer(secret=**********)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a PatientKeyer is not pickled: its secret stays in the process")

    def key(self, source: str, reference: str) -> str:
        """The hex key of ``reference`` in ``source`` (ValueError for an empty reference or a
        source with a NUL, which would make two pairs hash alike)."""
        text = normalize_reference(reference)
        if not text:
            raise ValueError("an empty patient reference has no key")
        if "\x00" in source:
            raise ValueError("a source name has no NUL character")
        message = source.encode("utf-8") + b"\x00" + text.encode("utf-8")
        return hmac.new(self.__secret, message, hashlib.sha256).hexdigest()

    def matches(self, key: str, source: str, reference: str) -> bool:
        """Whether ``key`` is the key of ``reference`` in ``source``, compared in constant time."""
        try:
            expected = self.key(source, reference)
        except ValueError:
            return False
        return hmac.compare_digest(expected.encode("ascii"), key.encode("utf-8", "replace"))
