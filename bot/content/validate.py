"""The one validator for message content.

Used at start-up, by `content check`, and (later) before a staff edit is accepted. It renders
every text with sample values, so an undefined variable, a syntax error, a disallowed tag or an
overlong text is caught before a patient sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.content.store import Content, ContentError
from bot.content.telegram_html import check_telegram_html
from scheduler.plan import Plan

_SAMPLE_WHEN = datetime(2026, 12, 3, 19, 30, tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
_SAMPLE_LATER = datetime(2026, 12, 3, 20, 30, tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))

_SAMPLE_CHECKLIST = [
    {"key": "playlist", "label": "Calm playlist", "done": True},
    {"key": "ride", "label": "Ride home <arranged>", "done": False},
]

APPOINTMENT_ERROR_CODES = (
    "empty",
    "unreadable",
    "missing_time",
    "missing_date",
    "invalid_date",
    "invalid_time",
    "past",
    "too_far",
    "nonexistent",
    "duplicate",
    "too_many",
    "expired",
)

# Every text the code renders, with the values it passes (one dict per variant to try).
REQUIRED_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "welcome": [{}],
    "welcome_back": [{}],
    "consent_thanks": [{}],
    "consent_declined": [{}],
    "need_consent": [{}],
    "menu": [{}],
    "help": [{}],
    "appointment_ask": [
        {"zone": "America/New_York", "changing": False},
        {"zone": "America/New_York", "changing": True},
    ],
    "appointment_confirm": [
        {"when": _SAMPLE_WHEN, "changing": False},
        {"when": _SAMPLE_WHEN, "changing": True},
    ],
    "appointment_ambiguous": [{"earlier": _SAMPLE_WHEN, "later": _SAMPLE_LATER}],
    "appointment_saved": [
        {"when": _SAMPLE_WHEN, "changed": False},
        {"when": _SAMPLE_WHEN, "changed": True},
    ],
    "appointment_error": [
        {
            "code": code,
            "zone": "America/New_York",
            "faq_template": None,
            "limit": 20,
            "wall": datetime(2026, 3, 8, 2, 30),
        }
        for code in APPOINTMENT_ERROR_CODES
    ],
    "appointment_list": [{"items": []}, {"items": [_SAMPLE_WHEN, _SAMPLE_LATER]}],
    "appointment_detail": [{"when": _SAMPLE_WHEN}],
    "appointment_cancel_confirm": [{"when": _SAMPLE_WHEN}],
    "appointment_cancelled": [{"when": _SAMPLE_WHEN}],
    "appointment_kept": [{"when": _SAMPLE_WHEN}],
    "appointment_gone": [{}],
    "settings": [{"zone": "America/New_York", "now_local": _SAMPLE_WHEN}],
    "timezone_ask": [{}],
    "timezone_saved": [{"zone": "America/Chicago", "now_local": _SAMPLE_WHEN}],
    "timezone_unknown": [{}],
    "forget_confirm": [{}],
    "forget_done": [{}],
    "forget_kept": [{}],
    "forget_nothing": [{}],
    "faq_menu": [{}],
    "faq_no_match": [{}],
    "crisis": [{"staff_notified": True}, {"staff_notified": False}],
    # Staff alerts render at delivery: display_name comes from Telegram's getChat ("" when
    # that failed), at_local from when the alert was queued, occurrences counts coalesced ones.
    "crisis_staff_alert": [
        {
            "patient_ref": "#12",
            "display_name": "<Pat & Co>",
            "telegram_id": 1001,
            "at_local": "Thursday, December 3, 2026 at 2:30 PM EST",
            "occurrences": 1,
        },
        {
            "patient_ref": "",
            "display_name": "",
            "telegram_id": 1001,
            "at_local": "Thursday, December 3, 2026 at 2:30 PM EST",
            "occurrences": 60,
        },
    ],
    "checklist": [{"when": _SAMPLE_WHEN, "checklist": _SAMPLE_CHECKLIST}],
    "checklist_none": [{}],
    "reminder_snoozed": [{"until": _SAMPLE_WHEN}],
    "reminder_snooze_refused": [{}],
    "attend_confirmed": [{"when": _SAMPLE_WHEN}],
    "attend_reschedule": [
        {"already": already, "team_asked": asked}
        for already in (False, True)
        for asked in (False, True)
    ],
    "private_only": [{}],
    "reschedule_staff_alert": [
        {
            "patient_ref": "#12",
            "display_name": "<Pat>",
            "telegram_id": 1001,
            "when_local": "Thursday, December 3, 2026 at 2:30 PM EST",
        },
        {
            "patient_ref": "#12",
            "display_name": "",
            "telegram_id": 1001,
            "when_local": "Thursday, December 3, 2026 at 2:30 PM EST",
        },
    ],
    "template_failure_staff_alert": [
        {"steps": "ride", "error": "TelegramBadRequest", "occurrences": 1},
        {
            "steps": "day_before, morning",
            "error": "bad_request:TelegramBadRequest: Bad Request: can't parse entities <&>",
            "occurrences": 240,
        },
    ],
    "paused": [{}],
    "resumed": [{}],
    "unknown_command": [{}],
    "unsupported": [{}],
    "edited": [{}],
    "stale_button": [{}],
    "error": [{}],
}

REQUIRED_BUTTONS = (
    "notice_private_only",
    "menu_appointments",
    "menu_prepare",
    "menu_faq",
    "menu_settings",
    "menu_home",
    "consent_yes",
    "consent_no",
    "consent_review",
    "draft_confirm",
    "draft_change",
    "draft_pick",
    "appointment_item",
    "appointment_new",
    "appointment_change",
    "appointment_cancel",
    "appointment_back",
    "cancel_yes",
    "cancel_no",
    "faq_more",
    "zone_eastern",
    "zone_central",
    "zone_mountain",
    "zone_arizona",
    "zone_pacific",
    "zone_alaska",
    "zone_hawaii",
    "zone_atlantic",
    "zone_other",
    "forget_yes",
    "forget_no",
)

REQUIRED_COMMANDS = (
    "start",
    "appointment",
    "prepare",
    "faq",
    "settings",
    "pause",
    "resume",
    "help",
    "forget",
)


def _render_problems(
    content: Content,
    name: str,
    lang: str,
    samples: list[dict[str, Any]],
    private: bool = False,
) -> list[str]:
    """Render each sample; with `private`, the text may show on a lock screen, so it must not
    contain the clinic's name (if it differs from its discreet name) or a private word."""
    problems: list[str] = []
    clinic = content.clinic
    forbidden = [w.lower() for w in clinic.private_words]
    if clinic.discreet_name != clinic.name:
        forbidden.append(clinic.name.lower())
    path = content.root / content.template_name(name, lang)
    for sample in samples:
        try:
            text = content.render(name, lang, **sample)
        except ContentError as exc:
            problems.append(str(exc))
            break
        except Exception as exc:  # a staff edit can fail in any way; report, never crash
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
            break
        problems.extend(f"{path}: {p}" for p in check_telegram_html(text))
        if private:
            lowered = text.lower()
            problems.extend(
                f"{path}: reminders show on lock screens; remove '{word}' (see clinic.toml)"
                for word in forbidden
                if word in lowered
            )
    return problems


def validate_content(messages_dir: Path, default_language: str = "en") -> list[str]:
    """Every problem found, one line each, naming the file; an empty list means valid."""
    try:
        content = Content(messages_dir, default_language)
        _ = content.crisis_detector
        plan = content.plan
    except ContentError as exc:
        return str(exc).splitlines()  # a data file's problems, one line each
    problems: list[str] = []
    for lang in content.languages:
        try:
            content.format_datetime(_SAMPLE_WHEN, lang)
            commands = {c for c, _ in content.commands(lang)}
            labels = content.buttons(lang)
            faq = content.faq(lang)
        except (ContentError, KeyError, IndexError, ValueError) as exc:
            problems.extend(str(exc).splitlines())
            continue
        if lang == default_language:
            missing = [c for c in REQUIRED_COMMANDS if c not in commands]
            if missing:
                problems.append(
                    f"{content.root / lang / 'commands.toml'}: missing commands {missing}"
                )
            missing = [k for k in REQUIRED_BUTTONS if k not in labels]
            if missing:
                problems.append(f"{content.root / lang / 'buttons.toml'}: missing labels {missing}")
        for key in labels:
            try:
                content.button(key, lang, when="Thu, Dec 3, 2:30 PM", label="Eye mask")
            except ContentError as exc:
                problems.append(str(exc))
        for name, samples in REQUIRED_TEMPLATES.items():
            problems.extend(_render_problems(content, name, lang, samples))
        for entry in faq.entries:
            problems.extend(_render_problems(content, entry.template, lang, [{}]))
        problems.extend(_plan_problems(content, plan, lang, labels))
    return problems


def _plan_problems(content: Content, plan: Plan, lang: str, labels: dict[str, str]) -> list[str]:
    """Every reminder renders alone and inside the catch-up message; every item has a label."""
    problems = [
        f"{content.root / lang / 'buttons.toml'}: no label 'item_{item}' for checklist item"
        for item in plan.checklist
        if f"item_{item}" not in labels and lang == content.default_language
    ]
    base = {"when": _SAMPLE_WHEN, "checklist": _SAMPLE_CHECKLIST, "attendance": None}
    for step in plan.steps:
        problems.extend(
            _render_problems(
                content,
                step.template,
                lang,
                [{**base, "catch_up": False}, {**base, "catch_up": True}],
            )
        )
    sections = [content.template_name(step.template, lang) for step in plan.steps]
    problems.extend(
        _render_problems(
            content,
            "reminders/catch_up",
            lang,
            [{**base, "catch_up": True, "sections": sections}],
            private=True,
        )
    )
    return problems
