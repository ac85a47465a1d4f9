"""Callback data already on patients' screens keeps its meaning after an upgrade."""

from __future__ import annotations

from bot.telegram.callbacks import ConsentCb, InviteConsentCb


def test_consent_buttons_shown_before_invites_existed_still_unpack() -> None:
    assert ConsentCb.unpack("c:1") == ConsentCb(agree=True)
    assert ConsentCb.unpack("c:0") == ConsentCb(agree=False)
    assert ConsentCb(agree=True).pack() == "c:1"


def test_an_invite_code_fits_in_the_consent_button() -> None:
    code = "A" * 32  # bot/domain/invite_codes.py: 32 characters
    packed = InviteConsentCb(code=code).pack()
    assert len(packed.encode()) <= 64  # Telegram's limit for callback data
    assert InviteConsentCb.unpack(packed).code == code
