"""The adversarial round of issue 18: staff edits that tried to hurt patients or the bot. Each
must be refused by the one validator (check_text, as a staff edit is) quickly, and a stored
version that bypassed it must fail fast when rendered, never hold the event loop."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from bot.content.catalogue import NO_PREPARATION, SAMPLE_WHEN, ReminderText
from bot.content.sandbox import RenderLimit
from bot.content.store import Content, ContentError
from bot.content.telegram_html import check_telegram_html
from bot.content.validate import check_text, validate_content
from bot.domain.content_kinds import PLAN_KEY, ContentKind

BUNDLED = Path(__file__).resolve().parents[2] / "messages"
EYE_MASK = "en/reminders/evening_before"


@pytest.fixture(scope="module")
def content() -> Content:
    return Content(BUNDLED)


def problems(content: Content, key: str, body: str) -> list[str]:
    return [p.message for p in check_text(content, ContentKind.TEMPLATE, key, body)]


def refused_quickly(content: Content, key: str, body: str, expected: str) -> None:
    started = time.perf_counter()
    found = problems(content, key, body)
    took = time.perf_counter() - started
    # Past the steps, or past the CPU time a render may take: whichever comes first.
    assert any(expected in p or "takes too long" in p for p in found), found
    assert took < 1.5, f"checking took {took:.2f} s"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "{% for a in range(3000) %}{% for b in range(3000) %}x{% endfor %}{% endfor %}",
            "too much work",
        ),
        ("{% for a in range(4000) %}{{ 'xxxxx' }}{% endfor %}", "a text over 16,384"),
        (
            "{% for a in range(3000) %}{% for b in range(3000) %}{% endfor %}{% endfor %}",
            "too much work",
        ),
        ("{{ 'x' * 80000000 }}", "over 16,384 characters"),
        ("{{ 'x'.center(80000000) }}", "larger than a message needs"),
        ("{{ '{:>80000000}'.format(1) }}", "str.format is not available"),
        ("{{ '%80000000d' % 1 }}", "%-formatting is not available"),
        ("{{ 9 ** (9 ** 9) }}", "number too large"),
        (
            "{% set ns = namespace(s='xx') %}{% for i in range(60) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
            "over 16,384 characters",
        ),
        (
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(40) }}",
            "too much work",
        ),
        ("{{ range(9000) | join('x' * 900) }}", "over 16,384 characters"),
    ],
)
def test_work_and_size_are_limited(content: Content, body: str, expected: str) -> None:
    refused_quickly(content, EYE_MASK, body, expected)


def test_a_stored_version_that_bypassed_the_check_fails_fast_when_sent(content: Content) -> None:
    nested = "{% for a in range(3000) %}{% for b in range(3000) %}{% endfor %}{% endfor %}"
    live = content.overlaid({(ContentKind.TEMPLATE, EYE_MASK): nested})
    message = ReminderText(
        template_name="reminders/evening_before",
        when=SAMPLE_WHEN,
        checklist=(),
        attendance=None,
        catch_up=False,
        preparation=NO_PREPARATION,
    )
    started = time.perf_counter()
    with pytest.raises(ContentError, match="too much work"):
        live.render_message(message, "en")
    assert time.perf_counter() - started < 0.3
    with pytest.raises(RenderLimit):
        live._html.from_string("{{ 'x' * 10 ** 8 }}").render()


def test_a_failure_on_some_dates_only_is_found_before_saving(content: Content) -> None:
    # Fine on the sample date (December 3); divides by zero on a month's 31st.
    body = "Tomorrow {{ when | when }} {{ (1 / (when.day - 31)) | round }}"
    assert problems(content, "en/reminders/playlist", body)
    leap = "{% if when.month == 2 and when.day == 29 %}{{ clinic.nope.x }}{% endif %}Tomorrow"
    assert problems(content, "en/reminders/playlist", leap)
    dst = "{% if when.fold %}{{ 1 // 0 }}{% endif %}"  # the second 1:30 of a night
    assert problems(content, "en/reminders/playlist", "Tomorrow" + dst)


@pytest.mark.parametrize(
    "word",
    [
        "<b>ket</b>amine",
        "ket\u200bamine",  # a zero-width space
        "ket\u00adamine",  # a soft hyphen
        "k\u0435tamine",  # a Cyrillic е
        "KETAM\u0399NE",  # a Greek capital iota, read as I
        "ketam\u04cfne",  # a Cyrillic small palochka, read as i
        "k&#101;tamine",  # an HTML entity
        "KETAMINE",
        "k e t a m i n e",
        "infusi&oacute;n",
    ],
)
def test_the_lock_screen_rule_reads_what_the_patient_would_see(content: Content, word: str) -> None:
    found = problems(content, "en/reminders/ride", f"Your {word} visit is in two days")
    assert any("lock screens" in p for p in found), found


@pytest.mark.parametrize("name", ["visit_moved_notice", "visit_cancelled_notice"])
def test_notices_about_a_visit_are_held_to_the_lock_screen_rule(
    content: Content, name: str
) -> None:
    found = problems(content, f"en/{name}", "Your ketamine infusion changed.")
    assert any("lock screens" in p for p in found), found


def test_python_objects_never_reach_a_patient(content: Content) -> None:
    for body in ("{{ cycler }}", "{{ checklist }}", "{{ when }}", "{{ none }}", "{{ range }}"):
        found = problems(content, EYE_MASK, body)
        assert any("where text belongs" in p for p in found), (body, found)
    assert problems(content, EYE_MASK, "{{ lipsum(100000) }}")


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<span>hidden</span>", 'only as <span class="tg-spoiler">'),
        ("<tg-emoji>👍</tg-emoji>", "needs an emoji-id"),
        ('<a href="javascript:alert(1)">x</a>', "href starting with"),
        ("fish &nbsp; chips", "not an entity Telegram knows"),
        ("a < b", "must be written &lt;"),
        ("<code><b>x</b></code>", "inside <code>"),
        ('<a href="https://a.example"><a href="https://b.example">x</a></a>', "inside <a>"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "inside another"),
        ("😀" * 2100, "over Telegram's 4096"),  # 4,200 UTF-16 units
    ],
)
def test_telegram_html_as_telegram_applies_it(html: str, expected: str) -> None:
    assert any(expected in p for p in check_telegram_html(html)), check_telegram_html(html)


def test_telegram_html_accepts_what_telegram_does() -> None:
    for html in (
        '<span class="tg-spoiler">x</span>',
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        '<pre><code class="language-python">x</code></pre>',
        '<b><a href="https://a.example">x</a></b>',
        '<a href="tg://user?id=1"><b>x</b></a>',
        "5 &lt; 6 &amp; 7 &gt; 1 &quot;q&quot; &#169;",
        "<blockquote expandable>x</blockquote>",
    ):
        assert check_telegram_html(html) == [], html


def test_lines_that_run_together_are_caught(content: Content) -> None:
    body = "{% if not catch_up %}<b>Tomorrow</b>{% endif %}\nPack an eye mask."
    found = problems(content, EYE_MASK, body)
    assert any("run together on one line" in p for p in found), found
    fixed = "{% if not catch_up %}\n<b>Tomorrow</b>\n{% endif %}\nPack an eye mask."
    assert problems(content, EYE_MASK, fixed) == []


def test_an_english_edit_is_checked_in_every_language_that_includes_it(tmp_path: Path) -> None:
    messages = tmp_path / "messages"
    shutil.copytree(BUNDLED, messages)
    # A Spanish catch-up with a long introduction; the new step "water" has English words only,
    # which the Spanish catch-up includes.
    catch_up = messages / "es" / "reminders" / "catch_up.html.j2"
    catch_up.write_text("Antes de su visita. " * 130 + catch_up.read_text(), encoding="utf-8")
    content = Content(messages)
    plan = (messages / "plans" / "infusion.toml").read_text(encoding="utf-8")
    plan += '\n[[step]]\nkey = "water"\nat = "-1d@12:00"\ntemplate = "reminders/water"\n'
    with_step = content.overlaid({(ContentKind.PLAN, PLAN_KEY): plan})
    body = "Drink plenty of water today. " * 50  # about 1,450 characters
    water = "en/reminders/water"
    found = [str(p) for p in check_text(with_step, ContentKind.TEMPLATE, water, body)]
    assert any("es/reminders/catch_up" in p and "over Telegram's 4096" in p for p in found), found


def test_an_export_with_a_question_in_one_language_only_passes_the_check(tmp_path: Path) -> None:
    messages = tmp_path / "messages"
    shutil.copytree(BUNDLED, messages)
    faq = messages / "en" / "faq.toml"
    faq.write_text(
        faq.read_text(encoding="utf-8")
        + '\n[[prompt]]\nkey = "wifi"\ntitle = "Is there wifi?"\nkeywords = ["wifi"]\n'
        'template = "faq/wifi"\n',
        encoding="utf-8",
    )
    (messages / "en" / "faq" / "wifi.html.j2").write_text("Yes, ask at the desk.")
    assert validate_content(messages) == []
    spanish = Content(messages).faq("es")
    assert spanish.by_key("wifi") is not None  # Spanish patients see it, in English
