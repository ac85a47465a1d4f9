from aiogram.fsm.state import State, StatesGroup


class Booking(StatesGroup):
    waiting_for_time = State()
    confirming = State()


class Settings(StatesGroup):
    waiting_for_zone = State()
