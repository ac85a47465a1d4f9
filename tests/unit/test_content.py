"""The one content loader and validator: what staff edits it accepts and what it refuses."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from bot.content.catalogue import (
    CATALOGUE,
    AppointmentError,
    AppointmentHalf,
    AttendReschedule,
    Button,
    ChatCommand,
    ReminderText,
)
from bot.content.loading import TEMPLATE_RECHECK_SECONDS
from bot.content.store import Content, ContentError
from bot.content.telegram_html import check_telegram_html
from bot.content.validate import samples_of, validate_content
from bot.domain.content_kinds import TEMPLATE_SUFFIX

BUNDLED = Path(__file__).resolve().parents[2] / "messages"


@pytest.fixture
def messages(tmp_path: Path) -> Path:
    copy = tmp_path / "messages"
    shutil.copytree(BUNDLED, copy)
    return copy


def test_bundled_content_is_valid() -> None:
    assert validate_content(BUNDLED) == []


def test_datetime_is_written_from_data_not_locale() -> None:
    content = Content(BUNDLED)
    when = datetime(2026, 12, 3, 14, 30, tzinfo=ZoneInfo("America/New_York"))
    assert content.format_datetime(when, "en") == "Thursday, December 3, 2026 at 2:30 PM EST"
    assert content.format_datetime(when, "en", "datetime_short") == "Thu Dec 3, 2:30 PM"
    midnight = datetime(2027, 7, 4, 0, 5, tzinfo=ZoneInfo("America/New_York"))
    assert content.format_datetime(midnight, "en").endswith("at 12:05 AM EDT")


def test_language_falls_back_to_default() -> None:
    content = Content(BUNDLED)
    assert content.language_for("fr-FR") == "en"
    assert content.language_for("es-MX") == "es"
    assert content.language_for("fr") == "en"
    assert content.language_for(None) == "en"
    assert content.template_name("menu", "xx") == "en/menu.html.j2"


def test_spanish_dates_are_spelled_in_spanish() -> None:
    content = Content(BUNDLED)
    when = datetime(2026, 12, 3, 14, 30, tzinfo=ZoneInfo("America/New_York"))
    assert (
        content.format_datetime(when, "es") == "jueves 3 de diciembre de 2026, a las 2:30 p. m. EST"
    )
    assert content.format_datetime(when, "es", "datetime_short") == "jue 3 dic, 2:30 p. m."


def test_a_text_missing_from_a_shipped_language_is_reported(messages: Path) -> None:
    (messages / "es" / "reminders" / "ride.html.j2").unlink()
    (messages / "es" / "staff_commands.toml").unlink()
    problems = validate_content(messages)
    assert (
        f"{messages / 'es' / 'reminders' / 'ride.html.j2'}: missing (falls back to en)" in problems
    )
    assert f"{messages / 'es' / 'staff_commands.toml'}: missing (falls back to en)" in problems


def test_a_label_command_or_question_missing_from_a_shipped_language_is_reported(
    messages: Path,
) -> None:
    es = messages / "es"
    buttons = (es / "buttons.toml").read_text(encoding="utf-8")
    (es / "buttons.toml").write_text(buttons.replace('faq_more = "Más preguntas"\n', ""))
    commands = (es / "commands.toml").read_text(encoding="utf-8")
    (es / "commands.toml").write_text(commands.rsplit("[[command]]", 1)[0])
    faq = (es / "faq.toml").read_text(encoding="utf-8")
    (es / "faq.toml").write_text(faq.rsplit("[[prompt]]", 1)[0])
    problems = validate_content(messages)
    assert f"{es / 'buttons.toml'}: missing labels ['faq_more']" in problems
    assert f"{es / 'commands.toml'}: missing commands ['forget']" in problems
    # A question falls back like a text (a question staff add in one language reaches every
    # patient at once): not a problem of the folder.
    assert not any("missing questions" in p or "back_to_work" in p for p in problems), problems
    # English stays complete, and Spanish still falls back to it for what is missing.
    content = Content(messages)
    assert content.button("faq_more", "es") == "More questions"
    contact = content.faq("es").by_key("back_to_work")
    assert contact is not None and contact == content.faq("en").by_key("back_to_work")


def test_patient_values_are_escaped() -> None:
    content = Content(BUNDLED)
    text = content.render(
        "timezone_saved",
        "en",
        place="<b>x</b>&",
        zone_name="UTC",
        now_local=datetime.now(ZoneInfo("UTC")),
    )
    assert "&lt;b&gt;x&lt;/b&gt;&amp;" in text


def test_button_labels_with_and_without_jinja(messages: Path) -> None:
    labels = messages / "en" / "buttons.toml"
    labels.write_text(
        labels.read_text(encoding="utf-8")
        + 'x_plain = "  Café ✅  "\nx_blank = "   "\nx_braces = "{{ label }} (at {{ lang }})"\n'
        + 'x_long = "'
        + "a" * 50
        + '{{ label }}"\n',
        encoding="utf-8",
    )
    content = Content(messages)
    # A label with no jinja in it is used as written (stripped), the same text jinja would give.
    assert content.button("x_plain", "en") == "Café ✅"
    assert content.button("x_plain", "en") == "Café ✅"  # second call: from the cache
    assert content.button("x_blank", "en") == "x_blank"
    assert content.button("x_braces", "en", label="Ride") == "Ride (at en)"
    assert content.button("x_braces", "en", label="Mask") == "Mask (at en)"
    assert content.button("x_long", "en", label="b" * 20) == "a" * 50 + "b" * 14  # 64 at most
    with pytest.raises(ContentError, match="x_braces"):
        content.button("x_braces", "en")  # a variable the label needs is missing


def test_templates_edited_on_disk_are_used_within_a_second(
    messages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    now = [1000.0]
    monkeypatch.setattr("bot.content.loading.time.monotonic", lambda: now[0])
    content = Content(messages)
    path = messages / "en" / "probe.html.j2"
    path.write_text("first {{ lang }}", encoding="utf-8")
    assert content.render("probe", "en") == "first en"
    path.write_text("second {{ lang }}", encoding="utf-8")
    os.utime(path, (2_000_000_000, 2_000_000_000))  # a newer file time, whatever the disk's
    now[0] += 0.5
    assert content.render("probe", "en") == "first en"  # not looked up again yet
    now[0] += TEMPLATE_RECHECK_SECONDS
    assert content.render("probe", "en") == "second en"
    path.unlink()
    now[0] += TEMPLATE_RECHECK_SECONDS
    with pytest.raises(ContentError, match="template is missing"):
        content.render("probe", "en")


def _problems_after(messages: Path, relative: str, text: str) -> list[str]:
    (messages / relative).write_text(text, encoding="utf-8")
    return validate_content(messages)


@pytest.mark.parametrize(
    ("relative", "text", "expected"),
    [
        ("en/menu.html.j2", "{{ nope }}", "unknown variable nope"),
        ("en/menu.html.j2", "{% if %}", "menu.html.j2"),
        ("en/menu.html.j2", "<div>hi</div>", "tag <div> is not allowed"),
        ("en/menu.html.j2", "<b>hi", "unclosed tags: b"),
        ("en/menu.html.j2", "x" * 5000, "over Telegram's 4096"),
        ("en/menu.html.j2", "{{ clinic.__class__.__mro__ }}", "menu.html.j2"),
        ("en/reminders/ride.html.j2", "Your ketamine visit", "lock screens; remove 'ketamine'"),
        ("en/reminders/ride.html.j2", "Call {{ clinic.name }}", "remove 'ki ketamine'"),
        (
            "en/reminders/esketamine/ride.html.j2",
            "Your esketamine session",
            "lock screens; remove 'esketamine'",
        ),
        ("es/reminders/esketamine/arrival.html.j2", "Su sesión de Spravato", "remove 'spravato'"),
        ("en/reminders/consultation/arrival.html.j2", "{{ preparation.nope }}", "arrival"),
        ("en/formats.toml", "weekdays = []", "formats.toml"),
        ("clinic.toml", 'name = "X"\nphone = "call me"\nphone_e164 = "+1"', "clinic.toml"),
        ("plans/infusion.toml", "checklist = []\n[[step]]\nkey = 'a'\nat = '-3x'", "infusion"),
        (
            "plans/esketamine.toml",
            "checklist = []\n\n[[step]]\nkey = 'a'\nat = '-3x'",
            "plans/esketamine.toml:5: step[1].at",
        ),
        (
            "plans/consultation.toml",
            "checklist = ['x']\n[[step]]\nkey = 'a'\nat = '-3d'\ntemplate = 'a'\nitems = ['y']",
            "plans/consultation.toml:6: step[1].items: 'y' is not in checklist",
        ),
        ("plan.toml", "checklist = []", "plan.toml is no longer read"),
        ("en/buttons.toml", 'menu_home = "{{ broken"', "buttons.toml"),
    ],
)
def test_hostile_or_broken_edits_are_named(
    messages: Path, relative: str, text: str, expected: str
) -> None:
    problems = _problems_after(messages, relative, text)
    assert problems, "the edit must be refused"
    assert any(expected in p for p in problems), problems


def test_format_placeholders_cannot_reach_attributes(messages: Path) -> None:
    path = messages / "en" / "formats.toml"
    text = path.read_text().replace('time = "{hour12}:{minute} {ampm}"', 'time = "{day.__class__}"')
    problems = _problems_after(messages, "en/formats.toml", text)
    assert any("unknown placeholders" in p for p in problems), problems


def test_missing_template_is_reported(messages: Path) -> None:
    (messages / "en" / "welcome.html.j2").unlink()
    assert any("welcome" in p and "missing" in p for p in validate_content(messages))


def test_broken_content_raises_content_error_when_rendered(messages: Path) -> None:
    (messages / "en" / "menu.html.j2").write_text("{{ nope }}")
    with pytest.raises(ContentError, match=r"menu\.html\.j2"):
        Content(messages).render("menu", "en")


@pytest.mark.parametrize(
    ("html", "ok"),
    [
        ("<b>a</b> <i>b</i> <a href='https://x'>c</a> <code>d</code>", True),
        ("<tg-spoiler>x</tg-spoiler><blockquote>q</blockquote>", True),
        ("<br>", False),
        ("<a>no href</a>", False),
        ("<b><i>crossed</b></i>", False),
        ("", False),
    ],
)
def test_telegram_html_subset(html: str, ok: bool) -> None:
    assert (check_telegram_html(html) == []) is ok


def test_every_message_has_its_template_and_samples() -> None:
    for name, message in CATALOGUE.items():
        assert (BUNDLED / "en" / f"{name}{TEMPLATE_SUFFIX}").is_file(), name
        samples = message.samples()
        assert samples, name
        assert all(s.template() == name for s in samples)
        assert all(set(s.variables()) == message.declared() for s in samples)


def test_every_text_the_code_names_is_in_the_catalogue() -> None:
    """Top-level templates are rendered by code; faq/ and reminders/ are named by data."""
    top_level = {p.name.removesuffix(TEMPLATE_SUFFIX) for p in (BUNDLED / "en").glob("*.j2")}
    assert top_level == set(CATALOGUE)


def test_samples_try_each_branch() -> None:
    codes = {s.code for s in AppointmentError.samples()}
    assert {"empty", "unreadable", "past", "too_many", "nonexistent"} <= codes
    assert len(AttendReschedule.samples()) == 4


@pytest.mark.parametrize(
    ("relative", "text", "expected"),
    [
        (
            "en/appointment_confirm.html.j2",
            "{{ when | when }} in {{ zone }}",
            "appointment_confirm.html.j2:1: unknown variable zone"
            " (known: changing, day_first, mentioned, next_year, when)",
        ),
        ("en/menu.html.j2", "{{ nope }}", "menu.html.j2:1: unknown variable nope (known: none)"),
        (
            "en/reminders/ride.html.j2",
            "{{ when | when }} {{ patient }}",
            "unknown variable patient"
            " (known: attendance, catch_up, checklist, preparation, sections, when)",
        ),
        ("en/faq/recovery.html.j2", "{{ answer }}", "recovery.html.j2:1: unknown variable answer"),
    ],
)
def test_a_template_reading_an_unknown_variable_is_named(
    messages: Path, relative: str, text: str, expected: str
) -> None:
    (messages / relative).write_text(text, encoding="utf-8")
    problems = validate_content(messages)
    assert any(expected in p for p in problems), problems


def test_globals_loop_variables_and_lang_are_not_unknown(messages: Path) -> None:
    (messages / "en" / "menu.html.j2").write_text(
        "{% set n = 2 %}{% for i in range(n) %}{{ i }}{% endfor %} {{ clinic.phone }} {{ lang }}",
        encoding="utf-8",
    )
    assert validate_content(messages) == []


def test_buttons_and_commands_the_code_uses_must_exist(messages: Path) -> None:
    labels = messages / "en" / "buttons.toml"
    labels.write_text(
        labels.read_text(encoding="utf-8").replace(f"{Button.REMINDER_SNOOZE} =", "x_snooze ="),
        encoding="utf-8",
    )
    commands = messages / "en" / "commands.toml"
    commands.write_text(
        commands.read_text(encoding="utf-8").replace(
            f'command = "{ChatCommand.PAUSE}"', 'command = "hold"'
        ),
        encoding="utf-8",
    )
    problems = validate_content(messages)
    assert any("missing labels ['reminder_snooze']" in p for p in problems), problems
    assert any("missing commands ['pause']" in p for p in problems), problems
    assert any("no handler for commands ['hold']" in p for p in problems), problems


def test_a_copy_of_the_lexicons_is_the_same_detector_and_a_broken_one_names_its_file(
    tmp_path: Path,
) -> None:
    """The crisis detector is compiled once per process for the same lexicon texts, wherever
    they are read (a copy of the messages folder, as a preview or a test makes); a lexicon
    that fails is not kept, and its error names the file of the call that read it."""
    copy = tmp_path / "copy"
    shutil.copytree(BUNDLED, copy)
    original = Content(BUNDLED).crisis_detector_without_model
    assert Content(copy).crisis_detector_without_model is original
    broken = tmp_path / "broken"
    shutil.copytree(BUNDLED, broken)
    lexicon = broken / "es" / "safety.toml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8") + "\n[[nonsense\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ContentError, match=re.escape(str(lexicon))):
            _ = Content(broken).crisis_detector_without_model


def _label_ending_in_a_period(name: str, value: object) -> object:
    """`value` of variable `name` with every label in it ending in a period: the label staff
    gave a visit ("J.D."), a checklist item's or a roster line's."""
    if name in ("label", "visit_label") and isinstance(value, str) and value:
        return "J.D."
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(
            {**item, "label": "Eye mask."}
            if isinstance(item, Mapping) and item.get("label")
            else item
            for item in value
        )
    return value


def test_a_label_ending_in_a_period_gets_no_second_one() -> None:
    """A label is shown as it was given, and a text never ends a sentence right after it:
    "label J.D.." (the label staff typed, with its period, then the sentence's) reads as a
    slip. A comma after it is fine ("J.D., Thursday"). Every message of the catalogue, every
    sample, both languages."""
    content = Content(BUNDLED)
    doubled = set()
    for name, message in CATALOGUE.items():
        for sample in message.samples():
            changed = dataclasses.replace(
                cast(Any, sample),
                **{
                    variable: _label_ending_in_a_period(variable, getattr(sample, variable))
                    for variable in message.declared()
                },
            )
            for lang in ("en", "es"):
                text = re.sub(r"<[^>]*>", "", content.render_message(changed, lang))
                for match in re.finditer(r"(J\.D|Eye mask)\.\.", text):
                    doubled.add((name, lang, text[max(match.start() - 30, 0) : match.end() + 5]))
    assert sorted(doubled) == []


def _in_the_morning(value: object) -> object:
    """`value` with every date and time in it (in lists and lines too) moved to 10:00, when
    Spanish writes "10:00 a. m.", a time that ends in a period."""
    if isinstance(value, datetime):
        return value.replace(hour=10, minute=0)
    if isinstance(value, Mapping):
        return {key: _in_the_morning(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_in_the_morning(item) for item in value)
    return value


def _ending_in_periods(messages: Path) -> Content:
    """The bundled texts with the clinic's facts ending in a period, as a clinic may write
    them ("Washington, D.C.", "12 Elm St.")."""
    clinic = messages / "clinic.toml"
    text = clinic.read_text(encoding="utf-8")
    for field, value in (
        ("name", "Ki Ketamine Co."),
        ("city", "Washington, D.C."),
        ("address", "12 Elm St."),
        ("hours", "Monday to Friday, 9 AM to 5 p.m."),
    ):
        text = re.sub(rf'(?m)^{field} = ".*"$', f'{field} = "{value}"', text)
    clinic.write_text(text, encoding="utf-8")
    return Content(messages)


def test_a_value_ending_in_a_period_ends_the_sentence_with_it(messages: Path) -> None:
    """A time, a date, a label or a clinic's fact that ends in a period ("10:00 a. m.",
    "J.D.", "Washington, D.C.") and a sentence that ends right after it share the period:
    "Entendido: 10:00 a. m.." read as a slip. Every text the bot renders (the catalogue, the
    FAQ's answers, every reminder), every sample and edge, in the morning too, both languages;
    an ellipsis a text writes on purpose is not a doubled period."""
    content = _ending_in_periods(messages)
    names = [*CATALOGUE, *content.step_templates(), ReminderText.CATCH_UP]
    doubled: set[tuple[str, str, str]] = set()
    for lang in ("en", "es"):
        answers = [entry.template for entry in content.faq(lang).entries]
        for name in dict.fromkeys([*names, *answers]):
            found = samples_of(content, lang, name)
            assert found is not None, name
            for sample in found[0]:
                changed = dataclasses.replace(
                    cast(Any, sample),
                    **{
                        variable: _in_the_morning(
                            _label_ending_in_a_period(variable, getattr(sample, variable))
                        )
                        for variable in sample.declared()
                    },
                )
                for message in (sample, changed):
                    html = content.render_message(message, lang)
                    text = unescape(re.sub(r"<[^>]*>", "", html))
                    for match in re.finditer(r"(?<!\.)\.\.(?!\.)", text):
                        around = text[max(match.start() - 30, 0) : match.end() + 5]
                        doubled.add((name, lang, around))
    assert sorted(doubled) == []


def test_a_value_keeps_its_period_and_the_texts_own_are_kept() -> None:
    """Only the text's period right after a value ending in one goes: the value keeps its
    own (inside its bold), and a time without one keeps the sentence's."""
    content = Content(BUNDLED)
    morning = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    half = AppointmentHalf(day=None, clock=morning, part=None, other_day=None)
    assert content.render_message(half, "es").startswith("Entendido: <b>10:00 a. m.</b>\n")
    assert content.render_message(half, "en").startswith("Got it: <b>10:00 AM</b>.\n")
