"""Checks that a rendered text is HTML Telegram accepts (its small tag set, balanced)."""

from __future__ import annotations

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


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text_length = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed by Telegram")
            return
        if tag == "a" and not any(k == "href" and v for k, v in attrs):
            self.problems.append("<a> needs an href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"closing </{tag}> does not match")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text_length += len(data)


def check_telegram_html(text: str) -> list[str]:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    problems = list(checker.problems)
    if checker.stack:
        problems.append(f"unclosed tags: {', '.join(checker.stack)}")
    if not text.strip():
        problems.append("renders to an empty message")
    if checker.text_length > MAX_MESSAGE_LENGTH:
        problems.append(f"{checker.text_length} characters, over Telegram's {MAX_MESSAGE_LENGTH}")
    return problems
