"""Invite codes (pure): making them, hashing them, and the deep link that carries one.

A code is the payload of a Telegram deep link (``https://t.me/<bot>?start=<code>``), which
Telegram limits to 64 characters of ``[A-Za-z0-9_-]``. It is made of 24 random bytes (192
bits) in URL-safe base64: 32 characters. Only its SHA-256 is stored, so a copy of the database
cannot be turned into working links.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

from bot.domain.refusals import LabelProblem

__all__ = [
    "CODE_BYTES",
    "LABEL_MAX",
    "InvalidLabel",
    "InvalidUsername",
    "clean_label",
    "code_hash",
    "deep_link",
    "hashes_match",
    "is_code_shaped",
    "new_code",
]

CODE_BYTES = 24
"""Random bytes per code: 192 bits, well over the 128 an unguessable link needs."""
LABEL_MAX = 32

# What Telegram accepts as a /start payload.
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Telegram usernames: 5-32 letters, digits and underscores.
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]")


class InvalidLabel(ValueError):
    """A label that is empty, a question, too long or holds control or format characters;
    `code` says which (``label_empty``, ``label_question``, ``label_too_long``,
    ``label_control``)."""

    def __init__(self, code: LabelProblem) -> None:
        super().__init__(code)
        self.code = code


class InvalidUsername(ValueError):
    pass


def new_code() -> str:
    code = secrets.token_urlsafe(CODE_BYTES)
    if not is_code_shaped(code):  # token_urlsafe is exactly this alphabet, without padding
        raise AssertionError("token_urlsafe produced a code a deep link cannot carry")
    return code


def is_code_shaped(code: str) -> bool:
    """Whether `code` could be a /start payload at all (anything else is not looked up)."""
    return _PAYLOAD.fullmatch(code) is not None


def code_hash(code: str) -> str:
    """The stored form of a code: SHA-256, as 64 hex digits."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def hashes_match(stored: str, candidate: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode("ascii"), candidate.encode("ascii"))


def deep_link(bot_username: str, code: str) -> str:
    """``https://t.me/<bot>?start=<code>``; the username may be given with its ``@``."""
    username = bot_username.strip().removeprefix("@")
    if _USERNAME.fullmatch(username) is None:
        raise InvalidUsername("not a Telegram bot username")
    if not is_code_shaped(code):
        raise ValueError("a deep link payload is 1-64 characters of A-Z a-z 0-9 _ -")
    return f"https://t.me/{username}?start={code}"


def looks_like_a_question(text: str) -> bool:
    """Whether `text` asks something: it starts with "¿" or ends with "?" (before any "!" or
    "."): "what's a label?", "¿qué pongo aquí?", "J.D.?"."""
    stripped = text.strip()
    return stripped.startswith("¿") or stripped.rstrip("!.… ").endswith(("?", "？"))


def clean_label(raw: str) -> str:
    """The label staff give an invite (initials, a chart number): stripped, 1-32 characters,
    no control or format characters (line breaks, bidi overrides, zero-width characters), and
    not a question (typed at the label's step, "what's a label?" is asked, not the label: it
    is answered, and a label never needs a question mark at its start or end)."""
    label = raw.strip()
    if not label:
        raise InvalidLabel(LabelProblem.EMPTY)
    if looks_like_a_question(label):
        raise InvalidLabel(LabelProblem.QUESTION)
    if len(label) > LABEL_MAX:
        raise InvalidLabel(LabelProblem.TOO_LONG)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in label):
        raise InvalidLabel(LabelProblem.CONTROL)
    return label
