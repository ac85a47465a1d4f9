"""Settings as an operator writes them: a comment after a value is refused with one clear
line (systemd keeps it as part of the value), and a name that is no setting is named, with
the setting it was probably meant to be, instead of being ignored without a word."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.config import Settings, unknown_settings
from tests.deploy_files import parse_environment_file


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No setting from the developer's environment or .env."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_systemd_keeps_a_comment_after_a_value() -> None:
    # What the issue found: the guide's own lines, as systemd reads them.
    env = parse_environment_file("WEB_PORT=8081   # 8082, 8083 for the next ones\n")
    assert env == {"WEB_PORT": "8081   # 8082, 8083 for the next ones"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_PORT", "8081   # 8082, 8083 for the next ones"),
        ("OPS_HOST", "0.0.0.0            # only if the monitoring host reaches it"),
        ("STAFF_IDS", "111, 222 # the two admins"),
        ("BOT_TOKEN", "123:abc # from BotFather"),
        ("CLINIC_TIMEZONE", "America/New_York\t# the clinic's"),
    ],
)
def test_a_comment_after_a_value_is_refused_naming_the_setting(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    clean_env.setenv(name, value)
    assert main(["content", "check"]) == 2
    err = capsys.readouterr().err
    assert f"{name}: the value ends with a comment" in err
    assert "put the comment on a line of its own" in err
    assert "Traceback" not in err
    assert "abc" not in err  # a value is never repeated: it may be a token or a password


def test_a_hash_inside_a_value_is_kept(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WEBHOOK_PATH", "/telegram/webhook#x")
    assert Settings(_env_file=None).webhook_path == "/telegram/webhook#x"


def test_a_dotenv_file_may_have_comments_after_values(clean_env: pytest.MonkeyPatch) -> None:
    # python-dotenv, which reads .env, drops them: only the environment keeps them.
    Path(".env").write_text("WEB_PORT=8081   # 8082\n", encoding="utf-8")
    assert Settings().web_port == 8081


def test_a_misspelt_setting_in_the_environment_is_named_with_the_closest(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CLINC_TIMEZONE", "Europe/Madrid")
    assert main(["content", "check"]) == 0
    err = capsys.readouterr().err
    assert (
        "infusion-companion: warning: CLINC_TIMEZONE (in the environment) is not a setting and "
        "is ignored; did you mean CLINIC_TIMEZONE?"
    ) in err


def test_other_programs_variables_are_not_taken_for_settings() -> None:
    environ = {
        "PATH": "/usr/bin",
        "INVOCATION_ID": "x",
        "JOURNAL_STREAM": "8:1",
        "TEST_REDIS_URL": "redis://",
        "TEST_DATABASE": "postgres",
        "clinic_timezone": "Europe/Madrid",  # the settings read names in any case
        "LOG_LEVEL": "INFO",
    }
    assert unknown_settings(environ, env_file=None) == []
    misspelt = {"SEND_RATES": "28", "WEBHOOK_SECRETS": "x", "MESSAGE_DIR": "/srv/texts"}
    assert unknown_settings(misspelt, env_file=None) == [
        "MESSAGE_DIR (in the environment) is not a setting and is ignored; "
        "did you mean MESSAGES_DIR?",
        "SEND_RATES (in the environment) is not a setting and is ignored; did you mean SEND_RATE?",
        "WEBHOOK_SECRETS (in the environment) is not a setting and is ignored; "
        "did you mean WEBHOOK_SECRET?",
    ]


def test_every_unknown_key_of_a_dotenv_file_is_named(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "BOT_TOKEN=1:x\nCLINC_TIMEZONE=Europe/Madrid\nFAVOURITE_COLOUR=blue\n", encoding="utf-8"
    )
    assert unknown_settings({"CLINC_TIMEZONE": "Europe/Madrid"}, env_file=env_file) == [
        f"CLINC_TIMEZONE (in {env_file}) is not a setting and is ignored; "
        "did you mean CLINIC_TIMEZONE?",
        f"FAVOURITE_COLOUR (in {env_file}) is not a setting and is ignored",
    ]


def test_the_refusal_reads_as_one_line_per_setting(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WEB_PORT", "8081 # x")
    clean_env.setenv("OPS_PORT", "9101 # y")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert {e["loc"][0] for e in caught.value.errors()} == {"web_port", "ops_port"}
