"""Checks that a rendered text is HTML Telegram accepts, by the rules Telegram applies
(Bot API, "HTML style" and "nested entities"):

- only its tags: b, strong, i, em, u, ins, s, strike, del, a href, code, pre, blockquote
  (``expandable`` allowed), tg-spoiler, ``span class="tg-spoiler"``, ``tg-emoji emoji-id``;
- a link's href is an http(s) or tg:// address;
- ``<`` and ``&`` in the text are written as entities, and the named entities are only
  ``&lt; &gt; &amp; &quot;`` (numeric ones are all accepted);
- tags are balanced, and nest as entities may: code and pre hold nothing but text (a pre may
  hold one code, for its language), links hold no links, code or pre, and a blockquote is
  never inside another;
- at most 4,096 characters of text, counted as Telegram counts them (UTF-16 code units).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
        "tg-emoji",
    }
)
MAX_MESSAGE_LENGTH = 4096
_NAMED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
_HREF_RE = re.compile(r"^(?:https?://[^\s]+|tg://[^\s]+)$", re.IGNORECASE)
# Tags no other entity may contain (bold, italic, underline, strike and spoiler may).
_EXCLUSIVE = frozenset({"a", "code", "pre"})


def utf16_length(text: str) -> int:
    """The length of `text` as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed by Telegram")
            return
        values = dict(attrs)
        if tag == "a" and not _HREF_RE.match(values.get("href") or ""):
            self.problems.append("<a> needs an href starting with https://, http:// or tg://")
        if tag == "span" and values.get("class") != "tg-spoiler":
            self.problems.append('tag <span> is allowed only as <span class="tg-spoiler">')
        if tag == "tg-emoji" and not (values.get("emoji-id") or "").isdigit():
            self.problems.append("tag <tg-emoji> needs an emoji-id (a custom emoji's number)")
        self._nesting(tag)
        self.stack.append(tag)

    def _nesting(self, tag: str) -> None:
        if not self.stack:
            return
        inside = self.stack[-1]
        if inside == "pre" and tag == "code":
            return  # a pre block's language
        if inside in ("code", "pre"):
            self.problems.append(f"<{tag}> inside <{inside}>: Telegram shows code as plain text")
        elif tag in _EXCLUSIVE and any(t in _EXCLUSIVE for t in self.stack):
            outer = next(t for t in reversed(self.stack) if t in _EXCLUSIVE)
            self.problems.append(f"<{tag}> inside <{outer}> is not allowed by Telegram")
        elif tag == "blockquote" and "blockquote" in self.stack:
            self.problems.append("a <blockquote> inside another is not allowed by Telegram")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"tag <{tag}/> is not allowed by Telegram")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"closing </{tag}> does not match")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self.problems.append("a “<” in the text must be written &lt;")
        if "&" in data:
            self.problems.append("an “&” in the text must be written &amp;")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            self.problems.append(
                f"&{name}; is not an entity Telegram knows (only &lt; &gt; &amp; &quot;)"
            )
        self.text.append("x")

    def handle_charref(self, name: str) -> None:
        self.text.append("x")

    def handle_comment(self, data: str) -> None:
        self.problems.append("an HTML comment <!-- --> is not allowed by Telegram")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"<!{decl}> is not allowed by Telegram")

    def unknown_decl(self, data: str) -> None:
        self.handle_decl(data)

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"<?{data}> is not allowed by Telegram")


def check_telegram_html(text: str) -> list[str]:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    problems = list(dict.fromkeys(checker.problems))
    if checker.stack:
        problems.append(f"unclosed tags: {', '.join(checker.stack)}")
    if not text.strip():
        problems.append("renders to an empty message")
    length = utf16_length("".join(checker.text))
    if length > MAX_MESSAGE_LENGTH:
        problems.append(f"{length} characters, over Telegram's {MAX_MESSAGE_LENGTH}")
    return problems
