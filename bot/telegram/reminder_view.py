"""How a reminder looks: text from the step's template (or the catch-up template when several
steps go out together), buttons from the plan. Rendered at send time from the latest state."""

from __future__ import annotations

from dataclasses import replace

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.content.catalogue import Button, ReminderText
from bot.content.store import Content
from bot.telegram.callbacks import ChecklistCb, MenuCb, MenuTarget, ReminderAction, ReminderCb
from bot.telegram.keyboards import in_rows, markup
from scheduler.records import ReminderBatch, RenderedReminder


def checklist_context(
    content: Content, lang: str, ticks: frozenset[str] | set[str], visit_type: str
) -> list[dict[str, object]]:
    """The checklist of a visit's type (its plan's items), each with its label and tick."""
    return [
        {"key": key, "label": content.button(f"item_{key}", lang), "done": key in ticks}
        for key in content.plan_for(visit_type).checklist
    ]


class ReminderView:
    """Renders a reminder from the live texts; if they fail for this patient (a staff edit
    that breaks on some dates, say), from the texts shipped with the bot, so the patient still
    gets a reminder (RenderedReminder.fallback_error tells the engine, which alerts staff)."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self._shipped: Content | None = None

    def __call__(self, batch: ReminderBatch) -> RenderedReminder:
        try:
            return self._render(self.content, batch)
        except Exception as exc:  # any staff edit may fail in any way; the shipped text stays
            if self._shipped is None:
                self._shipped = self.content.shipped()
            rendered = self._render(self._shipped, batch)  # a broken shipped text raises
            return replace(rendered, fallback_error=type(exc).__name__)

    def _render(self, content: Content, batch: ReminderBatch) -> RenderedReminder:
        lang = batch.patient.language
        when = batch.appointment.local_start
        catch_up = len(batch.steps) > 1
        message = ReminderText(
            template_name=ReminderText.CATCH_UP if catch_up else batch.steps[0].template,
            catch_up=catch_up,
            when=when,
            checklist=checklist_context(content, lang, batch.ticks, batch.appointment.visit_type),
            attendance=batch.appointment.attendance,
            preparation=content.plan_for(batch.appointment.visit_type).preparation,
            sections=[content.template_name(step.template, lang) for step in batch.steps]
            if catch_up
            else (),
        )
        text = content.render_message(message, lang)
        # The labels of the buttons are the live ones (a label edit is checked on its own).
        return RenderedReminder(text, self.keyboard(batch, lang))

    def keyboard(self, batch: ReminderBatch, lang: str) -> InlineKeyboardMarkup | None:
        # Built directly rather than with InlineKeyboardBuilder, which deep-copies every
        # button: on the send path that copying cost more than the rest of the keyboard.
        def button(key: Button, action: ReminderAction, reminder_id: int) -> InlineKeyboardButton:
            return InlineKeyboardButton(
                text=self.content.button(key, lang),
                callback_data=ReminderCb(action=action, id=reminder_id).pack(),
            )

        def attend(reminder_id: int) -> list[InlineKeyboardButton]:
            return [
                button(Button.ATTEND_YES, ReminderAction.COMING, reminder_id),
                button(Button.ATTEND_NO, ReminderAction.RESCHEDULE, reminder_id),
            ]

        if len(batch.steps) > 1:
            # One message for several steps: the checklist covers every item at once.
            first = batch.rows[0].id
            buttons = [button(Button.REMINDER_CHECKLIST, ReminderAction.CHECKLIST, first)]
            if any("attend" in s.buttons for s in batch.steps):
                buttons += attend(first)
            return InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons])
        step, row = batch.steps[0], batch.rows[0]
        if not step.buttons:
            return None
        buttons = [
            button(key, action, row.id)
            for name, key, action in (
                ("done", Button.REMINDER_DONE, ReminderAction.DONE),
                ("snooze", Button.REMINDER_SNOOZE, ReminderAction.SNOOZE),
                ("checklist", Button.REMINDER_CHECKLIST, ReminderAction.CHECKLIST),
            )
            if name in step.buttons
        ]
        if "attend" in step.buttons:
            buttons += attend(row.id)
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        if "checkin" in step.buttons:  # one answer a row: the last one is long
            rows += [
                [button(key, action, row.id)]
                for key, action in (
                    (Button.CHECKIN_OK, ReminderAction.CHECKIN_OK),
                    (Button.CHECKIN_OFF, ReminderAction.CHECKIN_OFF),
                    (Button.CHECKIN_CALL, ReminderAction.CHECKIN_CALL),
                )
            ]
        return InlineKeyboardMarkup(inline_keyboard=rows)


def checklist_keyboard(
    content: Content,
    lang: str,
    appointment_id: int,
    ticks: frozenset[str] | set[str],
    visit_type: str,
) -> InlineKeyboardMarkup:
    buttons: list[tuple[str, str]] = [
        (
            content.button(
                Button.CHECK_DONE if item["done"] else Button.CHECK_TODO, lang, label=item["label"]
            ),
            ChecklistCb(appt=appointment_id, item=item["key"], done=not item["done"]).pack(),
        )
        for item in checklist_context(content, lang, ticks, visit_type)
    ]
    buttons.append((content.button(Button.MENU_HOME, lang), MenuCb(to=MenuTarget.HOME).pack()))
    return markup(in_rows(buttons, (1,)))
