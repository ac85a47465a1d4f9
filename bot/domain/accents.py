"""Words compared without their accents ("recuperación" == "recuperacion", "mañana" ==
"manana"), as people type them on a phone. The crisis screen strips more than this (every
nonspacing mark, against marks stacked on letters to dodge it): see `bot.domain.safety`."""

from __future__ import annotations

import unicodedata

__all__ = ["unaccented"]


def unaccented(text: str) -> str:
    """`text` after canonical decomposition, without its combining marks; ASCII as it is."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
