"""The operator's documents stay true to the code: every setting is explained in
docs/deploy.md and shown in .env.example, and the shipped systemd units run commands that
exist."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import SEND_RATE, Settings
from tests.deploy_files import guide_env_blocks, parse_environment_file, read_service

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy.md"
ENV_EXAMPLE = ROOT / ".env.example"
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
SETTINGS = sorted(name.upper() for name in Settings.model_fields)


def _settings_table() -> set[str]:
    """The setting names in the first column of the table under "Every setting"."""
    section = DEPLOY.read_text(encoding="utf-8").split("## Every setting", 1)[1]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z_]+)`", line.split("|")[1]))
    return names


def test_every_setting_is_explained_in_the_deploy_guide() -> None:
    assert set(SETTINGS) <= _settings_table(), set(SETTINGS) - _settings_table()


def test_the_deploy_guide_explains_no_setting_that_does_not_exist() -> None:
    assert _settings_table() <= set(SETTINGS)


def test_every_setting_is_in_env_example() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    shown = set(re.findall(r"^#? ?([A-Z_]+)=", text, flags=re.MULTILINE))
    assert set(SETTINGS) <= shown, set(SETTINGS) - shown


def _exec_lines(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text(encoding="utf-8"))
    return [parser["Service"][key] for key in ("ExecStart",) if key in parser["Service"]]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_units_run_commands_that_exist(unit: Path) -> None:
    [line] = _exec_lines(unit)
    words = shlex.split(line)
    if words[0] == "/bin/sh":  # the backup unit: sh -c 'exec .../infusion-companion db backup …'
        words = shlex.split(words[-1])[1:]
    assert words[0].endswith("/infusion-companion")
    args = [w if not w.startswith('"') else "FILE" for w in words[1:]]
    if args[:2] == ["db", "backup"]:
        args = ["db", "backup", "FILE"]
    build_parser().parse_args(args)  # exits (SystemExit) on a command that does not exist


def test_units_stop_later_than_the_bot_finishes() -> None:
    grace = Settings.model_fields["shutdown_grace_seconds"].default
    for unit in (u for u in UNITS if "backup" not in u.name):
        stop = re.search(r"^TimeoutStopSec=(\d+)$", unit.read_text(), flags=re.MULTILINE)
        assert stop and int(stop.group(1)) > grace + 10, unit.name


def test_env_example_shows_the_defaults_as_systemd_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its first line says every line but BOT_TOKEN shows the default: read as an
    EnvironmentFile (comments on their own lines only), it gives the default settings."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    defaults = Settings(_env_file=None)
    env = parse_environment_file(ENV_EXAMPLE.read_text(encoding="utf-8"))
    assert env.pop("BOT_TOKEN") == ""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    shown = Settings(_env_file=None)
    assert shown == defaults
    assert shown.send_rate == SEND_RATE


# Values for the guide's placeholders (<...>) that the settings accept, by setting.
_PLACEHOLDER_VALUES = {"STAFF_IDS": "111111111,222222222", "WEBHOOK_SECRET": "s" * 40}


def _guide_settings(monkeypatch: pytest.MonkeyPatch, blocks: list[str]) -> Settings:
    """The settings a process gets from these env files, read as systemd reads them, one
    after another (as the units list them), with the placeholders filled in."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for block in blocks:
        for name, value in parse_environment_file(block).items():
            if value.startswith("<") and value.endswith(">"):
                value = _PLACEHOLDER_VALUES.get(name, "placeholder")
            monkeypatch.setenv(name, re.sub(r"<[^>]*>", "placeholder", value))
    return Settings(_env_file=None)


def test_the_one_host_env_file_of_the_guide_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    [block] = guide_env_blocks("One host")
    settings = _guide_settings(monkeypatch, [block])
    assert settings.sqlite_path() == Path("/var/lib/infusion-companion/companion.db")
    assert not settings.webhook_mode


def test_a_replicas_env_files_of_the_guide_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    shared, replica = guide_env_blocks("A clinic group")
    settings = _guide_settings(monkeypatch, [shared, replica])
    assert settings.webhook_mode and settings.redis_url is not None
    assert (settings.web_port, settings.ops_listen_port) == (8081, 9101)
    assert settings.ops_host == "127.0.0.1"
    # The group unit reads them in this order.
    service = read_service("infusion-companion@.service")
    assert service.environment_files == (
        "/etc/infusion-companion/env",
        "/etc/infusion-companion/replica-%i.env",
    )


def _bash_lines() -> list[str]:
    text = DEPLOY.read_text(encoding="utf-8")
    blocks = re.findall(r"^ *```bash\n(.*?)^ *```", text, flags=re.MULTILINE | re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_settings_folder_is_made_before_anything_is_written_into_it() -> None:
    first = next(line for line in _bash_lines() if "/etc/infusion-companion" in line)
    assert first.startswith("sudo install -d ") and first.endswith(" /etc/infusion-companion")


def test_the_guide_and_the_units_give_the_settings_the_same_mode() -> None:
    guide = {
        re.search(r"-m (\d+)", line).group(1)  # type: ignore[union-attr]
        for line in _bash_lines()
        if re.search(r"install -m \d+ .*/etc/infusion-companion/", line)
    }
    units = {
        mode
        for unit in UNITS
        for mode in re.findall(r"mode (\d{4})", unit.read_text(encoding="utf-8"))
    }
    assert guide == units == {"0640"}


def test_the_guides_commands_name_what_exists() -> None:
    """The bot's command by its installed path (the venv is not on PATH), and the files of
    the repository it copies exist."""
    for line in _bash_lines():
        words = line.split("#", 1)[0].split()
        while words and words[0] in ("sudo", "-u", "companion"):
            words = words[1:]
        assert words[:1] != ["infusion-companion"], f"not the installed path: {line}"
        for word in words:
            if word.startswith(("deploy/", ".env.example")):
                stem, _, braces = word.partition("{")
                names = braces.rstrip("}").split(",") if braces else [""]
                for name in names:
                    assert (ROOT / (stem + name)).is_file(), line
