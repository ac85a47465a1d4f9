"""Callback data for every button. Telegram echoes it back untrusted: handlers re-check
ownership and state, and data that does not unpack (an unknown action included: actions are
enums) matches no handler, so the fallback answers."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.domain.visits import VisitType

# Ids are database keys: anything outside this range is forged and must not reach a query.
MAX_ID = 2**62


class MenuTarget(StrEnum):
    APPOINTMENTS = "appointments"
    NEW = "new"
    PREPARE = "prepare"
    FAQ = "faq"
    SETTINGS = "settings"
    HELP = "help"
    HOME = "home"
    START = "start"


class DraftAction(StrEnum):
    CONFIRM = "confirm"
    CHANGE = "change"
    EARLIER = "earlier"  # the first of two readings of a time that happens twice
    LATER = "later"
    KIND = "kind"  # the kind of visit (k: a VisitType value)
    ADD = "add"  # a visit mentioned as moved, added as another one instead


class ApptAction(StrEnum):
    VIEW = "view"
    CHANGE = "change"
    CANCEL = "cancel"
    CANCEL_YES = "cancel_yes"
    CANCEL_NO = "cancel_no"
    CALENDAR = "calendar"


class ReminderAction(StrEnum):
    DONE = "done"
    SNOOZE = "snooze"
    COMING = "coming"
    RESCHEDULE = "reschedule"
    CHECKLIST = "checklist"
    CHECKIN_OK = "ok"
    CHECKIN_OFF = "off"
    CHECKIN_CALL = "call"


class MenuCb(CallbackData, prefix="m"):
    to: MenuTarget


class ConsentCb(CallbackData, prefix="c"):
    agree: bool


class InviteConsentCb(CallbackData, prefix="ci"):
    """ "I agree" under the consent text shown for an invite link: it carries the link's code,
    so the code is redeemed on consent without being stored anywhere first. (A prefix of its
    own: consent buttons already on patients' screens keep their meaning.)"""

    code: str


class DraftCb(CallbackData, prefix="d"):
    """Answers about the reading held in conversation state (never an instant in the data)."""

    action: DraftAction
    t: str = Field(default="", max_length=16)  # the offer's token (see new_token)


class ApptCb(CallbackData, prefix="a"):
    action: ApptAction
    id: int = Field(ge=1, le=MAX_ID)


class CancelVisitCb(CallbackData, prefix="ac"):
    """A patient's "Yes, cancel it", bound to the visit as it was shown (`v`, its version):
    moved by the clinic since, it is not cancelled and the patient is told where it is now.
    (A prefix of its own: ``ApptCb(cancel_yes)`` buttons already on screens keep working.)"""

    id: int = Field(ge=1, le=MAX_ID)
    v: int = Field(ge=1, le=MAX_ID)


class MoveVisitCb(CallbackData, prefix="dm"):
    """ "Move it" under a visit the patient said was moved (one button per visit when they have
    several): the visit (`id`) as the offer showed it (`v`, its version: changed since, it is
    not moved) and the offer's token (`t`, see new_token), whose time it moves to."""

    id: int = Field(ge=1, le=MAX_ID)
    v: int = Field(ge=1, le=MAX_ID)
    t: str = Field(default="", max_length=16)


class MovedVisitCb(CallbackData, prefix="dv"):
    """A visit the patient picks as the one that was moved, when they said so without its
    new time and have several (`id`): its new time is asked next (nothing is changed until
    the read-back's "Move it")."""

    id: int = Field(ge=1, le=MAX_ID)


class FaqCb(CallbackData, prefix="f"):
    key: str


class FaqInCb(CallbackData, prefix="fi"):
    """A topic under an answer given in the language a question was written in, not the
    patient's (bot/telegram/handlers/faq.py): its answer comes in that language too."""

    key: str
    lang: str = Field(max_length=8)  # a language folder of messages/ (checked when tapped)


class FaqMenuInCb(CallbackData, prefix="fm"):
    """ "More questions" / "All questions" under an answer given in the language a question
    was written in: the questions open in that language too. (A prefix of its own:
    ``MenuCb(to=faq)`` buttons already on screens keep opening them in the patient's.)"""

    lang: str = Field(max_length=8)  # a language folder of messages/ (checked when tapped)


class ZoneCb(CallbackData, prefix="z"):
    zone: str  # an IANA name from the common list, or "other"


class LangCb(CallbackData, prefix="lg"):
    lang: str = Field(max_length=8)  # a language folder of messages/ (checked when tapped)


class ForgetCb(CallbackData, prefix="x"):
    confirm: bool
    t: str = Field(default="", max_length=16)  # the offer's token (see new_token)


class ReminderCb(CallbackData, prefix="r"):
    """Buttons under a reminder. `id` is the reminder row; ownership is checked on every press."""

    action: ReminderAction
    id: int = Field(ge=1, le=MAX_ID)


class AttendCb(CallbackData, prefix="at"):
    """About one visit (an appointment id) of the patient who taps: "I can come after all"
    (`coming`), or the check-in's answer (`checkin`, a Checkin value). Ownership is checked
    on every press."""

    id: int = Field(ge=1, le=MAX_ID)
    coming: bool = False
    checkin: str = Field(default="", max_length=8)


class ChecklistCb(CallbackData, prefix="k"):
    """Toggle one preparation item of one appointment."""

    appt: int = Field(ge=1, le=MAX_ID)
    item: str = Field(max_length=32)
    done: bool


ITEMS_SEPARATOR = "."
"""Between the item keys of :class:`SaidUndoCb` (keys are letters, digits and "_")."""


class SaidUndoCb(CallbackData, prefix="ku"):
    """Undo under the items a patient's message ticked ("my husband is driving me home"):
    the visit (`appt`) and the item keys it ticked, joined by ITEMS_SEPARATOR. Ownership and
    the visit's state are checked on every press; an item still ticked is unticked."""

    appt: int = Field(ge=1, le=MAX_ID)
    items: str = Field(max_length=48, pattern=r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.items.split(ITEMS_SEPARATOR))


class InviteAction(StrEnum):
    CONFIRM = "confirm"
    CHANGE = "change"
    EARLIER = "earlier"  # the first of two readings of a time that happens twice
    LATER = "later"
    KIND = "kind"  # the kind of visit (k: a VisitType value)


class InviteCb(CallbackData, prefix="i"):
    """Staff answers about the invite held in conversation state (never an instant in the
    data); the permission is checked again on every press."""

    action: InviteAction
    t: str = Field(default="", max_length=16)  # the offer's token (see new_token)
    k: str = Field(default="", max_length=16)  # KIND: the visit type chosen


class IntakeAction(StrEnum):
    APPLY = "apply"
    CANCEL = "cancel"


class IntakeCb(CallbackData, prefix="iv"):
    """Staff answer the preview of a CSV of the clinic's schedule (the file itself is the
    document the preview replies to, fetched again before the unit of work,
    bot/telegram/documents.py); the permission is checked again on every press."""

    action: IntakeAction
    t: str = Field(default="", max_length=16)  # the offer's token (see new_token)


class RosterCb(CallbackData, prefix="o"):
    """A page of one day's roster."""

    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    page: int = Field(ge=0, le=1000)


class StaffAction(StrEnum):
    REMOVE = "remove"
    REMOVE_YES = "remove_yes"
    REMOVE_NO = "remove_no"


class StaffCb(CallbackData, prefix="s"):
    """Admins' buttons about one team member (a Telegram user id); "Yes, remove" and "No,
    keep" carry the token of the offer that showed them (see new_token)."""

    action: StaffAction
    id: int = Field(ge=1, le=MAX_ID)
    t: str = Field(default="", max_length=16)


class TextAction(StrEnum):
    """Staff editing texts (bot/telegram/handlers/staff_content.py)."""

    AREAS = "areas"
    AREA = "area"
    VIEW = "view"
    EDIT = "edit"
    WORDS = "w"  # change some words, not the whole text
    WORDS_ALL = "wa"  # the words found several times: change every one
    HISTORY = "hist"
    ROLLBACK = "rb"  # an older version, shown before it is restored
    RESTORE = "rs"
    CONFIRM = "ok"
    CANCEL = "no"
    NOOP = "noop"  # a patient's button shown in a preview: does nothing


class TextCb(CallbackData, prefix="sx"):
    """`k`: ``t`` a template, ``b`` a button label; `l` the language; `n` the text's name
    (``reminders/ride``, ``menu_faq``); `p` a page; `v` a version id (0: the shipped file) and
    `b` the live version the history was shown at; `t` the offer's token (see new_token)."""

    a: TextAction
    ar: str = Field(default="", max_length=16)
    k: str = Field(default="", max_length=1)
    l: str = Field(default="", max_length=8)  # noqa: E741
    n: str = Field(default="", max_length=40)
    p: int = Field(default=0, ge=0, le=1000)
    v: int = Field(default=0, ge=0, le=MAX_ID)
    b: int = Field(default=0, ge=0, le=MAX_ID)
    t: str = Field(default="", max_length=16)


class VisitAction(StrEnum):
    MOVE = "move"  # from the roster
    CANCEL = "cancel"  # from the roster
    EARLIER = "earlier"  # the first of two readings of a time that happens twice
    LATER = "later"
    CHANGE = "change"  # type another time
    CONFIRM = "confirm"  # the move
    CANCEL_YES = "cancel_yes"
    CANCEL_NO = "cancel_no"


class VisitCb(CallbackData, prefix="v"):
    """Staff buttons about one visit (an appointment id). Move and Cancel sit in the roster;
    the others answer the offer held in conversation state, whose token they carry. The
    permission is checked again on every press."""

    action: VisitAction
    id: int = Field(ge=1, le=MAX_ID)
    t: str = Field(default="", max_length=16)  # the offer's token (see new_token)


class FaqEditAction(StrEnum):
    """Staff editing the FAQ's questions (bot/telegram/handlers/staff_faq.py)."""

    LIST = "ls"
    QUESTION = "q"
    ADD = "add"
    UP = "up"
    DOWN = "dn"
    RENAME = "ti"
    KEYWORDS = "kw"
    REMOVE = "rm"
    CONFIRM = "ok"
    CANCEL = "no"


class PlanAction(StrEnum):
    """Staff editing the reminder plan (bot/telegram/handlers/staff_plan.py)."""

    VIEW = "view"
    STEP = "step"
    EDIT = "edit"
    CONFIRM = "ok"
    CANCEL = "no"
    HISTORY = "hist"
    ROLLBACK = "rb"  # an older plan, shown before it is restored
    RESTORE = "rs"


class FaqEditCb(CallbackData, prefix="sq"):
    """`l` the language; `q` a question's key; `t` the offer's token (see new_token)."""

    a: FaqEditAction
    l: str = Field(default="", max_length=8)  # noqa: E741
    q: str = Field(default="", max_length=24)  # FaqEntry's key
    t: str = Field(default="", max_length=16)


class PlanCb(CallbackData, prefix="sp"):
    """`k` a step's key; `o` the change (bot/services/plan_editing.py PlanOp); `v` a version
    id (0: the shipped plan); `t` the offer's token (see new_token); `y` the visit type whose
    plan it is, by its first letter (empty: infusion, as every button before visit types)."""

    a: PlanAction
    k: str = Field(default="", max_length=32)
    o: str = Field(default="", max_length=8)
    v: int = Field(default=0, ge=0, le=MAX_ID)
    t: str = Field(default="", max_length=16)
    y: str = Field(default="", max_length=1)


def type_code(kind: VisitType) -> str:
    """A visit type in a button's data: its first letter ("" for infusion, see PlanCb.y)."""
    return "" if kind is VisitType.INFUSION else kind.value[0]


def type_of_code(code: str) -> VisitType | None:
    """The visit type of a button's `y` (None: none has that letter)."""
    if not code:
        return VisitType.INFUSION
    return next((kind for kind in VisitType if kind.value[0] == code), None)
