"""One offer for every confirmation (bot/services/offers.py): kept in the conversation state as
JSON, read back typed, and any button that is not the current offer's is the one
OfferExpired, whatever went wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.services.appointments import Ambiguity, VisitTime
from bot.services.offers import Offer, OfferExpired, OfferKind

EARLIER = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
ZONE = "America/New_York"


def stored(offer: Offer, **extra: Any) -> dict[str, Any]:
    """The state as the storage gives it back: through JSON."""
    return json.loads(json.dumps({**offer.to_state(), **extra}))


def test_an_offer_comes_back_as_it_was_kept() -> None:
    offer = Offer.of_reading(OfferKind.VISIT_MOVE, VisitTime(LATER, ZONE), visit=7, version=3)
    back = Offer.answered(stored(offer, label="J.D."), OfferKind.VISIT_MOVE, offer.token)
    assert back == offer
    assert back.instant() == LATER and back.visit_time() == VisitTime(LATER, ZONE)
    assert back.about(visit=7) is back


def test_an_ambiguous_time_offers_both_readings() -> None:
    offer = Offer.of_reading(
        OfferKind.BOOKING, Ambiguity(VisitTime(EARLIER, ZONE), VisitTime(LATER, ZONE))
    )
    back = Offer.held(stored(offer), OfferKind.BOOKING)
    assert back.ambiguous
    assert (back.instant("earlier"), back.instant("later")) == (EARLIER, LATER)
    with pytest.raises(OfferExpired):
        back.instant()  # nothing to confirm as such: pick one


def test_every_token_gets_its_own_offer() -> None:
    assert len({Offer(OfferKind.FORGET).token for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "spoil",
    [
        lambda data, token: (data, "an older token"),
        lambda data, token: (data, ""),
        lambda data, token: ({}, token),
        lambda data, token: ({"offer": {**data["offer"], "kind": "invite"}}, token),
        lambda data, token: ({"offer": {**data["offer"], "starts_at": "tomorrow"}}, token),
        lambda data, token: ({"offer": {**data["offer"], "starts_at": "2026-11-01T06:30"}}, token),
        lambda data, token: ({"offer": {**data["offer"], "version": "3"}}, token),
        lambda data, token: ({"offer": "garbage"}, token),
    ],
    ids=["older", "no-token", "lost", "other-kind", "unreadable", "naive", "odd-type", "garbage"],
)
def test_anything_but_the_current_offer_has_expired(spoil: Any) -> None:
    offer = Offer.of_reading(OfferKind.VISIT_MOVE, VisitTime(LATER, ZONE), visit=7, version=3)
    data, token = spoil(stored(offer), offer.token)
    with pytest.raises(OfferExpired) as refused:
        Offer.answered(data, OfferKind.VISIT_MOVE, token)
    assert refused.value.kind is OfferKind.VISIT_MOVE
    assert not Offer.answers(data, OfferKind.VISIT_MOVE, token)


def test_a_button_about_another_visit_or_member_has_expired() -> None:
    with pytest.raises(OfferExpired):
        Offer(OfferKind.VISIT_CANCEL, visit=7).about(visit=8)
    with pytest.raises(OfferExpired):
        Offer(OfferKind.STAFF_REMOVE, member=501).about(member=502)
