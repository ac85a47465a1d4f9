"""Conversation states (aiogram FSM), kept in the database with the update's transaction."""

from aiogram.fsm.state import State, StatesGroup


class Booking(StatesGroup):
    waiting_for_time = State()
    confirming = State()


class ZoneSetting(StatesGroup):
    waiting_for_zone = State()


class Forgetting(StatesGroup):
    confirming = State()
