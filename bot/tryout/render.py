"""Telegram HTML as terminal text: tags dropped, entities decoded, line breaks kept; bold and
italics in ANSI only for a terminal; a link's address after its text."""

from __future__ import annotations

from html.parser import HTMLParser

_STYLES = {"b": "1", "strong": "1", "i": "3", "em": "3", "u": "4", "ins": "4"}
_RESET = "\x1b[0m"


class _Text(HTMLParser):
    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.parts: list[str] = []
        self._open: list[str] = []  # the styles in force
        self._links: list[tuple[str, int]] = []  # href, where its text starts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.parts)))
        elif tag in _STYLES and self.color:
            self._open.append(_STYLES[tag])
            self.parts.append(f"\x1b[{_STYLES[tag]}m")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            href, start = self._links.pop()
            text = "".join(p for p in self.parts[start:] if not p.startswith("\x1b"))
            if href and href != text.strip():
                self.parts.append(f" ({href})")
        elif tag in _STYLES and self.color and self._open:
            self._open.pop()
            self.parts.append(_RESET + "".join(f"\x1b[{s}m" for s in self._open))

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def terminal_text(html: str, *, color: bool = False) -> str:
    """The text a Telegram client would show for `html` (parse_mode HTML)."""
    parser = _Text(color)
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip("\n")
