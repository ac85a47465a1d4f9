"""Conversation states (aiogram FSM), kept in the database with the update's transaction."""

from aiogram.fsm.state import State, StatesGroup


class Booking(StatesGroup):
    waiting_for_time = State()
    confirming = State()


class ZoneSetting(StatesGroup):
    waiting_for_zone = State()


class Forgetting(StatesGroup):
    confirming = State()


class Inviting(StatesGroup):
    """Staff making an invite: the visit's time, (a choice if it happens twice), a label, the
    kind of visit (a button each), and a confirmation."""

    waiting_for_time = State()
    picking = State()
    waiting_for_label = State()
    choosing_kind = State()
    confirming = State()


class TextEditing(StatesGroup):
    """A staff member editing a text: waiting for the new text (or for some words and their
    new words), then confirming it."""

    waiting_for_text = State()
    waiting_for_words = State()
    confirming = State()


class ChangingVisit(StatesGroup):
    """Staff moving a visit (the new time, a choice if it happens twice, a confirmation) or
    cancelling it (a confirmation)."""

    waiting_for_time = State()
    picking = State()
    confirming_move = State()
    confirming_cancel = State()


class QuestionEditing(StatesGroup):
    """A staff member changing the FAQ: a new question's key, title, keywords and answer (or
    a question's new title or keywords), then confirming."""

    waiting_for_key = State()
    waiting_for_title = State()
    waiting_for_keywords = State()
    waiting_for_answer = State()
    confirming = State()


class PlanDraft(StatesGroup):
    """A staff member changing the plan: waiting for a value (a time, a list, a new step),
    then confirming the new timeline."""

    waiting_for_value = State()
    confirming = State()


TEAM_CONVERSATIONS: tuple[type[StatesGroup], ...] = (
    Inviting,
    TextEditing,
    ChangingVisit,
    QuestionEditing,
    PlanDraft,
)
"""The conversations only a team member can start (each starts after the permission check)."""


def in_team_conversation(state: str | None) -> bool:
    """Whether `state` is a step of one of the team's conversations."""
    return state is not None and any(state in group for group in TEAM_CONVERSATIONS)
