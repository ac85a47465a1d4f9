"""Refusals carry enum codes, and each refusal's template says something of its own for every
code (bot/content/validate.py): a branch missing, or an {% else %} standing in for codes, is
reported, for a shipped file and for a text staff edit live."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, cast

from bot.content.catalogue import CATALOGUE, InviteError, StaffNotAllowed
from bot.content.store import Content
from bot.content.validate import check_text, validate_content
from bot.domain.content_kinds import ContentKind
from bot.domain.refusals import LabelProblem, NotAllowedReason, OfferKind
from bot.services.errors import InviteRefused, OfferExpired

BUNDLED = Path(__file__).resolve().parents[2] / "messages"


def test_refusal_messages_are_rendered_with_every_code() -> None:
    with_codes = {
        name: message
        for name, message in CATALOGUE.items()
        if any("codes" in f.metadata for f in dataclasses.fields(cast(Any, message)))
    }
    assert {"appointment_error", "invite_error", "visit_change_error", "roster_ask",
            "staff_not_allowed", "expired_offer"} <= set(with_codes)  # fmt: skip
    codes = {s.code for s in InviteError.samples()}
    assert set(LabelProblem) <= codes
    assert {s.reason for s in StaffNotAllowed.samples()} == set(NotAllowedReason)


def test_a_code_without_its_branch_is_reported(tmp_path: Path) -> None:
    messages = Path(shutil.copytree(BUNDLED, tmp_path / "messages"))
    path = messages / "es" / "invite_error.html.j2"
    source = path.read_text()
    assert '{% elif code == "label_control" %}' in source
    kept = [line for line in source.splitlines() if '"label_control"' not in line]
    path.write_text("\n".join(kept) + "\n")
    problems = validate_content(messages)
    assert any(
        "es/invite_error" in p and "no branch for code label_control (LabelProblem)" in p
        for p in problems
    ), problems


def test_a_code_the_enums_do_not_have_is_reported(tmp_path: Path) -> None:
    messages = Path(shutil.copytree(BUNDLED, tmp_path / "messages"))
    path = messages / "en" / "expired_offer.html.j2"
    path.write_text(path.read_text().replace('"invite"', '"invitation"'))
    problems = validate_content(messages)
    assert any("no branch for kind invite (OfferKind)" in p for p in problems), problems
    assert any("no kind 'invitation'" in p for p in problems), problems


def test_a_staff_edit_that_drops_a_branch_is_refused() -> None:
    content = Content(BUNDLED)
    body = (
        '{% if reason == "role" %}Admins only.{% elif reason == "self" %}Not yourself.'
        "{% else %}No.{% endif %}"
    )
    problems = check_text(content, ContentKind.TEMPLATE, "en/staff_not_allowed", body)
    assert [p.message for p in problems] == [
        "no branch for reason not_staff, env_admin (NotAllowedReason): each needs its own "
        'words, e.g. {% elif reason == "not_staff" %}'
    ]
    fixed = body.replace("{% else %}", '{% elif reason in ("not_staff", "env_admin") %}')
    assert check_text(content, ContentKind.TEMPLATE, "en/staff_not_allowed", fixed) == []


def test_refusals_carry_their_enum() -> None:
    assert InviteRefused(LabelProblem.EMPTY).code is LabelProblem.EMPTY
    assert OfferExpired(OfferKind.VISIT_MOVE).kind is OfferKind.VISIT_MOVE
