"""Callback data already on patients' screens keeps its meaning after an upgrade."""

from __future__ import annotations

from bot.telegram.callbacks import (
    ConsentCb,
    FaqCb,
    FaqInCb,
    FaqMenuInCb,
    InviteConsentCb,
    MenuCb,
    MenuTarget,
)


def test_consent_buttons_shown_before_invites_existed_still_unpack() -> None:
    assert ConsentCb.unpack("c:1") == ConsentCb(agree=True)
    assert ConsentCb.unpack("c:0") == ConsentCb(agree=False)
    assert ConsentCb(agree=True).pack() == "c:1"


def test_an_invite_code_fits_in_the_consent_button() -> None:
    code = "A" * 32  # bot/domain/invite_codes.py: 32 characters
    packed = InviteConsentCb(code=code).pack()
    assert len(packed.encode()) <= 64  # Telegram's limit for callback data
    assert InviteConsentCb.unpack(packed).code == code


def test_the_questions_buttons_sent_before_they_kept_a_language_still_unpack() -> None:
    """ "More questions" under an answer was ``m:faq`` before it could keep the answer's
    language: it still opens the questions; the new button is told apart from a topic's."""
    assert MenuCb.unpack("m:faq") == MenuCb(to=MenuTarget.FAQ)
    assert MenuCb(to=MenuTarget.FAQ).pack() == "m:faq"
    assert FaqMenuInCb.unpack(FaqMenuInCb(lang="es").pack()) == FaqMenuInCb(lang="es")
    assert FaqInCb.unpack("fi:what_to_bring:es") == FaqInCb(key="what_to_bring", lang="es")
    for other in (FaqCb, FaqInCb, MenuCb):
        try:
            other.unpack(FaqMenuInCb(lang="es").pack())
        except (TypeError, ValueError):
            continue
        raise AssertionError(f"{other.__name__} unpacks the questions in a language")
