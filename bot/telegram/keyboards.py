"""Inline keyboards. Labels come from `messages/<lang>/buttons.toml`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content.store import Content
from bot.db.models import Appointment
from bot.telegram.callbacks import ApptCb, ConsentCb, DraftCb, FaqCb, ForgetCb, MenuCb, ZoneCb

COMMON_ZONES: tuple[tuple[str, str], ...] = (
    ("America/New_York", "zone_eastern"),
    ("America/Chicago", "zone_central"),
    ("America/Denver", "zone_mountain"),
    ("America/Phoenix", "zone_arizona"),
    ("America/Los_Angeles", "zone_pacific"),
    ("America/Anchorage", "zone_alaska"),
    ("Pacific/Honolulu", "zone_hawaii"),
    ("America/Puerto_Rico", "zone_atlantic"),
)


class Keyboards:
    def __init__(self, content: Content, lang: str) -> None:
        self.content = content
        self.lang = lang

    def _label(self, key: str, **context: object) -> str:
        return self.content.button(key, self.lang, **context)

    def main_menu(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        for to in ("appointments", "prepare", "faq", "settings"):
            kb.button(text=self._label(f"menu_{to}"), callback_data=MenuCb(to=to))
        kb.adjust(2)
        return kb.as_markup()

    def home(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=self._label("menu_home"), callback_data=MenuCb(to="home"))
        return kb.as_markup()

    def consent(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=self._label("consent_yes"), callback_data=ConsentCb(agree=True))
        kb.button(text=self._label("consent_no"), callback_data=ConsentCb(agree=False))
        kb.adjust(1)
        return kb.as_markup()

    def start_over(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=self._label("consent_review"), callback_data=MenuCb(to="start"))
        return kb.as_markup()

    def draft_confirm(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=self._label("draft_confirm"), callback_data=DraftCb(action="confirm"))
        kb.button(text=self._label("draft_change"), callback_data=DraftCb(action="change"))
        kb.adjust(2)
        return kb.as_markup()

    def draft_ambiguous(self, earlier: datetime, later: datetime) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(
            text=self._label(
                "draft_pick",
                when=self.content.format_datetime(earlier, self.lang, "datetime_short"),
            ),
            callback_data=DraftCb(action="earlier"),
        )
        kb.button(
            text=self._label(
                "draft_pick", when=self.content.format_datetime(later, self.lang, "datetime_short")
            ),
            callback_data=DraftCb(action="later"),
        )
        kb.button(text=self._label("draft_change"), callback_data=DraftCb(action="change"))
        kb.adjust(1)
        return kb.as_markup()

    def appointments(self, items: Sequence[Appointment]) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        for appt in items:
            local = appt.local_start
            kb.button(
                text=self._label(
                    "appointment_item",
                    when=self.content.format_datetime(local, self.lang, "datetime_short"),
                ),
                callback_data=ApptCb(action="view", id=appt.id),
            )
        kb.button(text=self._label("appointment_new"), callback_data=MenuCb(to="new"))
        kb.button(text=self._label("menu_home"), callback_data=MenuCb(to="home"))
        kb.adjust(1)
        return kb.as_markup()

    def appointment_actions(self, appointment_id: int) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(
            text=self._label("appointment_change"),
            callback_data=ApptCb(action="change", id=appointment_id),
        )
        kb.button(
            text=self._label("appointment_cancel"),
            callback_data=ApptCb(action="cancel", id=appointment_id),
        )
        kb.button(text=self._label("appointment_back"), callback_data=MenuCb(to="appointments"))
        kb.adjust(2, 1)
        return kb.as_markup()

    def cancel_confirm(self, appointment_id: int) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(
            text=self._label("cancel_yes"),
            callback_data=ApptCb(action="cancel_yes", id=appointment_id),
        )
        kb.button(
            text=self._label("cancel_no"),
            callback_data=ApptCb(action="cancel_no", id=appointment_id),
        )
        kb.adjust(1)
        return kb.as_markup()

    def faq(self, entries: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        for key, title in entries:
            kb.button(text=title, callback_data=FaqCb(key=key))
        kb.button(text=self._label("menu_home"), callback_data=MenuCb(to="home"))
        kb.adjust(1)
        return kb.as_markup()

    def faq_answer(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=self._label("faq_more"), callback_data=MenuCb(to="faq"))
        kb.button(text=self._label("menu_home"), callback_data=MenuCb(to="home"))
        kb.adjust(2)
        return kb.as_markup()

    def zones(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        for zone, key in COMMON_ZONES:
            kb.button(text=self._label(key), callback_data=ZoneCb(zone=zone))
        kb.button(text=self._label("zone_other"), callback_data=ZoneCb(zone="other"))
        kb.button(text=self._label("menu_home"), callback_data=MenuCb(to="home"))
        kb.adjust(2)
        return kb.as_markup()

    def forget_confirm(self) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=self._label("forget_yes"), callback_data=ForgetCb(confirm=True))
        kb.button(text=self._label("forget_no"), callback_data=ForgetCb(confirm=False))
        kb.adjust(1)
        return kb.as_markup()
