"""Inline keyboards. Labels come from `messages/<lang>/buttons.toml`.

Markups are built directly, not with aiogram's InlineKeyboardBuilder, which deep-copies every
button (for the FAQ menu that cost more than everything else an update does: bench/README.md,
"Measurements behind the design"). A markup is
cached by its exact rows (labels and callback data), so an edited label makes a new one, and
the ones every update shows (menu, home, FAQ topics) are built once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.content.catalogue import Button
from bot.content.store import Content
from bot.db.models import Appointment
from bot.telegram.callbacks import (
    ITEMS_SEPARATOR,
    ApptAction,
    ApptCb,
    AttendCb,
    CancelVisitCb,
    ConsentCb,
    DraftAction,
    DraftCb,
    FaqCb,
    FaqInCb,
    FaqMenuInCb,
    ForgetCb,
    IntakeAction,
    IntakeCb,
    InviteAction,
    InviteCb,
    InviteConsentCb,
    LangCb,
    MenuCb,
    MenuTarget,
    MovedVisitCb,
    MoveVisitCb,
    RosterCb,
    SaidUndoCb,
    StaffAction,
    StaffCb,
    VisitAction,
    VisitCb,
    ZoneCb,
)

Rows = tuple[tuple[tuple[str, str], ...], ...]

COMMON_ZONES: tuple[tuple[str, Button], ...] = (
    ("America/New_York", Button.ZONE_EASTERN),
    ("America/Chicago", Button.ZONE_CENTRAL),
    ("America/Denver", Button.ZONE_MOUNTAIN),
    ("America/Phoenix", Button.ZONE_ARIZONA),
    ("America/Los_Angeles", Button.ZONE_PACIFIC),
    ("America/Anchorage", Button.ZONE_ALASKA),
    ("Pacific/Honolulu", Button.ZONE_HAWAII),
    ("America/Puerto_Rico", Button.ZONE_ATLANTIC),
)


@lru_cache(maxsize=4096)
def markup(rows: Rows) -> InlineKeyboardMarkup:
    """The keyboard for these rows of (label, callback data); shared, never modified."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


def in_rows(buttons: Sequence[tuple[str, str | CallbackData]], widths: Sequence[int]) -> Rows:
    """Buttons laid out in rows of the given widths (the last width repeats)."""
    packed = [(text, data if isinstance(data, str) else data.pack()) for text, data in buttons]
    rows: list[tuple[tuple[str, str], ...]] = []
    index = 0
    while index < len(packed):
        width = widths[min(len(rows), len(widths) - 1)]
        rows.append(tuple(packed[index : index + width]))
        index += width
    return tuple(rows)


class Keyboards:
    def __init__(self, content: Content, lang: str, *, faq_lang: str | None = None) -> None:
        """`faq_lang`: the FAQ's topics answer in this language, not the patient's (an answer
        in the language a question was written in)."""
        self.content = content
        self.lang = lang
        self.faq_lang = faq_lang

    def _topic(self, key: str) -> CallbackData:
        """A FAQ topic's button: answered in the patient's language, or in `faq_lang`."""
        return FaqCb(key=key) if self.faq_lang is None else FaqInCb(key=key, lang=self.faq_lang)

    def _questions(self) -> CallbackData:
        """ "More questions" / "All questions": the list in the patient's language, or in
        `faq_lang`."""
        if self.faq_lang is None:
            return MenuCb(to=MenuTarget.FAQ)
        return FaqMenuInCb(lang=self.faq_lang)

    def _label(self, key: Button, **context: object) -> str:
        return self.content.button(key, self.lang, **context)

    def _markup(
        self, buttons: Sequence[tuple[str, str | CallbackData]], *widths: int
    ) -> InlineKeyboardMarkup:
        return markup(in_rows(buttons, widths or (1,)))

    def main_menu(self) -> InlineKeyboardMarkup:
        return self._markup(self._menu_buttons(), 2)

    def _menu_buttons(self) -> list[tuple[str, str | CallbackData]]:
        return [
            (self._label(key), MenuCb(to=to))
            for key, to in (
                (Button.MENU_APPOINTMENTS, MenuTarget.APPOINTMENTS),
                (Button.MENU_PREPARE, MenuTarget.PREPARE),
                (Button.MENU_FAQ, MenuTarget.FAQ),
                (Button.MENU_SETTINGS, MenuTarget.SETTINGS),
            )
        ]

    def home(self) -> InlineKeyboardMarkup:
        return self._markup([(self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME))])

    def consent(self, invite: str = "") -> InlineKeyboardMarkup:
        agree = InviteConsentCb(code=invite) if invite else ConsentCb(agree=True)
        return self._markup(
            [
                (self._label(Button.CONSENT_YES), agree),
                (self._label(Button.CONSENT_NO), ConsentCb(agree=False)),
            ]
        )

    def start_over(self) -> InlineKeyboardMarkup:
        return self._markup([(self._label(Button.CONSENT_REVIEW), MenuCb(to=MenuTarget.START))])

    def draft_confirm(self, token: str) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (self._label(Button.DRAFT_CONFIRM), DraftCb(action=DraftAction.CONFIRM, t=token)),
                (self._label(Button.DRAFT_CHANGE), DraftCb(action=DraftAction.CHANGE, t=token)),
            ],
            2,
        )

    def move_mentioned(self, visit: Appointment, token: str) -> InlineKeyboardMarkup:
        """Under a visit the patient said was moved: move it, add the time as another visit,
        or type the time again."""
        return self._markup(
            [
                (
                    self._label(Button.MENTION_MOVE),
                    MoveVisitCb(id=visit.id, v=visit.version, t=token),
                ),
                (self._label(Button.MENTION_ADD), DraftCb(action=DraftAction.ADD, t=token)),
                (self._label(Button.DRAFT_CHANGE), DraftCb(action=DraftAction.CHANGE, t=token)),
            ]
        )

    def move_which(
        self, visits: Sequence[tuple[Appointment, datetime]], token: str
    ) -> InlineKeyboardMarkup:
        """A button per visit (shown at its time in the patient's zone) to move it, and one to
        add the time as a new visit."""
        buttons: list[tuple[str, str | CallbackData]] = [
            (
                self._label(Button.MENTION_MOVE_ITEM, when=self._short(shown)),
                MoveVisitCb(id=visit.id, v=visit.version, t=token),
            )
            for visit, shown in visits
        ]
        buttons.append((self._label(Button.MENTION_ADD), DraftCb(action=DraftAction.ADD, t=token)))
        return self._markup(buttons)

    def _short(self, when: datetime) -> str:
        return self.content.format_datetime(when, self.lang, "datetime_short")

    def _two_readings(
        self,
        earlier: datetime,
        later: datetime,
        labels: tuple[Button, Button],
        data: Callable[[str], CallbackData],
    ) -> InlineKeyboardMarkup:
        """A time that happens twice: a button for each reading (`data` of ``earlier`` and
        ``later``), and one to type it again (``change``)."""
        pick, change = labels
        return self._markup(
            [
                (self._label(pick, when=self._short(earlier)), data("earlier")),
                (self._label(pick, when=self._short(later)), data("later")),
                (self._label(change), data("change")),
            ]
        )

    def draft_ambiguous(
        self, earlier: datetime, later: datetime, token: str
    ) -> InlineKeyboardMarkup:
        return self._two_readings(
            earlier,
            later,
            (Button.DRAFT_PICK, Button.DRAFT_CHANGE),
            lambda action: DraftCb(action=DraftAction(action), t=token),
        )

    def moved_which(self, visits: Sequence[tuple[Appointment, datetime]]) -> InlineKeyboardMarkup:
        """A button per visit (at its time in the patient's zone): the one said moved, whose
        new time is asked next; and the main menu."""
        buttons: list[tuple[str, str | CallbackData]] = [
            (
                self._label(Button.MENTION_MOVED_ITEM, when=self._short(shown)),
                MovedVisitCb(id=visit.id),
            )
            for visit, shown in visits
        ]
        buttons.append((self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)))
        return self._markup(buttons)

    def add_visit(self) -> InlineKeyboardMarkup:
        """Under an answer about a visit when none is saved ("your visit was moved", "when is
        my appointment?"): add one, or the main menu."""
        return self._markup(
            [
                (self._label(Button.APPOINTMENT_NEW), MenuCb(to=MenuTarget.NEW)),
                (self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)),
            ]
        )

    def appointments(self, items: Sequence[Appointment]) -> InlineKeyboardMarkup:
        buttons: list[tuple[str, str | CallbackData]] = [
            (
                self._label(Button.APPOINTMENT_ITEM, when=self._short(appt.local_start)),
                ApptCb(action=ApptAction.VIEW, id=appt.id),
            )
            for appt in items
        ]
        buttons.append((self._label(Button.APPOINTMENT_NEW), MenuCb(to=MenuTarget.NEW)))
        buttons.append((self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)))
        return self._markup(buttons)

    def appointment_actions(self, appointment_id: int) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (
                    self._label(Button.APPOINTMENT_CHANGE),
                    ApptCb(action=ApptAction.CHANGE, id=appointment_id),
                ),
                (
                    self._label(Button.APPOINTMENT_CANCEL),
                    ApptCb(action=ApptAction.CANCEL, id=appointment_id),
                ),
                self._calendar(appointment_id),
                (self._label(Button.APPOINTMENT_BACK), MenuCb(to=MenuTarget.APPOINTMENTS)),
            ],
            2,
            1,
        )

    def saved(self, appointment_id: int) -> InlineKeyboardMarkup:
        """Under a saved visit: "Add to calendar", then the main menu."""
        return self._markup([self._calendar(appointment_id), *self._menu_buttons()], 1, 2)

    def _calendar(self, appointment_id: int) -> tuple[str, ApptCb]:
        return (
            self._label(Button.APPOINTMENT_CALENDAR),
            ApptCb(action=ApptAction.CALENDAR, id=appointment_id),
        )

    def cancel_confirm(self, appointment_id: int, version: int) -> InlineKeyboardMarkup:
        """ "Yes, cancel it", bound to the visit as shown (its `version`), and "No, keep it"."""
        return self._markup(
            [
                (
                    self._label(Button.CANCEL_YES),
                    CancelVisitCb(id=appointment_id, v=version),
                ),
                (
                    self._label(Button.CANCEL_NO),
                    ApptCb(action=ApptAction.CANCEL_NO, id=appointment_id),
                ),
            ]
        )

    def faq(self, entries: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
        buttons: list[tuple[str, str | CallbackData]] = [
            (title, self._topic(key)) for key, title in entries
        ]
        buttons.append((self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)))
        return self._markup(buttons)

    def faq_choices(self, choices: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
        """ "Did you mean...?": a button per topic (key, label), and the questions menu."""
        buttons: list[tuple[str, str | CallbackData]] = [
            (label, self._topic(key)) for key, label in choices
        ]
        buttons.append((self._label(Button.FAQ_MORE), self._questions()))
        return self._markup(buttons)

    def faq_near(self, near: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
        """Under the no-match answer: a button per near question (key, label), then the
        whole list of questions."""
        buttons: list[tuple[str, str | CallbackData]] = [
            (label, self._topic(key)) for key, label in near
        ]
        buttons.append((self._label(Button.FAQ_ALL), self._questions()))
        return self._markup(buttons)

    def come_after_all(self, appointment_id: int) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (self._label(Button.ATTEND_AFTER_ALL), AttendCb(id=appointment_id, coming=True)),
                (self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)),
            ]
        )

    def checkin(self, appointment_id: int) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (self._label(key), AttendCb(id=appointment_id, checkin=answer))
                for key, answer in (
                    (Button.CHECKIN_OK, "ok"),
                    (Button.CHECKIN_OFF, "off"),
                    (Button.CHECKIN_CALL, "call"),
                )
            ]
        )

    def said_done(self, appointment_id: int, ticked: Sequence[str]) -> InlineKeyboardMarkup:
        """Under items ticked from a message: Undo (when any was ticked now and their keys
        fit in a button's data; the checklist unticks them otherwise) and the checklist."""
        checklist = (self._label(Button.SAID_CHECKLIST), MenuCb(to=MenuTarget.PREPARE))
        try:
            undo = SaidUndoCb(appt=appointment_id, items=ITEMS_SEPARATOR.join(ticked)).pack()
        except ValueError:  # none ticked, or more keys than a button's 64 bytes hold
            return self._markup([checklist])
        return self._markup([(self._label(Button.SAID_UNDO), undo), checklist], 2)

    def said_undone(self) -> InlineKeyboardMarkup:
        return self._markup([(self._label(Button.SAID_CHECKLIST), MenuCb(to=MenuTarget.PREPARE))])

    def faq_answer(self) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (self._label(Button.FAQ_MORE), self._questions()),
                (self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)),
            ],
            2,
        )

    def _zone_buttons(self) -> list[tuple[str, str | CallbackData]]:
        buttons: list[tuple[str, str | CallbackData]] = [
            (self._label(key), ZoneCb(zone=zone)) for zone, key in COMMON_ZONES
        ]
        buttons.append((self._label(Button.ZONE_OTHER), ZoneCb(zone="other")))
        return buttons

    def zone_choices(self, choices: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
        """The zones a typed place may mean, each labelled with its place and offset; then
        the common zones' choice and the menu."""
        buttons: list[tuple[str, str | CallbackData]] = [
            (label[:64], ZoneCb(zone=zone)) for label, zone in choices
        ]
        buttons.append((self._label(Button.ZONE_OTHER), ZoneCb(zone="other")))
        buttons.append((self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)))
        return self._markup(buttons)

    def zones(self) -> InlineKeyboardMarkup:
        buttons = self._zone_buttons()
        buttons.append((self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)))
        return self._markup(buttons, 2)

    def settings(self) -> InlineKeyboardMarkup:
        """The common zones, "another zone", then each other language by its own name."""
        buttons = self._zone_buttons()
        buttons.extend(
            (self.content.button(Button.LANGUAGE_NAME, lang), LangCb(lang=lang))
            for lang in self.content.languages
            if lang != self.lang
        )
        buttons.append((self._label(Button.MENU_HOME), MenuCb(to=MenuTarget.HOME)))
        return self._markup(buttons, 2)

    def forget_confirm(self, token: str) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (self._label(Button.FORGET_YES), ForgetCb(confirm=True, t=token)),
                (self._label(Button.FORGET_NO), ForgetCb(confirm=False, t=token)),
            ]
        )

    # --- staff -------------------------------------------------------------------------------
    def invite_confirm(self, token: str) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (
                    self._label(Button.INVITE_CONFIRM),
                    InviteCb(action=InviteAction.CONFIRM, t=token),
                ),
                (self._label(Button.INVITE_CHANGE), InviteCb(action=InviteAction.CHANGE, t=token)),
            ],
            2,
        )

    def invite_kinds(self, kinds: Sequence[tuple[str, str]], token: str) -> InlineKeyboardMarkup:
        """A button per kind of visit (its value and name), the clinic's default first."""
        return self._markup(
            [
                (
                    self._label(Button.INVITE_KIND, label=name),
                    InviteCb(action=InviteAction.KIND, k=kind, t=token),
                )
                for kind, name in kinds
            ]
            + [(self._label(Button.INVITE_CHANGE), InviteCb(action=InviteAction.CHANGE, t=token))],
            1,
        )

    def intake_confirm(self, token: str) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (self._label(Button.INTAKE_APPLY), IntakeCb(action=IntakeAction.APPLY, t=token)),
                (
                    self._label(Button.INTAKE_CANCEL),
                    IntakeCb(action=IntakeAction.CANCEL, t=token),
                ),
            ],
            1,
        )

    def invite_ambiguous(
        self, earlier: datetime, later: datetime, token: str
    ) -> InlineKeyboardMarkup:
        return self._two_readings(
            earlier,
            later,
            (Button.INVITE_PICK, Button.INVITE_CHANGE),
            lambda action: InviteCb(action=InviteAction(action), t=token),
        )

    def roster(
        self, day: str, page: int, pages: int, visits: Sequence[tuple[int, datetime, str]] = ()
    ) -> InlineKeyboardMarkup | None:
        """A roster page: Move and Cancel for each visit (appointment id, local start, label)
        staff may change, then the pages."""
        buttons: list[tuple[str, str | CallbackData]] = []
        for appointment_id, local, label in visits:
            name = f"{self.content.format_datetime(local, self.lang, 'time')} {label}"
            buttons.append(
                (
                    self._label(Button.VISIT_MOVE, label=name),
                    VisitCb(action=VisitAction.MOVE, id=appointment_id),
                )
            )
            buttons.append(
                (
                    self._label(Button.VISIT_CANCEL, label=name),
                    VisitCb(action=VisitAction.CANCEL, id=appointment_id),
                )
            )
        if page > 0:
            buttons.append((self._label(Button.ROSTER_PREV), RosterCb(day=day, page=page - 1)))
        if page + 1 < pages:
            buttons.append((self._label(Button.ROSTER_NEXT), RosterCb(day=day, page=page + 1)))
        return self._markup(buttons, 2) if buttons else None

    def _visit_offer(
        self, appointment_id: int, token: str, *keys: tuple[Button, VisitAction]
    ) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (self._label(key), VisitCb(action=action, id=appointment_id, t=token))
                for key, action in keys
            ],
            2,
        )

    def visit_move_confirm(self, appointment_id: int, token: str) -> InlineKeyboardMarkup:
        return self._visit_offer(
            appointment_id,
            token,
            (Button.VISIT_MOVE_CONFIRM, VisitAction.CONFIRM),
            (Button.VISIT_CHANGE, VisitAction.CHANGE),
        )

    def visit_cancel_confirm(self, appointment_id: int, token: str) -> InlineKeyboardMarkup:
        return self._visit_offer(
            appointment_id,
            token,
            (Button.VISIT_CANCEL_YES, VisitAction.CANCEL_YES),
            (Button.VISIT_CANCEL_NO, VisitAction.CANCEL_NO),
        )

    def visit_ambiguous(
        self, appointment_id: int, earlier: datetime, later: datetime, token: str
    ) -> InlineKeyboardMarkup:
        return self._two_readings(
            earlier,
            later,
            (Button.VISIT_PICK, Button.VISIT_CHANGE),
            lambda action: VisitCb(action=VisitAction(action), id=appointment_id, t=token),
        )

    def staff_members(self, members: Iterable[tuple[int, str]]) -> InlineKeyboardMarkup | None:
        """A Remove button for each (Telegram id, name)."""
        buttons: list[tuple[str, str | CallbackData]] = [
            (
                self._label(Button.STAFF_REMOVE, label=name),
                StaffCb(action=StaffAction.REMOVE, id=telegram_id),
            )
            for telegram_id, name in members
        ]
        return self._markup(buttons) if buttons else None

    def staff_remove_confirm(self, telegram_id: int, token: str) -> InlineKeyboardMarkup:
        return self._markup(
            [
                (
                    self._label(Button.STAFF_REMOVE_YES),
                    StaffCb(action=StaffAction.REMOVE_YES, id=telegram_id, t=token),
                ),
                (
                    self._label(Button.STAFF_REMOVE_NO),
                    StaffCb(action=StaffAction.REMOVE_NO, id=telegram_id, t=token),
                ),
            ],
            2,
        )
