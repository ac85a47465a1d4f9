"""bot.intake.signing: Stripe-style signatures of the events the bot sends."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake.signing import SignatureError, sign, signature_header, verify

SECRET = "whsec_test_secret"
BODY = b'{"id":"ev_1","type":"visit.attendance","answer":"confirmed"}'
T = 1_790_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == expected
    assert signature_header(SECRET, T, BODY) == f"t={T},v1={expected}"
    assert sign(SECRET, datetime.fromtimestamp(T, UTC), BODY) == expected


def test_a_fresh_signature_verifies() -> None:
    header = signature_header(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 10) == T
    assert verify(SECRET, header, BODY, now=T - 300) == T  # the receiver's clock behind


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: (h, b.replace(b"confirmed", b"reschedule")),
        lambda h, b: (h.replace(f"t={T}", f"t={T + 1}"), b),
        lambda h, b: (h[:-1] + ("0" if h[-1] != "0" else "1"), b),
        lambda h, b: (h.split(",")[0], b),
        lambda h, b: ("garbage", b),
        lambda h, b: ("t=abc,v1=00", b),
        lambda h, b: (f"t={T},t={T},{h.split(',')[1]}", b),
        lambda h, b: ("x" * 5000, b),
    ],
)
def test_tampering_is_refused(tamper: object) -> None:
    header, body = tamper(signature_header(SECRET, T, BODY), BODY)  # type: ignore[operator]
    with pytest.raises(SignatureError):
        verify(SECRET, header, body, now=T)


def test_an_old_or_future_timestamp_is_refused() -> None:
    header = signature_header(SECRET, T, BODY)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, header, BODY, now=T + 301)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(SECRET, header, BODY, now=T - 301)
    assert verify(SECRET, header, BODY, now=T + 3000, tolerance=3600) == T


def test_secret_rotation_either_side() -> None:
    both = signature_header(["new-secret", SECRET], T, BODY)
    assert both.count("v1=") == 2
    assert verify(SECRET, both, BODY, now=T) == T  # a receiver still on the old secret
    assert verify("new-secret", both, BODY, now=T) == T
    only_old = signature_header(SECRET, T, BODY)
    assert verify(["new-secret", SECRET], only_old, BODY, now=T) == T  # receiver holds both
    with pytest.raises(SignatureError, match="no signature"):
        verify("another", both, BODY, now=T)


def test_unknown_schemes_are_ignored() -> None:
    header = signature_header(SECRET, T, BODY) + ",v0=deadbeef"
    assert verify(SECRET, header, BODY, now=T) == T


def test_no_secret_signs_nothing() -> None:
    with pytest.raises(ValueError, match="empty secret"):
        sign("", T, BODY)
    with pytest.raises(ValueError, match="no secret"):
        signature_header([], T, BODY)
    with pytest.raises(ValueError, match="aware"):
        sign(SECRET, datetime(2027, 1, 1), BODY)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 2**33), st.integers(-300, 300), st.binary())
def test_a_signature_verifies_for_its_body_only(
    body: bytes, t: int, skew: int, other: bytes
) -> None:
    header = signature_header(SECRET, t, body)
    assert verify(SECRET, header, body, now=t + skew) == t
    if other != body:
        with pytest.raises(SignatureError):
            verify(SECRET, header, other, now=t)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_header_verifies_or_is_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(SECRET, header, BODY, now=T)
