"""How a reminder looks: text from the step's template (or the catch-up template when several
steps go out together), buttons from the plan. Rendered at send time from the latest state."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content.store import Content
from bot.telegram.callbacks import ChecklistCb, MenuCb, ReminderCb
from scheduler.engine import ReminderBatch, RenderedReminder


def checklist_context(content: Content, lang: str, ticks: frozenset[str] | set[str]) -> list[dict]:
    return [
        {"key": key, "label": content.button(f"item_{key}", lang), "done": key in ticks}
        for key in content.plan.checklist
    ]


class ReminderView:
    def __init__(self, content: Content) -> None:
        self.content = content

    def __call__(self, batch: ReminderBatch) -> RenderedReminder:
        content = self.content
        lang = batch.patient.language
        when = batch.appointment.local_start
        context = {
            "catch_up": len(batch.steps) > 1,
            "when": when,
            "checklist": checklist_context(content, lang, batch.ticks),
            "attendance": batch.appointment.attendance,
        }
        if len(batch.steps) == 1:
            text = content.render(batch.steps[0].template, lang, **context)
        else:
            sections = [content.template_name(step.template, lang) for step in batch.steps]
            text = content.render("reminders/catch_up", lang, sections=sections, **context)
        return RenderedReminder(text, self.keyboard(batch, lang))

    def keyboard(self, batch: ReminderBatch, lang: str) -> InlineKeyboardMarkup | None:
        kb = InlineKeyboardBuilder()
        label = self.content.button
        if len(batch.steps) > 1:
            # One message for several steps: the checklist covers every item at once.
            first = batch.rows[0].id
            kb.button(
                text=label("reminder_checklist", lang),
                callback_data=ReminderCb(action="checklist", id=first),
            )
            if any("attend" in s.buttons for s in batch.steps):
                self._attend(kb, lang, first)
            kb.adjust(1)
            return kb.as_markup()
        step, row = batch.steps[0], batch.rows[0]
        if "done" in step.buttons:
            kb.button(
                text=label("reminder_done", lang),
                callback_data=ReminderCb(action="done", id=row.id),
            )
        if "snooze" in step.buttons:
            kb.button(
                text=label("reminder_snooze", lang),
                callback_data=ReminderCb(action="snooze", id=row.id),
            )
        if "checklist" in step.buttons:
            kb.button(
                text=label("reminder_checklist", lang),
                callback_data=ReminderCb(action="checklist", id=row.id),
            )
        if "attend" in step.buttons:
            self._attend(kb, lang, row.id)
        if not step.buttons:
            return None
        kb.adjust(2)
        return kb.as_markup()

    def _attend(self, kb: InlineKeyboardBuilder, lang: str, reminder_id: int) -> None:
        kb.button(
            text=self.content.button("attend_yes", lang),
            callback_data=ReminderCb(action="coming", id=reminder_id),
        )
        kb.button(
            text=self.content.button("attend_no", lang),
            callback_data=ReminderCb(action="reschedule", id=reminder_id),
        )


def checklist_keyboard(
    content: Content, lang: str, appointment_id: int, ticks: frozenset[str] | set[str]
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for item in checklist_context(content, lang, ticks):
        kb.button(
            text=content.button(
                "check_done" if item["done"] else "check_todo", lang, label=item["label"]
            ),
            callback_data=ChecklistCb(appt=appointment_id, item=item["key"], done=not item["done"]),
        )
    kb.button(text=content.button("menu_home", lang), callback_data=MenuCb(to="home"))
    kb.adjust(1)
    return kb.as_markup()
