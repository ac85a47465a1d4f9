"""The edits staff make through buttons (the FAQ's questions, the plan's steps), as one kind
of enum: each member's value is the short code its buttons and conversation state carry, and
its `word` what the code stands for where the code is not enough: the history's verb of a FAQ
change ("moved up"), the plan file's field of a plan edit ("enabled")."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

__all__ = ["EditOp"]


class EditOp(StrEnum):
    """Members are written ``NAME = "code", "word"``, or ``NAME = "code"`` where the word is
    the code."""

    word: str

    def __new__(cls, code: str, word: str | None = None) -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.word = code if word is None else word
        return member
