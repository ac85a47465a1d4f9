"""Invite codes, labels, deep links and QR codes: the pure parts of invites."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from bot.domain.invite_codes import (
    CODE_BYTES,
    InvalidLabel,
    InvalidUsername,
    clean_label,
    code_hash,
    deep_link,
    hashes_match,
    is_code_shaped,
    new_code,
)
from bot.services.qr import qr_png

PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def test_a_code_is_a_deep_link_payload_of_at_least_128_random_bits() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    assert CODE_BYTES * 8 >= 128
    for code in codes:
        assert PAYLOAD.fullmatch(code)
        assert len(code) <= 64
        # Every character carries 6 bits of the random bytes: nothing is padding.
        assert len(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))) == CODE_BYTES


@pytest.mark.parametrize(
    ("code", "shaped"),
    [
        ("abc_DEF-123", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("with space", False),
        ("plus+slash/", False),
        ("padded==", False),
        ("ünïcode", False),
        ("line\nbreak", False),
    ],
)
def test_only_what_telegram_can_carry_is_code_shaped(code: str, shaped: bool) -> None:
    assert is_code_shaped(code) is shaped


def test_the_stored_hash_is_sha256_and_compares_in_constant_time() -> None:
    code = new_code()
    digest = code_hash(code)
    assert digest == hashlib.sha256(code.encode()).hexdigest()
    assert len(digest) == 64
    assert code not in digest
    assert hashes_match(digest, code_hash(code))
    assert not hashes_match(digest, code_hash(code + "x"))


def test_deep_link() -> None:
    assert deep_link("@ClinicBot", "abc-_1") == "https://t.me/ClinicBot?start=abc-_1"
    assert deep_link("clinic_companion_bot", "Z") == "https://t.me/clinic_companion_bot?start=Z"
    with pytest.raises(InvalidUsername):
        deep_link("bad name", "abc")
    with pytest.raises(InvalidUsername):
        deep_link("evil.example/x?", "abc")
    with pytest.raises(ValueError, match="payload"):
        deep_link("ClinicBot", "a b")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  J.D. #4471 ", "J.D. #4471"),
        ("Ана", "Ана"),
        ("x" * 32, "x" * 32),
        ("J.D. ok!", "J.D. ok!"),
        ("Q?A 12", "Q?A 12"),  # a question mark inside asks nothing
    ],
)
def test_labels_are_stripped(raw: str, clean: str) -> None:
    assert clean_label(raw) == clean


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "label_empty"),
        ("   ", "label_empty"),
        ("x" * 33, "label_too_long"),
        ("J\nD", "label_control"),
        ("J\x00D", "label_control"),
        ("J\u202eD", "label_control"),  # right-to-left override
        ("J\u200bD", "label_control"),  # zero-width space
        ("J\x7fD", "label_control"),
        ("what's a label?", "label_question"),
        ("what's a label?!", "label_question"),
        ("¿qué pongo aquí", "label_question"),
        ("¿Qué pongo aquí?", "label_question"),
        ("  ?  ", "label_question"),
        ("initials or chart number? which one do you need here", "label_too_long"),
        ("what should I write here, the chart number or initials?", "label_question"),
    ],
)
def test_bad_labels_are_refused_with_a_code(raw: str, code: str) -> None:
    with pytest.raises(InvalidLabel) as caught:
        clean_label(raw)
    assert caught.value.code == code


def test_qr_png_is_a_png_of_the_link() -> None:
    link = deep_link("ClinicBot", new_code())
    png = qr_png(link)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png != qr_png(deep_link("ClinicBot", new_code()))
    # Width and height (IHDR) grow with the scale; the symbol is square.
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == height
    bigger = qr_png(link, scale=16)
    assert int.from_bytes(bigger[16:20], "big") == 2 * width
